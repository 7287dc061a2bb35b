import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HistoryEntry, Ledger } from '../../functions/engine/ledger.ts';
import type { Override } from '../../functions/engine/overrides.ts';
import { DynamoLedger } from '../../functions/stores/dynamodb-ledger.ts';
import { FileLedger } from '../../functions/stores/local-ledger.ts';
import { type LocalDynamo, startDynalite } from '../helpers/dynalite.ts';

const NOW = Date.parse('2027-03-29T19:00:00Z');
const HOUR = 3600_000;
const override = (id: string, fromH: number, untilH: number): Override => ({
  id,
  targets: ['orders-sync'],
  state: 'running',
  from: new Date(NOW + fromH * HOUR).toISOString(),
  until: new Date(NOW + untilH * HOUR).toISOString(),
  reason: 'release',
  createdAt: new Date(NOW).toISOString(),
});
const entry = (target: string, minutesAgo: number): HistoryEntry => ({
  id: `e-${minutesAgo}-${target}`,
  recordedAt: new Date(NOW - minutesAgo * 60_000).toISOString(),
  trigger: 'tick',
  schedule: 'office',
  result: {
    target,
    kind: 'drs-job',
    action: 'pause',
    ok: true,
    status: 'succeeded',
    attempts: 1,
    durationMs: minutesAgo,
  },
});

/** What every ledger must do with overrides and filtered history, on files and on DynamoDB alike. */
function behaves(name: string, make: () => Promise<{ a: Ledger; b: Ledger }>) {
  describe(name, () => {
    it('an override stored by one process is seen by another at once; removal too', async () => {
      const { a, b } = await make();
      const tonight = override('ovr-tonight', 0, 4);
      await a.putOverride(tonight);
      await a.putOverride(override('ovr-later', 24, 25));
      expect((await b.overrides(NOW)).map((o) => o.id)).toEqual(['ovr-tonight', 'ovr-later']);
      expect(await b.removeOverride('ovr-tonight')).toEqual(tonight);
      expect(await a.removeOverride('ovr-tonight')).toBeUndefined();
      expect((await a.overrides(NOW)).map((o) => o.id)).toEqual(['ovr-later']);
    });

    it('ended overrides are not listed', async () => {
      const { a } = await make();
      await a.putOverride(override('ovr-over', -3, -1));
      await a.putOverride(override('ovr-now', -1, 1));
      expect((await a.overrides(NOW)).map((o) => o.id)).toEqual(['ovr-now']);
      expect(await a.overrides(NOW + 2 * HOUR)).toEqual([]);
    });

    it('history by target, since and limit, oldest first', async () => {
      const { a } = await make();
      for (let i = 10; i >= 1; i--) await a.record([entry(i % 2 ? 'orders-sync' : 'billing-sync', i)]);
      const last = await a.history({ target: 'orders-sync', limit: 3 });
      expect(last.map((e) => e.result.durationMs)).toEqual([5, 3, 1]);
      const since = await a.history({ since: NOW - 3 * 60_000 });
      expect(since.map((e) => e.result.durationMs)).toEqual([3, 2, 1]);
    });

    it('the entries of calls, by id, in one lookup: the first of an id; none for a call not recorded', async () => {
      const { a, b } = await make();
      const call = (id: string, target: string, minutesAgo: number): HistoryEntry => ({
        ...entry(target, minutesAgo),
        id,
        startedAt: new Date(NOW - (minutesAgo + 1) * 60_000).toISOString(),
      });
      const first = call('call-7zRn02WTuoYs6vFAyhaszK', 'orders-sync', 30);
      await a.record([first, entry('billing-sync', 20)]);
      // A later resolution of the same call (another process): the first entry is the kept one.
      await b.record([{ ...first, recordedAt: new Date(NOW).toISOString(), reason: 'resolved again' }]);
      await a.record([call('call-cTdGB09BmH4Iik7RUQ1Mr1', 'billing-sync', 2)]);
      const found = await b.recordedEntries([
        { target: 'orders-sync', id: first.id, startedAt: first.startedAt! },
        {
          target: 'billing-sync',
          id: 'call-cTdGB09BmH4Iik7RUQ1Mr1',
          startedAt: new Date(NOW - 3 * 60_000).toISOString(),
        },
        { target: 'orders-sync', id: 'call-never-recorded', startedAt: new Date(NOW).toISOString() },
      ]);
      expect([...found.keys()].sort()).toEqual([
        'call-7zRn02WTuoYs6vFAyhaszK',
        'call-cTdGB09BmH4Iik7RUQ1Mr1',
      ]);
      expect(found.get(first.id)).toEqual(first);
      expect(await a.recordedEntries([])).toEqual(new Map());
    });
  });
}

const dirs: string[] = [];
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

behaves('FileLedger: two ledgers on one state folder', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'nightshift-overrides-'));
  dirs.push(dir);
  return { a: new FileLedger(dir, () => NOW), b: new FileLedger(dir, () => NOW) };
});

describe('FileLedger overrides, damaged', () => {
  // Found attacking a running `serve`: an override file of the wrong shape failed every tick for
  // every target (`Cannot read properties of null (reading 'includes')`) and made /v1/status a 500.
  it.each([
    ['targets null', { targets: null, state: 7, from: null }],
    ['targets a string', { targets: 'orders-sync' }],
    ['an unknown state', { state: 'sideways' }],
    ['an until that is no date', { until: 'soon' }],
    ['no id', { id: undefined }],
  ])('an override file with %s is moved aside; the others still count', async (_, change) => {
    const dir = mkdtempSync(join(tmpdir(), 'nightshift-overrides-'));
    dirs.push(dir);
    const damage: string[] = [];
    const ledger = new FileLedger(dir, () => NOW, { onDamage: (d) => damage.push(d.reason) });
    const good = override('ovr-good', -1, 2);
    await ledger.putOverride(good);
    writeFileSync(
      join(dir, 'overrides', 'ovr-bad.json'),
      JSON.stringify({ ...override('ovr-bad', -1, 2), ...change }),
    );
    expect(await ledger.overrides(NOW)).toEqual([good]);
    expect(readdirSync(join(dir, 'damaged')).some((f) => f.startsWith('overrides~ovr-bad.json~'))).toBe(true);
    expect(damage).toEqual([expect.stringMatching(/override/)]);
  });
});

let dynamo: LocalDynamo;
let tables = 0;
beforeAll(async () => {
  dynamo = await startDynalite();
});
afterAll(async () => {
  await dynamo.stop();
});

const dynamoLedgers = async () => {
  const tableName = `overrides-${++tables}`;
  await dynamo.createTable(tableName);
  const make = () => new DynamoLedger(dynamo.client, { tableName, now: () => NOW });
  return { tableName, a: make(), b: make() };
};

behaves('DynamoLedger against dynalite: two containers on one table', dynamoLedgers);

describe('DynamoLedger overrides', () => {
  it('an override item expires by TTL a day after its until', async () => {
    const { tableName, a } = await dynamoLedgers();
    const o = override('ovr-ttl', 0, 4);
    await a.putOverride(o);
    const { Item } = await dynamo.client.send(
      new GetItemCommand({ TableName: tableName, Key: { pk: { S: 'OVERRIDE' }, sk: { S: 'ovr-ttl' } } }),
    );
    expect(Number(Item!.ttl!.N)).toBe(Date.parse(o.until) / 1000 + 86_400);
  });

  // As on files: one damaged override item (not JSON, or of the wrong shape) failed every tick.
  it.each([
    ['not JSON', '{"id":'],
    ['of the wrong shape', JSON.stringify({ ...override('ovr-bad', -1, 2), targets: null })],
  ])('an override item %s is moved aside; the others still count', async (_, doc) => {
    const { tableName } = await dynamoLedgers();
    const damage: string[] = [];
    const ledger = new DynamoLedger(dynamo.client, {
      tableName,
      now: () => NOW,
      onDamage: (d) => damage.push(d.reason),
    });
    const good = override('ovr-good', -1, 2);
    await ledger.putOverride(good);
    await dynamo.client.send(
      new PutItemCommand({
        TableName: tableName,
        Item: { pk: { S: 'OVERRIDE' }, sk: { S: 'ovr-bad' }, doc: { S: doc }, until: { S: good.until } },
      }),
    );
    expect(await ledger.overrides(NOW)).toEqual([good]);
    expect(damage).toEqual([expect.stringMatching(/override/)]);
    expect(await ledger.overrides(NOW)).toEqual([good]);
  });
});
