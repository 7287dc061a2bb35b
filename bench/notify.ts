import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseConfig } from '../functions/engine/config/validate.ts';
import { latestEdges } from '../functions/engine/desired.ts';
import type { HistoryEntry } from '../functions/engine/ledger.ts';
import { tickEvents } from '../functions/events/tick-events.ts';
import { scaledClock } from '../functions/local/clock.ts';
import { LocalNotifier } from '../functions/notify/notifier.ts';
import { silentLog } from '../functions/observability/log.ts';
import { FileLedger } from '../functions/stores/local-ledger.ts';
import { MemorySecretSource } from '../functions/stores/secrets.ts';
import { historyEntry } from '../test/helpers/entries.ts';
import { notificationsFor, SINK_KINDS, startReceivers } from '../test/helpers/sink-receivers.ts';
import type { BenchResult } from './measure.ts';
import { syntheticDocument } from './plan.ts';

const MINUTE = 60_000;
const START = Date.parse('2027-03-29T00:00:00Z');
/** As many failures as one message carries (MAX_EVENTS_PER_MESSAGE). */
const BURST = 200;

/**
 * What notifications cost: the tick's own share (working out the changes coming up in 15 minutes,
 * every minute, over 10,000 schedules: it runs in the tick, so it must stay small), and how long a
 * burst of 200 failures takes from the history to six sinks on loopback.
 */
export async function benchNotify(): Promise<BenchResult[]> {
  const config = parseConfig({ ...syntheticDocument(10_000), notifications: { upcomingMinutes: 15 } });
  const to = (i: number) => START + i * MINUTE;
  const minute = (i: number) =>
    tickEvents({
      config,
      from: to(i) - MINUTE,
      to: to(i),
      now: to(i),
      overrides: [],
      overridesAtFrom: [],
      warnings: [],
      ledgerFailures: [],
    });
  // The tick's own look-back (reconcile), not counted: the look ahead starts from where it stands.
  latestEdges(config, to(0));
  const t0 = performance.now();
  minute(0);
  const first = performance.now() - t0;
  const samples: number[] = [];
  for (let i = 1; i <= 1440; i++) {
    latestEdges(config, to(i));
    const t = performance.now();
    minute(i);
    samples.push(performance.now() - t);
  }
  samples.sort((a, b) => a - b);
  const warm = { median: samples[720]!, p99: samples[Math.floor(1440 * 0.99)]! };

  const burst = await benchBurst();
  return [
    {
      name: "tick's events: a minute's look 15 minutes ahead, 10,000 schedules (a day of minutes)",
      value: warm.median,
      unit: 'ms',
      budget: 5,
      detail: `p99 ${warm.p99.toFixed(2)} ms; a process's first minute ${first.toFixed(1)} ms (after the tick's own look-back)`,
    },
    {
      name: 'a burst of 200 failures from the history to 6 sinks (state folder, receivers on loopback)',
      value: burst,
      unit: 'ms',
      budget: 2_000,
      detail: 'one message per sink, naming every target',
    },
  ];
}

async function benchBurst(): Promise<number> {
  const receivers = await startReceivers();
  const dir = mkdtempSync(join(tmpdir(), 'nightshift-bench-notify-'));
  const { notifications, secrets } = notificationsFor(receivers);
  const targets = Object.fromEntries(
    Array.from({ length: BURST }, (_, i) => [
      `task-${i}`,
      { account: 'a', kind: 'vias-task', taskId: `t${i}` },
    ]),
  );
  const config = parseConfig({
    version: 1,
    accounts: { a: { region: 'cn-north-4', projectId: 'p', secret: 's' } },
    targets,
    schedules: [],
    notifications,
  });
  const ledger = new FileLedger(dir);
  const notifier = new LocalNotifier({
    stateDir: dir,
    ledger,
    config: () => config,
    secrets: new MemorySecretSource(secrets),
    clock: scaledClock(Date.now(), 1),
    log: silentLog,
    print: () => undefined,
    owner: `bench#${process.pid}`,
    isOwnerGone: () => false,
    pollMs: 20,
  });
  notifier.start();
  // Wait for the notifier to take the lease and its starting position.
  while (!(await ledger.readOutbox(undefined).then(() => true))) await sleep(10);
  await sleep(200);
  const entries: HistoryEntry[] = Object.keys(targets).map((target, i) =>
    historyEntry(`burst-${i}`, { target }, { recordedAt: new Date().toISOString() }),
  );
  const started = performance.now();
  await ledger.record(entries);
  while (
    !SINK_KINDS.every((k) =>
      receivers[k].accepted.some(
        (r) => r.text.includes(`task-${BURST - 1}`) || r.raw.includes(`burst-${BURST - 1}`),
      ),
    )
  )
    await sleep(5);
  const took = performance.now() - started;
  await notifier.stop();
  await receivers.stop();
  rmSync(dir, { recursive: true, force: true });
  return took;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
