import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { PLAN_MAX_BYTES, Router } from '../../functions/api/router.ts';
import { type ApiRig, signedRequest, startApiRig } from '../helpers/api.ts';
import { configWith } from '../helpers/config.ts';

describe('GET /v1/plan stays within Lambda answer limits', () => {
  let api: ApiRig;
  beforeEach(async () => {
    api = await startApiRig();
  });
  afterEach(async () => {
    await api.close();
  });

  it('10 every-minute schedules × 50 targets over 744 hours: a bounded page and a link to the next', async () => {
    // Prepare
    const targets = Object.fromEntries(
      Array.from({ length: 50 }, (_, i) => [
        `task-${i}`,
        { account: 'prod', kind: 'vias-task', taskId: `t${i}` },
      ]),
    );
    const names = Object.keys(targets);
    const config = configWith(
      Array.from({ length: 10 }, (_, i) => ({
        id: `every-minute-${i}`,
        targets: names,
        timezone: 'UTC',
        actions: [{ do: 'start', cron: '* * * * *' }],
      })),
      { targets, groups: {} },
    );
    const router = new Router({
      config: async () => config,
      secrets: api.secrets,
      upstream: api.upstream,
      ledger: api.ledger,
      now: () => api.now,
    });
    const get = (path: string, query: Record<string, string>) =>
      router.handle(signedRequest('GET', path, '', { now: api.now, query }));
    // Act
    const started = Date.now();
    const first = await get('/v1/plan', { hours: '744' });
    // Assess
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(first.status).toBe(200);
    expect(Buffer.byteLength(first.body)).toBeLessThanOrEqual(PLAN_MAX_BYTES);
    const rows = JSON.parse(first.body) as { at: string; schedule: string }[];
    expect(first.headers['nightshift-plan-truncated']).toBe('true');
    // Whole instants only: the last instant has all ten schedules
    const lastAt = rows.at(-1)!.at;
    expect(rows.filter((r) => r.at === lastAt)).toHaveLength(10);
    // The next page starts right after it
    const next = new URL(first.headers['nightshift-plan-next']!, 'http://x');
    expect(next.pathname).toBe('/v1/plan');
    const second = await get(next.pathname, Object.fromEntries(next.searchParams));
    expect(second.status).toBe(200);
    const more = JSON.parse(second.body) as { at: string }[];
    expect(Date.parse(more[0]!.at)).toBe(Date.parse(lastAt) + 60_000);
  });

  it('a small plan is whole and carries no paging headers', async () => {
    const answer = await api.router.handle(
      signedRequest('GET', '/v1/plan', '', { now: api.now, query: { hours: '48' } }),
    );
    expect(answer.status).toBe(200);
    expect(answer.headers['nightshift-plan-truncated']).toBeUndefined();
  });
});
