import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import type { HistoryEntry } from '../../functions/engine/ledger.ts';
import { FileLedger } from '../../functions/stores/local-ledger.ts';
import { checkTargetRecords } from '../helpers/target-records.ts';

const exec = promisify(execFile);
const tempDir = () => mkdtempSync(join(tmpdir(), 'nightshift-ledger-'));
const key = { schedule: 's', action: 'pause' as const, at: '2027-03-28T01:00:00Z', target: 'orders-sync' };

describe('FileLedger', () => {
  it('target records: compare-and-set on version, one winner among racing writers, batch reads', async () => {
    await checkTargetRecords(new FileLedger(tempDir()));
  });

  it('target records: one winner among processes sharing the folder', async () => {
    const dir = tempDir();
    const script = `
      import { FileLedger } from './functions/stores/local-ledger.ts';
      const ledger = new FileLedger(process.argv[1]);
      let won = 0;
      for (let v = 1; v <= 40; v++) {
        if (await ledger.putTarget({ target: 'x', version: v, reached: false, tries: 0, lease: { owner: String(process.pid), until: '' } })) won++;
        else {
          const now = (await ledger.targets(['x'])).get('x');
          v = now ? now.version : v;
        }
      }
      console.log(won);`;
    const run = () => exec(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script, dir]);
    const [a, b] = await Promise.all([run(), run()]);
    const total = Number(a.stdout) + Number(b.stdout);
    const latest = (await new FileLedger(dir).targets(['x'])).get('x')!;
    // Every version was written by exactly one process.
    expect(total).toBe(latest.version);
  }, 30_000);

  it('marks of calls being sent: one journal per process, seen by other instances, kept while a call of it is in flight', async () => {
    const dir = tempDir();
    const ledger = new FileLedger(dir);
    const owner = 'serve@h#1#2#3#ab12/tick-0';
    const flight = {
      id: 'call-Zx_1',
      action: 'start' as const,
      want: 'running' as const,
      trigger: 'tick' as const,
      attempt: 1,
      startedAt: '2027-03-29T08:00:00Z',
      owner,
      marked: true,
    };
    expect(
      await ledger.putTarget({
        target: 'face-search',
        version: 1,
        reached: false,
        tries: 0,
        inFlight: flight,
      }),
    ).toBe(true);
    ledger.markSending([
      { target: 'face-search', id: 'call-Zx_1', owner },
      { target: 'orders-sync', id: 'call-Yb_2', owner },
    ]);
    const other = new FileLedger(dir);
    const marked = (id: string, by = owner) => other.sendingMarked({ target: 'face-search', id, owner: by });
    expect(await marked('call-Zx_1')).toBe(true);
    expect(await marked('call-Yb_2')).toBe(true);
    expect(await marked('call-other')).toBe(false);
    // Another process (another start of the same pid included) marked nothing.
    expect(await marked('call-Zx_1', 'serve@h#1#2#3#cd34/tick-0')).toBe(false);
    expect(readdirSync(join(dir, 'sending'))).toHaveLength(1);
    // Upkeep, a day later: the journal stays while its call is in flight, then goes.
    const journal = join(dir, 'sending', readdirSync(join(dir, 'sending'))[0]!);
    const dayAgo = new Date(Date.now() - 25 * 3600_000);
    utimesSync(journal, dayAgo, dayAgo);
    expect((await other.maintain()).sendingJournalsRemoved).toBe(0);
    expect(await other.putTarget({ target: 'face-search', version: 2, reached: true, tries: 0 })).toBe(true);
    expect((await other.maintain()).sendingJournalsRemoved).toBe(1);
    expect(await marked('call-Zx_1')).toBe(false);
    // The process marks again: its journal comes back.
    ledger.markSending([{ target: 'face-search', id: 'call-Zx_3', owner }]);
    expect(await marked('call-Zx_3')).toBe(true);
  });

  it('grants a claim once', async () => {
    const ledger = new FileLedger(tempDir());
    expect(await ledger.claim(key)).toBe(true);
    expect(await ledger.claim(key)).toBe(false);
    expect(await ledger.claim({ ...key, target: 'billing-sync' })).toBe(true);
    expect(await ledger.claim({ ...key, action: 'resume' })).toBe(true);
  });

  it('grants exactly one of many concurrent claims of the same occurrence', async () => {
    const dir = tempDir();
    const ledgers = Array.from({ length: 8 }, () => new FileLedger(dir));
    const wins = await Promise.all(ledgers.flatMap((l) => [l.claim(key), l.claim(key)]));
    expect(wins.filter(Boolean)).toHaveLength(1);
  });

  it('keeps claims across a restart: a new instance on the same folder repeats nothing', async () => {
    const dir = tempDir();
    expect(await new FileLedger(dir).claim(key)).toBe(true);
    expect(await new FileLedger(dir).claim(key)).toBe(false);
  });

  it('two processes sharing a folder over many minutes: every occurrence won exactly once', async () => {
    // Prepare
    const dir = tempDir();
    const worker = join(import.meta.dirname, '../fixtures/claim-worker.ts');
    // The workers meet at barriers in the folder: both win something however the machine schedules
    // them, and they contend for most occurrences (see the worker).
    const run = () =>
      exec(process.execPath, ['--import', 'tsx', worker, dir, '300', '2'], { cwd: process.cwd() });
    // Act
    const [a, b] = await Promise.all([run(), run()]);
    // Assess
    const wonA = a.stdout.split('\n').filter(Boolean);
    const wonB = b.stdout.split('\n').filter(Boolean);
    const both = new Set([...wonA, ...wonB]);
    expect(wonA.length + wonB.length).toBe(900);
    expect(both.size).toBe(900);
    expect(wonA.length).toBeGreaterThan(0);
    expect(wonB.length).toBeGreaterThan(0);
  }, 60_000);

  // Found attacking a running `serve`: with its state folder deleted (rm -rf), every tick after
  // failed every target's write forever (folders it had made once were never made again).
  it('a state folder deleted under it is made again: records, history and claims are written', async () => {
    const dir = tempDir();
    const ledger = new FileLedger(dir, () => Date.parse('2027-03-28T01:00:00Z'));
    const entry: HistoryEntry = {
      id: 'e-1',
      recordedAt: '2027-03-28T01:00:02.000Z',
      trigger: 'tick',
      schedule: 's',
      result: {
        target: 'a',
        kind: 'drs-job',
        action: 'pause',
        ok: true,
        status: 'succeeded',
        attempts: 1,
        durationMs: 1,
      },
    };
    expect(await ledger.putTarget({ target: 'a', version: 1, reached: true, tries: 0 })).toBe(true);
    await ledger.record([entry]);
    expect(await ledger.claim(key)).toBe(true);
    rmSync(dir, { recursive: true, force: true });
    // One failure may be seen (the write that finds the folder gone); the next works.
    const again = async <T>(write: () => Promise<T>) => write().catch(() => write());
    expect(await again(() => ledger.putTarget({ target: 'a', version: 1, reached: true, tries: 0 }))).toBe(
      true,
    );
    await again(() => ledger.record([{ ...entry, id: 'e-2' }]));
    expect(await again(() => ledger.claim(key))).toBe(true);
    expect((await ledger.targets(['a'])).get('a')?.version).toBe(1);
    expect((await ledger.history()).map((e) => e.id)).toEqual(['e-2']);
  });

  it('keeps history as JSON lines a person can read', async () => {
    const ledger = new FileLedger(tempDir());
    const entry = (target: string): HistoryEntry => ({
      id: `e-${target}`,
      recordedAt: '2027-03-28T01:00:02.000Z',
      trigger: 'tick',
      schedule: 's',
      scheduledAt: '2027-03-28T01:00:00Z',
      result: {
        target,
        kind: 'drs-job',
        action: 'pause',
        ok: true,
        status: 'succeeded',
        httpStatus: 200,
        attempts: 1,
        durationMs: 12,
      },
    });
    await ledger.record([entry('a'), entry('b')]);
    await ledger.record([entry('c')]);
    expect((await ledger.history()).map((e) => e.result.target)).toEqual(['a', 'b', 'c']);
    expect((await ledger.history({ limit: 2 })).map((e) => e.result.target)).toEqual(['b', 'c']);
    const { readFile } = await import('node:fs/promises');
    const text = await readFile(join(ledger.dir, 'history.jsonl'), 'utf8');
    // Each batch starts on a fresh line (blank separators guard against a line torn by a crash).
    expect(text.split('\n').filter((line) => line !== '')).toHaveLength(3);
    expect(JSON.parse(text.split('\n').find((line) => line !== '')!).result.target).toBe('a');
  });

  it('keeps idempotent answers, refuses a reused key with another request, and expires them', async () => {
    let now = 0;
    const ledger = new FileLedger(tempDir(), () => now);
    expect(await ledger.beginIdempotent('k', 'f1')).toEqual({ kind: 'started' });
    expect(await ledger.beginIdempotent('k', 'f1')).toEqual({ kind: 'in-progress' });
    await ledger.completeIdempotent('k', { status: 200, body: '{"results":[]}' });
    expect(await ledger.beginIdempotent('k', 'f1')).toEqual({
      kind: 'replay',
      answer: { status: 200, body: '{"results":[]}' },
    });
    expect(await ledger.beginIdempotent('k', 'f2')).toEqual({ kind: 'mismatch' });
    now += 25 * 3600_000;
    expect(await ledger.beginIdempotent('k', 'f2')).toEqual({ kind: 'started' });
    await ledger.abandonIdempotent('k');
    expect(await ledger.beginIdempotent('k', 'f3')).toEqual({ kind: 'started' });
  });

  it('an idempotency file holding `null` is judged by its file time, never a 500', async () => {
    const ledger = new FileLedger(tempDir(), () => 0);
    expect(await ledger.beginIdempotent('k', 'f1')).toEqual({ kind: 'started' });
    const { readdir, writeFile } = await import('node:fs/promises');
    const [name] = await readdir(join(ledger.dir, 'idempotency'));
    await writeFile(join(ledger.dir, 'idempotency', name!), 'null');
    expect(await ledger.beginIdempotent('k', 'f1')).toEqual({ kind: 'in-progress' });
  });

  it('prunes claims of old days', async () => {
    const ledger = new FileLedger(tempDir(), () => Date.parse('2027-04-30T00:00:00Z'));
    await ledger.claim(key);
    await ledger.claim({ ...key, at: '2027-04-29T10:00:00Z' });
    expect(await ledger.pruneClaims(7)).toBe(1);
    expect(await ledger.claim(key)).toBe(true);
    expect(await ledger.claim({ ...key, at: '2027-04-29T10:00:00Z' })).toBe(false);
  });
});

describe('FileLedger set-up', () => {
  it('tries its set-up again after a failure instead of failing forever', async () => {
    // Prepare: a file where the claims folder belongs
    const dir = tempDir();
    const { writeFileSync, rmSync } = await import('node:fs');
    writeFileSync(join(dir, 'claims'), 'not a folder');
    const ledger = new FileLedger(dir);
    await expect(ledger.claim(key)).rejects.toThrow();
    // Act: the obstacle is gone
    rmSync(join(dir, 'claims'));
    // Assess
    expect(await ledger.claim(key)).toBe(true);
  });
});

describe('FileLedger idempotency entries', () => {
  const keyPath = (dir: string, k: string) =>
    join(dir, 'idempotency', `${createHash('sha256').update(k).digest('hex')}.json`);

  it('an entry left in progress expires after its in-progress time, not after a day', async () => {
    let now = Date.parse('2027-03-29T05:00:00Z');
    const ledger = new FileLedger(tempDir(), () => now);
    expect(await ledger.beginIdempotent('k', 'f1', { inProgressMs: 35_000 })).toEqual({ kind: 'started' });
    now += 30_000;
    expect(await ledger.beginIdempotent('k', 'f1', { inProgressMs: 35_000 })).toEqual({
      kind: 'in-progress',
    });
    now += 6_000;
    expect(await ledger.beginIdempotent('k', 'f1', { inProgressMs: 35_000 })).toEqual({ kind: 'started' });
  });

  it('a 0-byte entry (created, then the write failed) is judged by its file time', async () => {
    const dir = tempDir();
    const ledger = new FileLedger(dir);
    await ledger.beginIdempotent('other', 'f');
    writeFileSync(keyPath(dir, 'stuck'), '');
    writeFileSync(keyPath(dir, 'fresh'), '');
    const old = new Date(Date.now() - 10 * 60_000);
    utimesSync(keyPath(dir, 'stuck'), old, old);
    expect(await ledger.beginIdempotent('stuck', 'f')).toEqual({ kind: 'started' });
    // A fresh empty file may be another process between create and write
    expect(await ledger.beginIdempotent('fresh', 'f')).toEqual({ kind: 'in-progress' });
  });
});

describe('FileLedger upkeep: bounded state folder', () => {
  const entry = (target: string, pad = ''): HistoryEntry => ({
    id: `e-${target}`,
    recordedAt: '2027-03-28T01:00:02.000Z',
    trigger: 'tick',
    reason: pad,
    result: {
      target,
      kind: 'drs-job',
      action: 'pause',
      ok: true,
      status: 'succeeded',
      attempts: 1,
      durationMs: 1,
    },
  });

  it('removes idempotency entries older than their day', async () => {
    const dir = tempDir();
    let now = Date.now();
    const ledger = new FileLedger(dir, () => now);
    await ledger.beginIdempotent('old', 'f');
    await ledger.completeIdempotent('old', { status: 200, body: '{}' });
    const old = new Date(now - 25 * 3600_000);
    const files = readdirSync(join(dir, 'idempotency'));
    for (const f of files) utimesSync(join(dir, 'idempotency', f), old, old);
    await ledger.beginIdempotent('new', 'f');
    now += 1;
    const done = await ledger.maintain();
    expect(done.idempotencyRemoved).toBe(1);
    expect(readdirSync(join(dir, 'idempotency'))).toHaveLength(1);
  });

  it('rotates history.jsonl past its size bound and keeps a bounded number of old files', async () => {
    const dir = tempDir();
    const ledger = new FileLedger(dir, Date.now, { historyMaxBytes: 1_000, historyFiles: 2 });
    for (let round = 0; round < 4; round++) {
      await ledger.record([entry(`r${round}`, 'x'.repeat(1_000))]);
      await ledger.maintain();
    }
    await ledger.record([entry('last')]);
    const names = readdirSync(dir)
      .filter((n) => n.startsWith('history'))
      .sort();
    expect(names).toEqual(['history.1.jsonl', 'history.2.jsonl', 'history.jsonl']);
    // The newest entries are still read, across the rotation
    expect((await ledger.history({ limit: 2 })).map((e) => e.result.target)).toEqual(['r3', 'last']);
  });

  it('finds the entry of a call in a rotated file, and reads the rotated files only when they may hold it', async () => {
    const dir = tempDir();
    const ledger = new FileLedger(dir, Date.now, { historyMaxBytes: 1_000, historyFiles: 2 });
    const at = (minute: number) => `2027-03-28T01:${String(minute).padStart(2, '0')}:00.000Z`;
    const call = (target: string, minute: number): HistoryEntry => ({
      ...entry(target, 'x'.repeat(1_000)),
      recordedAt: at(minute),
      startedAt: at(minute),
    });
    for (let round = 0; round < 2; round++) {
      await ledger.record([call(`r${round}`, round)]);
      await ledger.maintain();
    }
    await ledger.record([call('last', 10)]);
    const found = await ledger.recordedEntries([
      { target: 'r0', id: 'e-r0', startedAt: at(0) },
      { target: 'last', id: 'e-last', startedAt: at(10) },
    ]);
    expect([...found.keys()].sort()).toEqual(['e-last', 'e-r0']);
    // A call started after everything in history.jsonl began: the rotated files are not read.
    rmSync(join(dir, 'history.1.jsonl'));
    writeFileSync(join(dir, 'history.2.jsonl'), 'not json\n');
    const recent = await ledger.recordedEntries([{ target: 'last', id: 'e-last', startedAt: at(11) }]);
    expect([...recent.keys()]).toEqual(['e-last']);
    expect(existsSync(join(dir, 'damaged'))).toBe(false);
  });

  it('remembers request signatures across instances until they expire, and prunes expired ones', async () => {
    // Prepare: two instances on one folder, as two processes
    let now = Date.parse('2027-03-29T00:00:00Z');
    const dir = tempDir();
    const a = new FileLedger(dir, () => now);
    const b = new FileLedger(dir, () => now);
    const expiresAt = now + 300_000;
    // Act
    const seen = await Promise.all(
      Array.from({ length: 8 }, (_, i) =>
        (i % 2 ? a : b).rememberSignature('sha256=abc', { idempotencyKey: 'k1', expiresAt }),
      ),
    );
    // Assess
    expect(seen.filter((m) => !m.seen)).toHaveLength(1);
    expect(seen.filter((m) => m.seen && m.idempotencyKey === 'k1')).toHaveLength(7);
    expect(await a.rememberSignature('sha256=other', { expiresAt })).toEqual({ seen: false });
    expect(await b.rememberSignature('sha256=other', { expiresAt })).toEqual({ seen: true });
    now = expiresAt + 1000;
    expect(await b.rememberSignature('sha256=abc', { expiresAt: now + 300_000 })).toEqual({ seen: false });
    // Once a later call has pruned, only the live "abc" and "third" are left in the folder.
    now += 120_000;
    await a.rememberSignature('sha256=third', { expiresAt: now + 300_000 });
    expect(readdirSync(join(dir, 'signatures')).filter((f) => f.endsWith('.json'))).toHaveLength(2);
  });
});
