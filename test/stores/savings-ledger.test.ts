import { appendFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HistoryEntry, Ledger } from '../../functions/engine/ledger.ts';
import type { Override } from '../../functions/engine/overrides.ts';
import type { ObservedMark } from '../../functions/engine/savings.ts';
import { DynamoLedger } from '../../functions/stores/dynamodb-ledger.ts';
import { FileLedger } from '../../functions/stores/local-ledger.ts';
import { type LocalDynamo, startDynalite } from '../helpers/dynalite.ts';

let clock = Date.parse('2027-03-29T19:00:00Z');
const mark = (target: string, at: string, state: ObservedMark['state']): ObservedMark => ({
  target,
  at: Date.parse(at),
  state,
});
const entry = (target: string, at: string, observed: string): HistoryEntry => ({
  id: `e-${target}-${at}`,
  recordedAt: at,
  trigger: 'tick',
  result: {
    target,
    kind: 'drs-job',
    action: 'pause',
    ok: true,
    status: 'succeeded',
    attempts: 1,
    durationMs: 3,
    desired: 'paused',
    verified: true,
    observed,
  },
});
const override = (id: string, from: string, until: string): Override => ({
  id,
  targets: ['orders-sync'],
  state: 'running',
  from,
  until,
  reason: 'release',
  createdAt: from,
});
const range = (from: string, to: string) => ({ from: Date.parse(from), to: Date.parse(to) });

/** What both ledgers keep for savings, and give back the same way. */
function behaves(name: string, make: () => Promise<Ledger>) {
  describe(name, () => {
    it('keeps observations by month and answers a range with the latest before it', async () => {
      const ledger = await make();
      await ledger.recordObservations([
        mark('a', '2026-06-10T20:00:00Z', 'paused'), // nine months before: still found
        mark('b', '2027-01-31T23:59:00Z', 'stopped'),
        mark('b', '2027-02-01T08:00:00Z', 'running'),
        mark('b', '2027-03-01T20:00:00Z', 'stopped'),
        mark('c', '2027-03-02T08:00:00Z', 'running'),
      ]);
      const marks = await ledger.observations({
        targets: ['a', 'b'],
        ...range('2027-02-15T00:00:00Z', '2027-04-01T00:00:00Z'),
      });
      expect(marks).toEqual(
        expect.arrayContaining([
          mark('a', '2026-06-10T20:00:00Z', 'paused'),
          mark('b', '2027-02-01T08:00:00Z', 'running'),
          mark('b', '2027-03-01T20:00:00Z', 'stopped'),
        ]),
      );
      expect(marks).toHaveLength(3);
      expect(
        await ledger.observations({
          targets: ['z'],
          ...range('2027-03-01T00:00:00Z', '2027-04-01T00:00:00Z'),
        }),
      ).toEqual([]);
    });

    it('keeps what record() writes: the observation each entry carries', async () => {
      const ledger = await make();
      await ledger.record([entry('orders-sync', '2027-03-29T12:00:00.000Z', 'PAUSING')]);
      expect(
        await ledger.observations({
          targets: ['orders-sync'],
          ...range('2027-03-29T00:00:00Z', '2027-03-30T00:00:00Z'),
        }),
      ).toEqual([mark('orders-sync', '2027-03-29T12:00:00Z', 'paused')]);
      expect(await ledger.history()).toHaveLength(1);
    });

    it('keeps overrides after they end, and when one was removed', async () => {
      const ledger = await make();
      clock = Date.parse('2027-03-29T10:00:00Z');
      await ledger.putOverride(override('ovr-1', '2027-03-29T10:00:00.000Z', '2027-03-29T20:00:00.000Z'));
      await ledger.putOverride(override('ovr-2', '2027-03-29T10:00:00.000Z', '2027-03-29T20:00:00.000Z'));
      await ledger.putOverride(override('ovr-3', '2027-03-20T10:00:00.000Z', '2027-03-20T12:00:00.000Z'));
      clock = Date.parse('2027-03-29T15:00:00Z');
      await ledger.removeOverride('ovr-2');
      await ledger.removeOverride('ovr-unknown');
      clock = Date.parse('2027-03-31T00:00:00Z');
      expect(await ledger.overrides(clock)).toEqual([]);
      const kept = await ledger.overridesBetween(
        Date.parse('2027-03-29T00:00:00Z'),
        Date.parse('2027-03-30T00:00:00Z'),
      );
      expect(kept.sort((x, y) => x.id.localeCompare(y.id))).toEqual([
        expect.objectContaining({ id: 'ovr-1', state: 'running', targets: ['orders-sync'] }),
        expect.objectContaining({ id: 'ovr-2', removedAt: '2027-03-29T15:00:00.000Z' }),
      ]);
      expect(kept[0]!.removedAt).toBeUndefined();
    });
  });
}

let dynamo: LocalDynamo;
let tables = 0;
const dirs: string[] = [];
beforeAll(async () => {
  dynamo = await startDynalite();
});
afterAll(async () => {
  await dynamo.stop();
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

behaves('FileLedger', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'nightshift-savings-ledger-'));
  dirs.push(dir);
  return new FileLedger(dir, () => clock);
});

behaves('DynamoLedger against dynalite', async () => {
  const tableName = `savings-${++tables}`;
  await dynamo.createTable(tableName);
  return new DynamoLedger(dynamo.client, { tableName, now: () => clock });
});

describe('FileLedger savings files', () => {
  it('leaves out a line torn by a crash, and keeps the next', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'nightshift-savings-ledger-'));
    dirs.push(dir);
    const ledger = new FileLedger(dir, () => clock);
    await ledger.recordObservations([mark('a', '2027-03-01T08:00:00Z', 'running')]);
    // A write cut short (a crash, a full disk): the line it began ends mid-way.
    appendFileSync(join(dir, 'savings', 'observed-2027-03.log'), '\n2027-03-01T20:00:00.000Z pau');
    await ledger.recordObservations([mark('a', '2027-03-02T08:00:00Z', 'stopped')]);
    appendFileSync(join(dir, 'savings', 'overrides.jsonl'), '\n{"id": "ovr-torn", "targ');
    await ledger.putOverride(override('ovr-1', '2027-03-29T10:00:00.000Z', '2027-03-29T20:00:00.000Z'));
    expect(
      await ledger.observations({ targets: ['a'], ...range('2027-03-01T00:00:00Z', '2027-04-01T00:00:00Z') }),
    ).toEqual([mark('a', '2027-03-01T08:00:00Z', 'running'), mark('a', '2027-03-02T08:00:00Z', 'stopped')]);
    expect((await ledger.overridesBetween(0, Date.parse('2028-01-01T00:00:00Z'))).map((o) => o.id)).toEqual([
      'ovr-1',
    ]);
  });
});

describe('FileLedger savings files, damaged', () => {
  it('leaves out override lines that are JSON but no override, instead of failing or counting them', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'nightshift-savings-ledger-'));
    dirs.push(dir);
    const ledger = new FileLedger(dir, () => clock);
    await ledger.putOverride(override('ovr-1', '2027-03-29T10:00:00.000Z', '2027-03-29T20:00:00.000Z'));
    const span = {
      id: 'ovr-x',
      targets: ['orders-sync'],
      state: 'stopped',
      from: '2027-03-29T08:00:00.000Z',
    };
    const damaged = [
      'null',
      '42',
      '[1, 2]',
      '"ovr-1"',
      JSON.stringify({ ...span, until: '2027-03-29T12:00:00.000Z', state: 'exploded' }),
      JSON.stringify({ ...span, until: '2027-03-29T12:00:00.000Z', targets: [7] }),
      JSON.stringify({ ...span, until: 'soon' }),
      JSON.stringify({ ...span, from: 1, until: '2027-03-29T12:00:00.000Z' }),
      JSON.stringify({ id: 'ovr-1', removedAt: 'later' }),
      JSON.stringify({ id: 'ovr-1', removedAt: null }),
    ];
    appendFileSync(join(dir, 'savings', 'overrides.jsonl'), damaged.map((line) => `\n${line}`).join(''));
    const spans = await ledger.overridesBetween(0, Date.parse('2028-01-01T00:00:00Z'));
    expect(spans).toEqual([
      {
        id: 'ovr-1',
        targets: ['orders-sync'],
        state: 'running',
        from: '2027-03-29T10:00:00.000Z',
        until: '2027-03-29T20:00:00.000Z',
        createdAt: '2027-03-29T10:00:00.000Z',
      },
    ]);
  });
});
