import { appendFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HistoryEntry } from '../../functions/engine/ledger.ts';
import type { Override } from '../../functions/engine/overrides.ts';
import { publishTickEvents } from '../../functions/events/tick-events.ts';
import { scaledClock } from '../../functions/local/clock.ts';
import { LocalNotifier } from '../../functions/notify/notifier.ts';
import { silentLog } from '../../functions/observability/log.ts';
import { FileLedger } from '../../functions/stores/local-ledger.ts';
import { MemorySecretSource } from '../../functions/stores/secrets.ts';
import { configWith } from '../helpers/config.ts';
import { historyEntry, until } from '../helpers/entries.ts';
import { SinkReceiver } from '../helpers/sink-receivers.ts';

const MINUTE = 60_000;

const entry = (id: string, at: number): HistoryEntry =>
  historyEntry(id, { ok: true, status: 'succeeded' }, { recordedAt: new Date(at).toISOString() });

describe('the local notifier', () => {
  const hook = new SinkReceiver('webhook', 'notifier-tenant-0001', 'notifier-key-0001');
  beforeAll(() => hook.start());
  afterAll(() => hook.stop());

  function setUp(dir: string, owner: string, clockStart: number) {
    const config = configWith([], {
      notifications: {
        sinks: { hook: { type: 'webhook', secret: 'hook' } },
        routes: [{ sink: 'hook', events: ['*'] }],
      },
    });
    // Sixty clock minutes a second: the one-a-minute gate opens every second.
    const clock = scaledClock(clockStart, 60);
    const ledger = new FileLedger(dir, () => clock.now(), { historyMaxBytes: 2_000, historyFiles: 2 });
    const notifier = new LocalNotifier({
      stateDir: dir,
      ledger,
      config: () => config,
      secrets: new MemorySecretSource({ hook: hook.secret }),
      clock,
      log: silentLog,
      print: () => undefined,
      owner,
      isOwnerGone: () => false,
      pollMs: 20,
    });
    return { config, clock, ledger, notifier };
  }

  it('overrides created, removed and ended are announced once each, whoever made them', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'nightshift-notifier-'));
    const start = Date.parse('2027-03-29T19:00:00Z');
    const { config, clock, ledger, notifier } = setUp(dir, 'a', start);
    notifier.start();
    const override = (id: string, untilMs: number): Override => ({
      id,
      targets: ['orders-sync'],
      state: 'running',
      from: new Date(start).toISOString(),
      until: new Date(untilMs).toISOString(),
      reason: 'test',
      createdAt: new Date(start).toISOString(),
    });
    try {
      await ledger.putOverride(override('ovr-removed', start + 600 * MINUTE));
      await ledger.putOverride(override('ovr-ending', start + 2 * MINUTE));
      await until(
        () =>
          hook.accepted.flatMap((r) => r.events).filter((e) => e.type === 'nightshift.override.created')
            .length === 2,
      );
      await ledger.removeOverride('ovr-removed');
      // The tick that evaluates the ending override's until announces its end.
      await until(() => clock.now() > start + 3 * MINUTE);
      await publishTickEvents(
        { ledger, log: silentLog },
        {
          config,
          from: start + MINUTE,
          to: start + 2 * MINUTE,
          now: start + 2 * MINUTE,
          overrides: [],
          warnings: [],
          ledgerFailures: [],
        },
      );
      await until(() =>
        hook.accepted.flatMap((r) => r.events).some((e) => e.type === 'nightshift.override.ended'),
      );
      await until(() =>
        hook.accepted.flatMap((r) => r.events).some((e) => e.type === 'nightshift.override.removed'),
      );
      await new Promise((resolve) => setTimeout(resolve, 300));
    } finally {
      await notifier.stop();
    }
    const seen = hook.accepted.flatMap((r) => r.events).map((e) => `${e.type} ${e.subject}`);
    expect(seen.sort()).toEqual([
      'nightshift.override.created ovr-ending',
      'nightshift.override.created ovr-removed',
      'nightshift.override.ended ovr-ending',
      'nightshift.override.removed ovr-removed',
    ]);
    hook.accepted.splice(0);
  });

  it('two notifiers on one state folder: one delivers, each entry once', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'nightshift-notifier-'));
    const start = Date.now();
    const a = setUp(dir, 'a', start);
    const b = setUp(dir, 'b', start);
    a.notifier.start();
    await new Promise((resolve) => setTimeout(resolve, 200));
    b.notifier.start();
    try {
      const batch = Array.from({ length: 20 }, (_, i) => entry(`two-${i}`, start));
      await b.ledger.record(batch.slice(0, 10));
      await a.ledger.record(batch.slice(10));
      await until(() => batch.every((e) => hook.eventIds.includes(e.id)));
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(hook.eventIds.filter((id) => id.startsWith('two-')).sort()).toEqual(
        batch.map((e) => e.id).sort(),
      );
    } finally {
      await Promise.all([a.notifier.stop(), b.notifier.stop()]);
    }
  });
});

describe('the local outbox', () => {
  it('reads the history across its rotation and over a torn last line, each entry once', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'nightshift-outbox-'));
    const ledger = new FileLedger(dir, Date.now, { historyMaxBytes: 1_000, historyFiles: 3 });
    await ledger.record([entry('before', 0)]);
    let { position } = await ledger.readOutbox(undefined);
    const read: string[] = [];
    const take = async () => {
      const got = await ledger.readOutbox(position);
      position = got.position;
      read.push(...got.entries.map((e) => e.id), ...got.events.map((e) => e.id));
      return got;
    };
    await ledger.record(Array.from({ length: 5 }, (_, i) => entry(`a${i}`, 0)));
    expect((await ledger.maintain()).historyRotated).toBe(true);
    await ledger.record(Array.from({ length: 5 }, (_, i) => entry(`b${i}`, 0)));
    await ledger.appendEvents([{ ...eventOf('journal-1') }]);
    await take();
    expect(read).toEqual(['a0', 'a1', 'a2', 'a3', 'a4', 'b0', 'b1', 'b2', 'b3', 'b4', 'journal-1']);
    // A line being written when the reader comes by is left for the next read.
    appendFileSync(join(dir, 'history.jsonl'), '{"id":"torn","recordedAt"');
    await take();
    expect(read.at(-1)).toBe('journal-1');
    appendFileSync(
      join(dir, 'history.jsonl'),
      `:"2027-03-29T00:00:00.000Z","trigger":"tick","result":{"target":"x","kind":"vias-task","action":"stop","ok":true,"status":"succeeded","attempts":1,"durationMs":1}}\n`,
    );
    await take();
    expect(read.at(-1)).toBe('torn');
    // A damaged line is passed over (and counted), not retried forever.
    appendFileSync(join(dir, 'history.jsonl'), 'not json\n');
    await ledger.record([entry('after', 0)]);
    expect((await take()).unreadable).toBe(1);
    expect(read.at(-1)).toBe('after');
  });
});

const eventOf = (id: string) => ({
  specversion: '1.0' as const,
  id,
  source: 'nightshift',
  type: 'nightshift.action.upcoming',
  time: '2027-03-29T00:00:00.000Z',
  datacontenttype: 'application/json' as const,
  data: {},
});
