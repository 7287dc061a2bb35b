import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseConfig } from '../functions/engine/config/validate.ts';
import { reconcile } from '../functions/engine/reconcile.ts';
import { HuaweiUpstream } from '../functions/huawei/upstream.ts';
import { FileLedger } from '../functions/stores/local-ledger.ts';
import { MemorySecretSource } from '../functions/stores/secrets.ts';
import type { BenchResult } from './measure.ts';
import { RemoteSimulator } from './remote-simulator.ts';

const PROJECT = 'benchproject';
const LATENCY_MS = 50;
const IN_FLIGHT = 16;
const COUNT = 1000;
const OPENS = Date.parse('2027-03-29T08:00:00Z');

/**
 * Reconciliation ticks over 1,000 targets against the simulator (in a worker thread) with 50 ms latency, the ledger
 * in a local state folder: targets already in state (status reads only), and 1,000 transitions
 * (status read, one call, verify).
 */
export async function benchReconcile(): Promise<BenchResult[]> {
  // In a worker thread, like a real upstream: its work is not counted as Nightshift's.
  const sim = new RemoteSimulator({ latencyMs: LATENCY_MS });
  const url = await sim.start();
  const dirs: string[] = [];
  const upstream = new HuaweiUpstream({
    secrets: new MemorySecretSource({ bench: { token: 'bench-token' } }),
    http: { maxInFlightPerAccount: IN_FLIGHT },
  });
  await sim.addToken('bench-token', PROJECT);

  const tick = async (kind: 'vias' | 'drs', running: boolean) => {
    const targets: Record<string, unknown> = {};
    for (let i = 0; i < COUNT; i++) {
      targets[`${kind}-${i}`] =
        kind === 'vias'
          ? { account: 'bench', kind: 'vias-task', taskId: `task-${i}` }
          : {
              account: 'bench',
              kind: 'drs-job',
              jobId: `00000000-0000-4000-8000-${String(i).padStart(10, '0')}jb`,
            };
    }
    const config = parseConfig({
      version: 1,
      accounts: { bench: { region: 'cn-north-4', projectId: PROJECT, secret: 'bench', endpoint: url } },
      targets,
      schedules: [
        { id: 'office', targets: Object.keys(targets), timezone: 'UTC', window: 'Mon-Fri 08:00-20:00' },
      ],
    });
    await sim.seed(config);
    for (let i = 0; i < COUNT; i++) {
      if (kind === 'vias') await sim.addViasTask(PROJECT, `task-${i}`, running ? 'RUNNING' : 'STOPPED');
    }
    const dir = mkdtempSync(join(tmpdir(), 'nightshift-bench-'));
    dirs.push(dir);
    const before = await sim.requestCount();
    const t0 = performance.now();
    const summary = await reconcile({
      config,
      from: OPENS - 60_000,
      now: OPENS,
      ledger: new FileLedger(dir),
      upstream,
      owner: 'bench',
      maxLatenessMs: 15 * 60_000,
    });
    const ms = performance.now() - t0;
    const calls = (await sim.requestCount()) - before;
    const reached = summary.unchanged + summary.succeeded;
    if (reached !== COUNT)
      throw new Error(
        `${COUNT - reached} of ${COUNT} targets not reached: ${JSON.stringify({ ...summary, entries: undefined })}`,
      );
    return { ms, calls };
  };

  try {
    await tick('vias', true); // warm-up: connections, JIT
    const inState = await tick('vias', true);
    const drs = await tick('drs', true);
    const transitions = await tick('vias', false);
    const round = Math.ceil(COUNT / IN_FLIGHT) * LATENCY_MS;
    return [
      {
        name: `reconcile: ${COUNT} VIAS tasks already in state, ${LATENCY_MS} ms latency`,
        value: inState.ms,
        unit: 'ms',
        budget: Math.round(round * 1.2),
        detail: `ideal ${round} ms (status reads only), ratio ${(inState.ms / round).toFixed(3)}, ${inState.calls} calls`,
      },
      {
        name: `reconcile: ${COUNT} DRS jobs already in state (batch-status, 100 a call)`,
        value: drs.calls,
        unit: 'calls',
        budget: Math.ceil(COUNT / 100),
        detail: `${Math.round(drs.ms)} ms`,
      },
      {
        name: `reconcile: ${COUNT} VIAS transitions (status + action + verify), ${LATENCY_MS} ms latency`,
        value: transitions.ms,
        unit: 'ms',
        budget: Math.round(3 * round * 1.2),
        detail: `ideal ${3 * round} ms, ratio ${(transitions.ms / (3 * round)).toFixed(3)}, ${transitions.calls} calls`,
      },
    ];
  } finally {
    await upstream.close();
    await sim.stop();
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  }
}
