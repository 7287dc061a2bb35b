import { createHash } from 'node:crypto';
import { GetItemCommand, ScanCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HistoryEntry } from '../../functions/engine/ledger.ts';
import { DynamoLedger } from '../../functions/stores/dynamodb-ledger.ts';
import { type LocalDynamo, startDynalite } from '../helpers/dynalite.ts';
import { checkTargetRecords } from '../helpers/target-records.ts';

const key = {
  schedule: 'office-hours',
  action: 'pause' as const,
  at: '2027-03-29T18:00:00Z',
  target: 'orders-sync',
};
let tables = 0;

describe('DynamoLedger against dynalite', () => {
  let dynamo: LocalDynamo;
  beforeAll(async () => {
    dynamo = await startDynalite();
  });
  afterAll(async () => {
    await dynamo.stop();
  });

  const freshLedger = async (now = Date.parse('2027-03-29T18:00:05Z')) => {
    const tableName = `ledger-${++tables}`;
    await dynamo.createTable(tableName);
    return { tableName, ledger: new DynamoLedger(dynamo.client, { tableName, now: () => now }) };
  };

  it('target records: compare-and-set on version, one winner among racing writers, batch reads', async () => {
    const { ledger } = await freshLedger();
    await checkTargetRecords(ledger);
  });

  it('concurrent claims of the same occurrence: exactly one wins', async () => {
    // Prepare
    const { ledger } = await freshLedger();
    // Act
    const wins = await Promise.all(Array.from({ length: 25 }, () => ledger.claim(key)));
    // Assess
    expect(wins.filter(Boolean)).toHaveLength(1);
    expect(await ledger.claim({ ...key, target: 'billing-sync' })).toBe(true);
  });

  it('sets a TTL on claims and history items', async () => {
    const { tableName, ledger } = await freshLedger();
    await ledger.claim(key);
    const entry: HistoryEntry = {
      id: 'e-first',
      recordedAt: '2027-03-29T18:00:05.000Z',
      trigger: 'tick',
      schedule: 'office-hours',
      scheduledAt: key.at,
      result: {
        target: 'orders-sync',
        kind: 'drs-job',
        action: 'pause',
        ok: true,
        status: 'succeeded',
        httpStatus: 200,
        attempts: 1,
        durationMs: 30,
      },
    };
    await ledger.record([entry]);
    const { Items } = await dynamo.client.send(new ScanCommand({ TableName: tableName }));
    const claim = Items!.find((i) => i.sk!.S === 'CLAIM')!;
    const history = Items!.find((i) => i.pk!.S!.startsWith('HIST#'))!;
    expect(Number(claim.ttl!.N)).toBe(Date.parse(key.at) / 1000 + 30 * 86_400);
    expect(Number(history.ttl!.N)).toBe(Math.floor(Date.parse('2027-03-29T18:00:05Z') / 1000) + 90 * 86_400);
    expect(JSON.parse(history.entry!.S!)).toEqual(entry);
  });

  it('queries history newest first across days and returns it oldest first', async () => {
    const { ledger } = await freshLedger(Date.parse('2027-03-30T01:00:00Z'));
    const entry = (recordedAt: string, target: string): HistoryEntry => ({
      id: `${target}-${recordedAt}`,
      recordedAt,
      trigger: 'http',
      result: {
        target,
        kind: 'vias-task',
        action: 'start',
        ok: true,
        status: 'succeeded',
        attempts: 1,
        durationMs: 1,
      },
    });
    await ledger.record([entry('2027-03-29T23:00:00.000Z', 'a'), entry('2027-03-30T00:30:00.000Z', 'b')]);
    await ledger.record([entry('2027-03-30T00:45:00.000Z', 'c')]);
    expect((await ledger.history()).map((e) => e.result.target)).toEqual(['a', 'b', 'c']);
    expect((await ledger.history({ limit: 2 })).map((e) => e.result.target)).toEqual(['b', 'c']);
  });

  it('keeps idempotent answers and refuses a reused key with another request', async () => {
    const { tableName, ledger } = await freshLedger();
    const begins = await Promise.all(
      Array.from({ length: 5 }, () => ledger.beginIdempotent('deploy-42', 'f1')),
    );
    expect(begins.filter((b) => b.kind === 'started')).toHaveLength(1);
    expect(begins.filter((b) => b.kind === 'in-progress')).toHaveLength(4);
    await ledger.completeIdempotent('deploy-42', { status: 207, body: '{"results":[]}' });
    expect(await ledger.beginIdempotent('deploy-42', 'f1')).toEqual({
      kind: 'replay',
      answer: { status: 207, body: '{"results":[]}' },
    });
    expect(await ledger.beginIdempotent('deploy-42', 'f2')).toEqual({ kind: 'mismatch' });
    await ledger.abandonIdempotent('deploy-42');
    expect(await ledger.beginIdempotent('deploy-42', 'f2')).toEqual({ kind: 'started' });
    const { Items } = await dynamo.client.send(new ScanCommand({ TableName: tableName }));
    expect(Number(Items![0]!.ttl!.N)).toBeGreaterThan(Date.parse('2027-03-29T18:00:05Z') / 1000);
  });

  it('an expired idempotency item counts as absent even before TTL deletes it', async () => {
    const tableName = `ledger-${++tables}`;
    await dynamo.createTable(tableName);
    let now = Date.parse('2027-03-29T00:00:00Z');
    const ledger = new DynamoLedger(dynamo.client, { tableName, now: () => now });
    await ledger.beginIdempotent('k', 'f1');
    await ledger.completeIdempotent('k', { status: 200, body: '{}' });
    now += 25 * 3600_000;
    expect(await ledger.beginIdempotent('k', 'f2')).toEqual({ kind: 'started' });
    const { Item } = await dynamo.client.send(
      new GetItemCommand({
        TableName: tableName,
        Key: { pk: { S: `IDEM#${createHash('sha256').update('k').digest('hex')}` }, sk: { S: 'IDEM' } },
      }),
    );
    expect(Item!.fingerprint!.S).toBe('f2');
  });

  it('an item left in progress expires after its in-progress time, not after a day', async () => {
    const tableName = `ledger-${++tables}`;
    await dynamo.createTable(tableName);
    let now = Date.parse('2027-03-29T00:00:00Z');
    const ledger = new DynamoLedger(dynamo.client, { tableName, now: () => now });
    expect(await ledger.beginIdempotent('k', 'f1', { inProgressMs: 35_000 })).toEqual({ kind: 'started' });
    now += 30_000;
    expect(await ledger.beginIdempotent('k', 'f1', { inProgressMs: 35_000 })).toEqual({
      kind: 'in-progress',
    });
    now += 6_000;
    expect(await ledger.beginIdempotent('k', 'f1', { inProgressMs: 35_000 })).toEqual({ kind: 'started' });
  });

  it('keeps an answer beyond the 400 KB item limit: compressed, or replaced by a marker when even that is too large', async () => {
    const { ledger } = await freshLedger();
    // Compressible: 1 MB of repeated results
    const big = JSON.stringify({
      results: Array.from({ length: 3_000 }, (_, i) => ({ target: `t${i}`, errorMessage: 'e'.repeat(300) })),
    });
    await ledger.beginIdempotent('big', 'f');
    await ledger.completeIdempotent('big', { status: 502, body: big });
    expect(await ledger.beginIdempotent('big', 'f')).toEqual({
      kind: 'replay',
      answer: { status: 502, body: big },
    });
    // Incompressible: 600 KB of random text
    const { randomBytes } = await import('node:crypto');
    const noise = JSON.stringify({ results: [{ errorMessage: randomBytes(450_000).toString('base64') }] });
    await ledger.beginIdempotent('noise', 'f');
    await ledger.completeIdempotent('noise', { status: 207, body: noise });
    const replay = await ledger.beginIdempotent('noise', 'f');
    expect(replay.kind).toBe('replay');
    const answer = (replay as { answer: { status: number; body: string } }).answer;
    expect(answer.status).toBe(207);
    expect(JSON.parse(answer.body)).toMatchObject({ error: { code: 'answer_not_kept' } });
  });

  it('remembers request signatures until they expire: exactly one of many concurrent requests is first', async () => {
    // Prepare
    const tableName = `ledger-${++tables}`;
    await dynamo.createTable(tableName);
    let now = Date.parse('2027-03-29T00:00:00Z');
    const ledger = new DynamoLedger(dynamo.client, { tableName, now: () => now });
    const expiresAt = now + 300_000;
    // Act
    const seen = await Promise.all(
      Array.from({ length: 8 }, () =>
        ledger.rememberSignature('sha256=abc', { idempotencyKey: 'k1', expiresAt }),
      ),
    );
    // Assess
    expect(seen.filter((m) => !m.seen)).toHaveLength(1);
    expect(seen.filter((m) => m.seen && m.idempotencyKey === 'k1')).toHaveLength(7);
    expect(await ledger.rememberSignature('sha256=other', { expiresAt })).toEqual({ seen: false });
    expect(await ledger.rememberSignature('sha256=other', { expiresAt })).toEqual({ seen: true });
    const { Items } = await dynamo.client.send(new ScanCommand({ TableName: tableName }));
    expect(Items!.every((item) => Number(item.ttl!.N) === Math.ceil(expiresAt / 1000))).toBe(true);
    // An expired item counts as absent even before TTL deletes it.
    now = expiresAt + 1000;
    expect(await ledger.rememberSignature('sha256=abc', { expiresAt: now + 300_000 })).toEqual({
      seen: false,
    });
  });
});
