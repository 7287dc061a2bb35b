import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Router } from '../../functions/api/router.ts';
import type { Ledger, StoredAnswer } from '../../functions/engine/ledger.ts';
import { type ApiRig, signedRequest, startApiRig } from '../helpers/api.ts';

describe('Idempotency-Key: once upstream was called, the key is never released', () => {
  let api: ApiRig;
  beforeEach(async () => {
    api = await startApiRig();
  });
  afterEach(async () => {
    await api.close();
  });

  const routerWith = (ledger: Ledger) =>
    new Router({
      config: async () => api.config,
      secrets: api.secrets,
      upstream: api.upstream,
      ledger,
      now: () => api.now,
    });
  const post = (router: Router, key: string, deadline?: number) =>
    router.handle({
      ...signedRequest('POST', '/v1/actions', JSON.stringify({ action: 'start', targets: ['face-search'] }), {
        now: api.now,
        headers: { 'idempotency-key': key },
      }),
      ...(deadline === undefined ? {} : { deadline }),
    });

  it('the history cannot be written: three POSTs with one key make one upstream call', async () => {
    // Prepare: a folder where history.jsonl belongs, so every append fails
    mkdirSync(join(api.ledger.dir, 'history.jsonl'), { recursive: true });
    // Act
    const answers = [];
    for (let i = 0; i < 3; i++) answers.push(await post(api.router, 'deploy-1'));
    // Assess
    expect(api.sim.requestsTo('/action/start')).toHaveLength(1);
    expect(answers[0]!.status).toBe(200);
    expect(JSON.parse(answers[0]!.body).results[0]).toMatchObject({ target: 'face-search', ok: true });
    for (const repeat of answers.slice(1)) {
      expect(repeat.status).toBe(200);
      expect(repeat.headers['idempotency-replayed']).toBe('true');
    }
  });

  it('the answer cannot be stored: repeats wait (409) instead of calling upstream again', async () => {
    // Prepare: a ledger whose completion always fails
    const ledger = Object.create(api.ledger) as Ledger;
    ledger.completeIdempotent = async (_key: string, _answer: StoredAnswer) => {
      throw new Error('disk full');
    };
    const router = routerWith(ledger);
    // Act
    const first = await post(router, 'deploy-2');
    const second = await post(router, 'deploy-2');
    const third = await post(router, 'deploy-2');
    // Assess
    expect(first.status).toBe(200);
    expect([second.status, third.status]).toEqual([409, 409]);
    expect(api.sim.requestsTo('/action/start')).toHaveLength(1);
  });

  it('a key is held in progress just beyond the request deadline, not for a day', async () => {
    const seen: (number | undefined)[] = [];
    const ledger = Object.create(api.ledger) as Ledger;
    ledger.beginIdempotent = (key, fingerprint, options) => {
      seen.push(options?.inProgressMs);
      return api.ledger.beginIdempotent(key, fingerprint, options);
    };
    await post(routerWith(ledger), 'deploy-3', Date.now() + 29_000);
    expect(seen[0]).toBeGreaterThan(29_000);
    expect(seen[0]).toBeLessThan(40_000);
  });
});
