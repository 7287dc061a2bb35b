import { createHmac } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MAX_BODY_BYTES, Router } from '../../functions/api/router.ts';
import { sign } from '../../functions/api/signature.ts';
import { FileLedger } from '../../functions/stores/local-ledger.ts';
import { type ApiRig, signedRequest, startApiRig, WEBHOOK_KEY } from '../helpers/api.ts';
import { PROJECT } from '../helpers/simulator.ts';

describe('HTTP API router', () => {
  let api: ApiRig;
  beforeEach(async () => {
    api = await startApiRig();
  });
  afterEach(async () => {
    await api.close();
  });

  const post = (body: unknown, options: Parameters<typeof signedRequest>[3] = { now: 0 }) =>
    api.router.handle(
      signedRequest('POST', '/v1/actions', typeof body === 'string' ? body : JSON.stringify(body), {
        ...options,
        now: options.now || api.now,
      }),
    );
  const bodyOf = (answer: { body: string }) => JSON.parse(answer.body);

  it('GET /v1/health answers {"ok": true} without auth', async () => {
    const answer = await api.router.handle({
      method: 'GET',
      path: '/v1/health',
      target: '/v1/health',
      query: {},
      headers: {},
      body: Buffer.alloc(0),
    });
    expect(answer.status).toBe(200);
    expect(bodyOf(answer)).toEqual({ ok: true });
    expect(answer.headers['content-type']).toBe('application/json');
  });

  it('200 with the results when every target succeeded', async () => {
    // Act
    const answer = await post({ action: 'pause', targets: ['replication'], reason: 'migration step 3' });
    // Assess
    expect(answer.status).toBe(200);
    const { results } = bodyOf(answer);
    expect(results.map((r: { target: string; status: string }) => [r.target, r.status])).toEqual([
      ['orders-sync', 'succeeded'],
      ['billing-sync', 'succeeded'],
    ]);
    const history = await api.ledger.history();
    expect(history).toHaveLength(2);
    expect(history[0]).toMatchObject({
      trigger: 'http',
      reason: 'migration step 3',
      result: { target: 'orders-sync', ok: true },
    });
  });

  it('207 when some failed, 502 when all failed upstream', async () => {
    api.sim.script({ path: '/action/start' }, [
      { kind: 'respond', status: 400, body: { error_code: 'VIAS.400101', error_msg: 'SIM: refused' } },
      { kind: 'respond', status: 400, body: { error_code: 'VIAS.400101', error_msg: 'SIM: refused' } },
    ]);
    const some = await post({ action: 'start', targets: ['face-search', 'load-test'] });
    expect(some.status).toBe(207);
    const all = await post({ action: 'start', targets: ['face-search'] });
    expect(all.status).toBe(502);
    expect(bodyOf(all).results[0]).toMatchObject({ ok: false, errorCode: 'VIAS.400101' });
  });

  it('a target already in the requested state: unchanged and no call, unless "force": true', async () => {
    api.sim.addViasTask(PROJECT, 'task-1', 'RUNNING');
    const answer = await post({ action: 'start', targets: ['face-search'] });
    expect(answer.status).toBe(200);
    expect(bodyOf(answer).results[0]).toMatchObject({ ok: true, status: 'unchanged', observed: 'RUNNING' });
    expect(api.sim.requestsTo('/action/start')).toHaveLength(0);
    const forced = await post({ action: 'start', targets: ['face-search'], force: true });
    expect(forced.status).toBe(502);
    expect(api.sim.requestsTo('/action/start')).toHaveLength(1);
  });

  it('runs every target of a schedule, and 404 for an unknown schedule', async () => {
    const answer = await post({ action: 'pause', schedule: 'sync' });
    expect(answer.status).toBe(200);
    expect(bodyOf(answer).results.map((r: { target: string }) => r.target)).toEqual([
      'orders-sync',
      'billing-sync',
    ]);
    const unknown = await post({ action: 'stop', schedule: 'nope' });
    expect(unknown.status).toBe(404);
    expect(bodyOf(unknown).error.message).toBe('unknown schedule "nope"');
  });

  it('a dry run answers 200 and calls nothing', async () => {
    const answer = await post({ action: 'pause', targets: ['orders-sync'], dryRun: true });
    expect(answer.status).toBe(200);
    expect(bodyOf(answer).results[0].status).toBe('dry-run');
    expect(api.sim.requests).toHaveLength(0);
  });

  it.each([
    ['malformed JSON', '{"action": "pause",', /not valid JSON/],
    [
      'an unknown field',
      { action: 'pause', targets: ['orders-sync'], forced: true },
      /unknown field "forced"/,
    ],
    ['a non-boolean force', { action: 'pause', targets: ['orders-sync'], force: 'yes' }, /force/],
    ['a bad action', { action: 'reboot', targets: ['orders-sync'] }, /action must be one of/],
    [
      'both targets and schedule',
      { action: 'pause', targets: ['orders-sync'], schedule: 'office-hours' },
      /exactly one of/,
    ],
    ['neither targets nor schedule', { action: 'pause' }, /exactly one of/],
    ['an empty target list', { action: 'pause', targets: [] }, /at least one/],
    ['a non-boolean dryRun', { action: 'pause', targets: ['orders-sync'], dryRun: 'yes' }, /dryRun/],
  ])('400 for %s', async (_name, body, message) => {
    const answer = await post(body);
    expect(answer.status).toBe(400);
    const { error } = bodyOf(answer);
    expect(error.code).toBe('bad_request');
    expect(error.message).toMatch(message);
    expect(answer.body).not.toMatch(/at .*\.ts:\d+/);
  });

  it('404 for an unknown target or schedule, 422 for an action the kind lacks', async () => {
    const unknown = await post({ action: 'pause', targets: ['ghost'] });
    expect(unknown.status).toBe(404);
    expect(bodyOf(unknown).error).toEqual({ code: 'not_found', message: 'unknown target or group "ghost"' });
    const lacks = await post({ action: 'pause', targets: ['face-search'] });
    expect(lacks.status).toBe(422);
    expect(bodyOf(lacks).error.message).toMatch(
      /vias-task, which has no action "pause" \(its actions: start, stop\)/,
    );
    const drsStop = await post({ action: 'stop', targets: ['orders-sync'] });
    expect(drsStop.status).toBe(422);
    expect(api.sim.requests).toHaveLength(0);
  });

  it('413 for a body over 64 KiB, before the signature is even checked', async () => {
    const answer = await api.router.handle({
      method: 'POST',
      path: '/v1/actions',
      target: '/v1/actions',
      query: {},
      headers: {},
      body: Buffer.alloc(MAX_BODY_BYTES + 1, 'a'),
    });
    expect(answer.status).toBe(413);
    expect(bodyOf(answer).error.code).toBe('payload_too_large');
  });

  describe('signatures', () => {
    const body = JSON.stringify({ action: 'pause', targets: ['orders-sync'], dryRun: true });
    const expectUnauthorized = async (
      request: Parameters<ApiRig['router']['handle']>[0],
      message: RegExp,
    ) => {
      const answer = await api.router.handle(request);
      expect(answer.status).toBe(401);
      expect(bodyOf(answer).error.code).toBe('unauthorized');
      expect(bodyOf(answer).error.message).toMatch(message);
      expect(answer.body).not.toContain(WEBHOOK_KEY);
    };

    it('401 without the headers', async () => {
      await expectUnauthorized(
        {
          method: 'POST',
          path: '/v1/actions',
          target: '/v1/actions',
          query: {},
          headers: {},
          body: Buffer.from(body),
        },
        /headers are required/,
      );
    });
    it('401 with a wrong key', async () => {
      await expectUnauthorized(
        signedRequest('POST', '/v1/actions', body, { now: api.now, key: 'another-key-0123456789' }),
        /does not match/,
      );
    });
    it('401 for a stale timestamp', async () => {
      await expectUnauthorized(
        signedRequest('POST', '/v1/actions', body, { now: api.now - 301_000 }),
        /300 s/,
      );
    });
    it('401 for a timestamp in the future', async () => {
      await expectUnauthorized(
        signedRequest('POST', '/v1/actions', body, { now: api.now + 301_000 }),
        /300 s/,
      );
    });
    it('accepts a timestamp just inside the window', async () => {
      const answer = await api.router.handle(
        signedRequest('POST', '/v1/actions', body, { now: api.now - 299_000 }),
      );
      expect(answer.status).toBe(200);
    });
    it('401 when the body was changed after signing', async () => {
      const request = signedRequest('POST', '/v1/actions', body, { now: api.now });
      request.body = Buffer.from(body.replace('orders-sync', 'billing-sync'));
      await expectUnauthorized(request, /does not match/);
    });
    it('401 for a malformed signature or timestamp', async () => {
      const request = signedRequest('POST', '/v1/actions', body, { now: api.now });
      request.headers['x-nightshift-signature'] = 'sha256=abc';
      await expectUnauthorized(request, /does not match/);
      const ts = signedRequest('POST', '/v1/actions', body, { now: api.now, timestamp: 'yesterday' });
      await expectUnauthorized(ts, /unix seconds/);
    });
    it('503 when the webhook key is not configured', async () => {
      api.secrets.delete('nightshift/webhook');
      const answer = await api.router.handle(signedRequest('POST', '/v1/actions', body, { now: api.now }));
      expect(answer.status).toBe(503);
      expect(bodyOf(answer).error.code).toBe('webhook_key_unavailable');
    });
  });

  describe('idempotency', () => {
    it('a repeat with the same Idempotency-Key returns the first answer and calls upstream once', async () => {
      // Prepare
      const body = { action: 'pause', targets: ['orders-sync'] };
      const options = { now: api.now, headers: { 'idempotency-key': 'deploy-42' } };
      // Act
      const first = await post(body, options);
      const second = await post(body, options);
      // Assess
      expect(first.status).toBe(200);
      expect(second.status).toBe(200);
      expect(second.body).toBe(first.body);
      expect(second.headers['idempotency-replayed']).toBe('true');
      expect(api.sim.requestsTo('batch-pause-task')).toHaveLength(1);
    });

    it('the same key with a different request is refused', async () => {
      await post(
        { action: 'pause', targets: ['orders-sync'] },
        { now: api.now, headers: { 'idempotency-key': 'k1' } },
      );
      const other = await post(
        { action: 'pause', targets: ['billing-sync'] },
        { now: api.now, headers: { 'idempotency-key': 'k1' } },
      );
      expect(other.status).toBe(422);
      expect(bodyOf(other).error.code).toBe('idempotency_mismatch');
    });

    it('concurrent repeats: one runs, the others wait their turn or replay', async () => {
      const body = { action: 'pause', targets: ['orders-sync'] };
      const answers = await Promise.all(
        Array.from({ length: 5 }, () =>
          post(body, { now: api.now, headers: { 'idempotency-key': 'burst' } }),
        ),
      );
      expect(answers.filter((a) => a.status === 200)).not.toHaveLength(0);
      expect(answers.every((a) => a.status === 200 || a.status === 409)).toBe(true);
      expect(api.sim.requestsTo('batch-pause-task')).toHaveLength(1);
    });
  });

  it('GET /v1/plan?hours=N answers the plan, signed over an empty body', async () => {
    // Act
    const answer = await api.router.handle(
      signedRequest('GET', '/v1/plan', '', { now: api.now, query: { hours: '48' } }),
    );
    // Assess
    expect(answer.status).toBe(200);
    const rows = bodyOf(answer);
    expect(Array.isArray(rows)).toBe(true);
    for (const row of rows) expect(Object.keys(row)).toEqual(['at', 'schedule', 'action', 'targets']);
    const bad = await api.router.handle(
      signedRequest('GET', '/v1/plan', '', { now: api.now, query: { hours: '0' } }),
    );
    expect(bad.status).toBe(400);
    const unsigned = await api.router.handle({
      method: 'GET',
      path: '/v1/plan',
      target: '/v1/plan',
      query: {},
      headers: {},
      body: Buffer.alloc(0),
    });
    expect(unsigned.status).toBe(401);
  });

  it('404 for an unknown route, 405 for a wrong method', async () => {
    const missing = await api.router.handle({
      method: 'GET',
      path: '/v2/anything',
      target: '/v2/anything',
      query: {},
      headers: {},
      body: Buffer.alloc(0),
    });
    expect(missing.status).toBe(404);
    const method = await api.router.handle({
      method: 'DELETE',
      path: '/v1/actions',
      target: '/v1/actions',
      query: {},
      headers: {},
      body: Buffer.alloc(0),
    });
    expect(method.status).toBe(405);
    expect(method.headers.allow).toBe('POST');
  });

  it('500 without a stack trace when something inside fails', async () => {
    api.upstream.perform = async () => {
      throw new Error('disk on fire');
    };
    const answer = await post({ action: 'pause', targets: ['orders-sync'] });
    expect(answer.status).toBe(500);
    expect(bodyOf(answer).error.code).toBe('internal');
    expect(answer.body).not.toContain('disk on fire');
    expect(answer.body).not.toMatch(/\.ts:\d+/);
  });

  it('signs exactly timestamp + "." + METHOD + "." + request target + "." + raw body', () => {
    expect(sign('key', '1700000000', 'post', '/v1/actions', '{}')).toBe(
      `sha256=${createHmac('sha256', 'key').update('1700000000.POST./v1/actions.{}').digest('hex')}`,
    );
    expect(sign('key', '1700000000', 'GET', '/v1/plan?hours=24', '')).toBe(
      `sha256=${createHmac('sha256', 'key').update('1700000000.GET./v1/plan?hours=24.').digest('hex')}`,
    );
  });

  describe('signatures cover the method and the request target', () => {
    it('a GET signature is refused on another route or another query', async () => {
      // Prepare: a signed plan request, then its headers on other targets
      const plan = signedRequest('GET', '/v1/plan', '', { now: api.now, query: { hours: '24' } });
      expect((await api.router.handle(plan)).status).toBe(200);
      const otherQuery = { ...plan, target: '/v1/plan?hours=48', query: { hours: '48' } };
      const otherRoute = { ...plan, method: 'POST', path: '/v1/actions', target: '/v1/actions' };
      // Act / Assess
      for (const request of [otherQuery, otherRoute]) {
        const answer = await api.router.handle(request);
        expect(answer.status).toBe(401);
        expect(bodyOf(answer).error).toEqual({
          code: 'unauthorized',
          message: 'the signature does not match',
        });
      }
    });

    it('a POST signature is refused for another method', async () => {
      const request = signedRequest('POST', '/v1/actions', '{"action":"start","targets":["night-batch"]}', {
        now: api.now,
      });
      const answer = await api.router.handle({ ...request, method: 'PUT' });
      expect(answer.status).toBe(405);
      const asGet = await api.router.handle({
        ...request,
        method: 'GET',
        path: '/v1/plan',
        target: '/v1/plan',
      });
      expect(asGet.status).toBe(401);
    });
  });

  describe('replays', () => {
    const body = { action: 'pause', targets: ['orders-sync'] };

    it('a signature already seen within the window is refused with 401 replayed, and nothing runs again', async () => {
      // Prepare
      const signed = signedRequest('POST', '/v1/actions', JSON.stringify(body), { now: api.now });
      // Act
      const first = await api.router.handle(signed);
      api.now += 60_000;
      const again = await api.router.handle(signed);
      // Assess
      expect(first.status).toBe(200);
      expect(again.status).toBe(401);
      expect(bodyOf(again).error.code).toBe('replayed');
      expect(api.sim.requestsTo('batch-pause-task')).toHaveLength(1);
    });

    it('a replay of a GET is refused too', async () => {
      const plan = signedRequest('GET', '/v1/plan', '', { now: api.now });
      expect((await api.router.handle(plan)).status).toBe(200);
      const again = await api.router.handle(plan);
      expect(again.status).toBe(401);
      expect(bodyOf(again).error.code).toBe('replayed');
    });

    it('a replay carrying the same Idempotency-Key gets the first answer; another key is refused', async () => {
      // Prepare
      const signed = signedRequest('POST', '/v1/actions', JSON.stringify(body), {
        now: api.now,
        headers: { 'idempotency-key': 'deploy-7' },
      });
      // Act
      const first = await api.router.handle(signed);
      const retried = await api.router.handle(signed);
      // The signature does not cover headers: swapping the key must not make a new request of it.
      const swapped = await api.router.handle({
        ...signed,
        headers: { ...signed.headers, 'idempotency-key': 'deploy-8' },
      });
      const dropped = await api.router.handle({
        ...signed,
        headers: { ...signed.headers, 'idempotency-key': undefined },
      });
      // Assess
      expect(first.status).toBe(200);
      expect(retried.body).toBe(first.body);
      expect(retried.headers['idempotency-replayed']).toBe('true');
      expect(swapped.status).toBe(401);
      expect(bodyOf(swapped).error.code).toBe('replayed');
      expect(dropped.status).toBe(401);
      expect(api.sim.requestsTo('batch-pause-task')).toHaveLength(1);
    });

    it('the memory is in the ledger: another process sharing the state folder refuses the replay', async () => {
      // Prepare: a second router, as in another process, on its own FileLedger over the same folder
      const other = new Router({
        config: async () => api.config,
        secrets: api.secrets,
        upstream: api.upstream,
        ledger: new FileLedger(api.ledger.dir),
        now: () => api.now,
      });
      const signed = signedRequest('POST', '/v1/actions', JSON.stringify(body), { now: api.now });
      // Act
      const first = await api.router.handle(signed);
      const replayed = await other.handle(signed);
      // Assess
      expect(first.status).toBe(200);
      expect(replayed.status).toBe(401);
      expect(bodyOf(replayed).error.code).toBe('replayed');
    });

    it('after the window the timestamp, not the memory, refuses it', async () => {
      await post(body, { now: api.now });
      api.now += 301_000;
      const later = await api.router.handle(
        signedRequest('POST', '/v1/actions', JSON.stringify(body), { now: api.now - 301_000 }),
      );
      expect(later.status).toBe(401);
      expect(bodyOf(later).error.code).toBe('unauthorized');
    });
  });
});
