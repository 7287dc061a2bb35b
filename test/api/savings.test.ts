import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type ApiRig, signedRequest, startApiRig } from '../helpers/api.ts';

describe('HTTP API: GET /v1/savings', () => {
  let api: ApiRig;
  beforeEach(async () => {
    api = await startApiRig(); // now: Monday 2027-03-29 05:00 UTC; config zone UTC
    await api.ledger.recordObservations([
      { target: 'orders-sync', at: Date.parse('2027-03-26T20:00:00.000Z'), state: 'paused' },
    ]);
  });
  afterEach(async () => {
    await api.close();
  });

  let nonce = 0;
  const get = (query: Record<string, string> = {}) =>
    api.router.handle(
      signedRequest('GET', '/v1/savings', '', { now: api.now, query: { ...query, nonce: String(++nonce) } }),
    );
  const bodyOf = (answer: { body: string }) => JSON.parse(answer.body);

  it('answers the month so far by default, every target', async () => {
    const answer = await get();
    expect(answer.status).toBe(200);
    const report = bodyOf(answer);
    expect(report).toMatchObject({
      from: '2027-03-01T00:00:00.000Z',
      to: '2027-03-29T05:00:00.000Z',
      observedUntil: '2027-03-29T05:00:00.000Z',
      zone: 'UTC',
    });
    expect(report.targets.map((t: { target: string }) => t.target)).toEqual(Object.keys(api.config.targets));
    // Paused since Friday 20:00 until now.
    expect(report.targets.find((t: { target: string }) => t.target === 'orders-sync').heldOffHours).toBe(57);
  });

  it('takes from, to and a comma list of targets', async () => {
    const answer = await get({
      from: '2027-03-27T00:00:00Z',
      to: '2027-03-28T00:00:00Z',
      target: 'orders-sync,billing-sync',
    });
    expect(answer.status).toBe(200);
    expect(bodyOf(answer).targets).toEqual([
      { target: 'orders-sync', kind: 'drs-job', heldOffHours: 24, plannedOffHours: 24 },
      { target: 'billing-sync', kind: 'drs-job', heldOffHours: 0, plannedOffHours: 24 },
    ]);
  });

  it('counts a target named twice once: one row, totals not doubled', async () => {
    const once = bodyOf(
      await get({ from: '2027-03-27T00:00:00Z', to: '2027-03-28T00:00:00Z', target: 'orders-sync' }),
    );
    const twice = bodyOf(
      await get({
        from: '2027-03-27T00:00:00Z',
        to: '2027-03-28T00:00:00Z',
        target: 'orders-sync,orders-sync',
      }),
    );
    expect(twice).toEqual(once);
    expect(twice.totals.heldOffHours).toBe(24);
  });

  it.each([
    [{ from: 'yesterday' }, 400, 'bad_request'],
    [{ from: '2027-03-28T00:00:00Z', to: '2027-03-27T00:00:00Z' }, 400, 'bad_request'],
    [{ from: '2025-01-01T00:00:00Z' }, 400, 'bad_request'],
    [{ target: 'orders-sync,nope' }, 404, 'not_found'],
  ])('refuses %o with %i', async (query, status, code) => {
    const answer = await get(query);
    expect(answer.status).toBe(status);
    expect(bodyOf(answer).error.code).toBe(code);
  });

  it('says which instants make a range backwards, defaults included', async () => {
    const early = await get({ to: '2027-02-01T00:00:00Z' });
    expect(early.status).toBe(400);
    expect(bodyOf(early).error.message).toBe(
      'to (2027-02-01T00:00:00.000Z) must be later than from (2027-03-01T00:00:00.000Z, by default the start of this month)',
    );
    const late = await get({ from: '2027-04-01T00:00:00Z' });
    expect(bodyOf(late).error.message).toBe(
      'to (2027-03-29T05:00:00.000Z, by default now) must be later than from (2027-04-01T00:00:00.000Z)',
    );
  });

  it('says why when a + offset came through as a space (a query sent without encoding it)', async () => {
    const answer = await get({ from: '2027-03-27T00:00:00 08:00' });
    expect(answer.status).toBe(400);
    expect(bodyOf(answer).error.message).toContain('send a + in a query as %2B');
  });

  it('is signed like every route but health', async () => {
    const answer = await api.router.handle({
      method: 'GET',
      path: '/v1/savings',
      target: '/v1/savings',
      query: {},
      headers: {},
      body: Buffer.alloc(0),
    });
    expect(answer.status).toBe(401);
  });
});
