import { appendFileSync, mkdirSync, readdirSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { HistoryEntry } from '../../functions/engine/ledger.ts';
import { type ApiRig, signedRequest, startApiRig } from '../helpers/api.ts';

const HOUR = 3600_000;
const iso = (ms: number) => new Date(ms).toISOString();
const bodyOf = (answer: { body: string }) => JSON.parse(answer.body);

describe('HTTP API: replays of changes, and a damaged history (issue 17)', () => {
  let api: ApiRig;
  beforeEach(async () => {
    api = await startApiRig();
  });
  afterEach(async () => {
    await api.close();
  });

  let nonce = 0;
  /** A request signed anew each time, as a client retrying it makes it. */
  const signed = (method: string, path: string, body = '', headers: Record<string, string> = {}) =>
    signedRequest(method, path, body, { now: api.now, headers, query: { nonce: String(++nonce) } });
  const keepRunning = () =>
    JSON.stringify({
      targets: ['orders-sync'],
      state: 'running',
      until: iso(api.now + 4 * HOUR),
      reason: 'release tonight',
    });
  const listed = async () => bodyOf(await api.router.handle(signed('GET', '/v1/overrides'))).overrides;

  it('finding 11: one POST /v1/overrides sent 5 times with one Idempotency-Key makes one override', async () => {
    const key = { 'idempotency-key': 'release-7' };
    // The very same signed request, sent again (a proxy retrying it) ...
    const request = signed('POST', '/v1/overrides', keepRunning(), key);
    const replays = [];
    for (let i = 0; i < 5; i++) replays.push(await api.router.handle(request));
    // ... and a client signing each retry anew.
    const retries = [];
    for (let i = 0; i < 5; i++)
      retries.push(await api.router.handle(signed('POST', '/v1/overrides', keepRunning(), key)));
    const answers = [...replays, ...retries];
    expect(answers.map((a) => a.status)).toEqual(Array(10).fill(201));
    const ids = new Set(answers.map((a) => bodyOf(a).id));
    expect(ids.size).toBe(1);
    expect((await listed()).map((o: { id: string }) => o.id)).toEqual([...ids]);
  });

  // Found attacking a running `serve` on a full disk: every signed request (a GET too, which
  // keeps its signature) answered 500 `internal`, as if Nightshift were at fault.
  it('a state folder that cannot be written (disk full) answers 503 state_unwritable, naming why', async () => {
    const full = () => Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
    vi.spyOn(api.ledger, 'rememberSignature').mockRejectedValueOnce(full());
    const read = await api.router.handle(signed('GET', '/v1/status'));
    vi.spyOn(api.ledger, 'putOverride').mockRejectedValueOnce(full());
    const write = await api.router.handle(signed('POST', '/v1/overrides', keepRunning()));
    for (const answer of [read, write]) {
      expect(answer.status).toBe(503);
      expect(bodyOf(answer).error).toEqual({
        code: 'state_unwritable',
        message: expect.stringMatching(
          /^the state folder cannot be written \(ENOSPC: no space left on device/,
        ),
      });
    }
    expect(await listed()).toEqual([]);
  });

  it('finding 11: DELETE /v1/overrides/{id} repeated with one Idempotency-Key answers as the first time', async () => {
    const created = bodyOf(await api.router.handle(signed('POST', '/v1/overrides', keepRunning())));
    const key = { 'idempotency-key': 'undo-release-7' };
    const answers = [];
    for (let i = 0; i < 3; i++)
      answers.push(await api.router.handle(signed('DELETE', `/v1/overrides/${created.id}`, '', key)));
    expect(answers.map((a) => a.status)).toEqual([200, 200, 200]);
    expect(answers.map((a) => bodyOf(a).id)).toEqual([created.id, created.id, created.id]);
    expect(await listed()).toEqual([]);
  });

  /** A succeeded pause of orders-sync, recorded `minutesAgo` before the API's clock. */
  const entry = (id: string, minutesAgo: number): HistoryEntry => ({
    id,
    recordedAt: iso(api.now - minutesAgo * 60_000),
    trigger: 'tick',
    schedule: 'sync',
    result: {
      target: 'orders-sync',
      kind: 'drs-job',
      action: 'pause',
      ok: true,
      status: 'succeeded',
      attempts: 1,
      durationMs: minutesAgo,
    },
  });

  // Found attacking a running `serve`: history.jsonl replaced by a folder made every
  // GET /v1/history a 500 and every history write fail (EISDIR).
  it('history.jsonl replaced by a folder is moved aside: GET /v1/history answers, entries are written', async () => {
    await api.ledger.record([entry('e-1', 1)]);
    const file = join(api.ledger.dir, 'history.jsonl');
    renameSync(file, `${file}.old`);
    mkdirSync(file);
    const answer = await api.router.handle(signed('GET', '/v1/history'));
    expect(answer.status).toBe(200);
    expect(bodyOf(answer).entries).toEqual([]);
    mkdirSync(file);
    await api.ledger.record([entry('e-2', 1)]);
    expect((await api.ledger.history()).map((e) => e.id)).toEqual(['e-2']);
    expect(
      readdirSync(join(api.ledger.dir, 'damaged')).filter((f) => f.includes('~history.jsonl~')),
    ).toHaveLength(2);
  });

  it('finding 10: a torn history.jsonl line does not break GET /v1/history', async () => {
    await api.ledger.record([entry('e-before', 3)]);
    // A process died mid-write (or the disk filled): half a line.
    appendFileSync(join(api.ledger.dir, 'history.jsonl'), '{"id":"e-torn","recordedAt":"2027-03-29T04:5');
    await api.ledger.record([entry('e-after', 1)]);
    const answer = await api.router.handle(signed('GET', '/v1/history'));
    expect(answer.status).toBe(200);
    expect(bodyOf(answer).entries.map((e: HistoryEntry) => e.id)).toEqual(['e-after', 'e-before']);
  });
});
