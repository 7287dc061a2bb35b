import { afterEach, describe, expect, it } from 'vitest';
import { HttpClient, parseRetryAfter } from '../../functions/huawei/http.ts';
import { HuaweiSimulator } from '../../functions/local/simulator.ts';
import { PROJECT, type Rig, startRig } from '../helpers/simulator.ts';

describe('retries against the simulator', () => {
  let rig: Rig;
  afterEach(async () => {
    await rig.close();
  });

  it.each([429, 500, 502, 503, 504])(
    'retries %i with exponential backoff and full jitter, then succeeds',
    async (status) => {
      // Prepare
      rig = await startRig();
      rig.sim.script({ path: '/tasks/task-1/' }, [
        { kind: 'respond', status, body: { error_code: 'APIGW.0308', error_msg: 'busy' } },
        { kind: 'respond', status, body: { error_code: 'APIGW.0308', error_msg: 'busy' } },
      ]);
      // Act
      const [result] = await rig.run([{ target: 'face-search', action: 'start' }]);
      // Assess: random() = 1 picks the top of each jitter range: 250, then 500 ms
      expect(result).toMatchObject({ ok: true, attempts: 3, httpStatus: 200 });
      expect(rig.delays).toEqual([250, 500]);
      expect(rig.sim.requestsTo('/tasks/task-1/')).toHaveLength(3);
    },
  );

  it('gives up after three retries and reports the last answer', async () => {
    rig = await startRig();
    rig.sim.script(
      { path: '/tasks/task-1/' },
      [{ kind: 'respond', status: 503, body: { error_code: 'SYS.503', error_msg: 'down' } }],
      { repeat: true },
    );
    const [result] = await rig.run([{ target: 'face-search', action: 'start' }]);
    expect(result).toMatchObject({ ok: false, httpStatus: 503, errorCode: 'SYS.503', attempts: 4 });
    expect(rig.delays).toEqual([250, 500, 1000]);
  });

  it('full jitter picks a delay between zero and the cap', async () => {
    rig = await startRig({ http: { random: () => 0.5 } });
    rig.sim.script({ path: '/tasks/task-1/' }, [
      { kind: 'respond', status: 500 },
      { kind: 'respond', status: 500 },
    ]);
    await rig.run([{ target: 'face-search', action: 'start' }]);
    expect(rig.delays).toEqual([125, 250]);
  });

  it('honours Retry-After on 429', async () => {
    rig = await startRig();
    rig.sim.script({ path: '/tasks/task-1/' }, [
      {
        kind: 'respond',
        status: 429,
        headers: { 'retry-after': '3' },
        body: { error_code: 'APIGW.0308', error_msg: 'throttling threshold has been reached' },
      },
    ]);
    const [result] = await rig.run([{ target: 'face-search', action: 'start' }]);
    expect(result).toMatchObject({ ok: true, attempts: 2 });
    expect(rig.delays).toEqual([3000]);
  });

  it('does not wait for a Retry-After beyond the bound: the 429 is the answer', async () => {
    rig = await startRig({ http: { maxRetryAfterMs: 5_000 } });
    rig.sim.script({ path: '/tasks/task-1/' }, [
      {
        kind: 'respond',
        status: 429,
        headers: { 'retry-after': '120' },
        body: { error_code: 'APIGW.0308', error_msg: 'throttled' },
      },
    ]);
    const [result] = await rig.run([{ target: 'face-search', action: 'start' }]);
    expect(result).toMatchObject({ ok: false, httpStatus: 429, errorCode: 'APIGW.0308', attempts: 1 });
    expect(rig.delays).toEqual([]);
  });

  it.each([400, 403, 404, 409])('never retries %i', async (status) => {
    rig = await startRig();
    rig.sim.script({ path: '/tasks/task-1/' }, [
      { kind: 'respond', status, body: { error_code: 'APIGW.0302', error_msg: 'no' } },
    ]);
    const [result] = await rig.run([{ target: 'face-search', action: 'start' }]);
    expect(result).toMatchObject({ ok: false, httpStatus: status, attempts: 1 });
    expect(rig.sim.requestsTo('/tasks/task-1/')).toHaveLength(1);
  });

  it('retries a connection reset', async () => {
    rig = await startRig();
    rig.sim.script({ path: '/tasks/task-1/' }, [{ kind: 'reset' }]);
    const [result] = await rig.run([{ target: 'face-search', action: 'start' }]);
    expect(result).toMatchObject({ ok: true, attempts: 2 });
  });

  it('times out a hanging status read, retries, and fails clearly', async () => {
    rig = await startRig({ http: { timeoutMs: 150, maxRetries: 1 } });
    rig.sim.script({ path: /\/tasks\/task-1$/ }, [{ kind: 'hang' }, { kind: 'hang' }]);
    const started = Date.now();
    const [read] = await rig.upstream.observe([
      {
        target: 'face-search',
        config: rig.config.targets['face-search']!,
        account: { name: 'prod', config: rig.config.accounts.prod! },
      },
    ]);
    expect(read).toMatchObject({ observation: null, error: { code: 'NIGHTSHIFT.TIMEOUT' } });
    expect(read!.error!.message).toMatch(
      /GET \/v2\/\{project_id\}\/tasks\/\{task_id\}: no answer within 150 ms \(after 2 attempts\)/,
    );
    expect(rig.sim.requestsTo(/\/tasks\/task-1$/)).toHaveLength(2);
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it('a status read refused as it goes out is not sent: one read each, a DRS batch read without the refused job', async () => {
    rig = await startRig();
    const ref = (target: string) => ({
      target,
      config: rig!.config.targets[target]!,
      account: { name: 'prod', config: rig!.config.accounts.prod! },
    });
    const asked: string[] = [];
    const reads = await rig.upstream.observe([ref('face-search'), ref('orders-sync'), ref('billing-sync')], {
      admit: async (i) => {
        const name = ['face-search', 'orders-sync', 'billing-sync'][i]!;
        asked.push(name);
        // A hands-off began on face-search and billing-sync since the pass decided to read.
        return name === 'orders-sync';
      },
    });
    expect(asked.sort()).toEqual(['billing-sync', 'face-search', 'orders-sync']);
    expect(reads[0]).toMatchObject({ observation: null, error: { code: 'NIGHTSHIFT.NOT_SENT' } });
    expect(reads[2]).toMatchObject({ observation: null, error: { code: 'NIGHTSHIFT.NOT_SENT' } });
    expect(reads[1]!.observation).not.toBeNull();
    expect(rig.sim.requestsTo(/\/tasks\/task-1$/)).toHaveLength(0);
    const batch = rig.sim.requests.filter((r) => r.path.includes('batch-status'));
    expect(batch).toHaveLength(1);
    expect(JSON.stringify(batch[0]!.body)).toContain('c7debc9c-8e09-4a5d-8dd6-cc44f78jb20r');
    expect(JSON.stringify(batch[0]!.body)).not.toContain('8d0e8e36-a618-490d-8a46-8c61ac9jb502');
  });

  it('never repeats a state-changing call that timed out: its answer may be lost after it was applied', async () => {
    rig = await startRig({ http: { timeoutMs: 150, maxRetries: 3 } });
    rig.sim.script({ path: '/tasks/task-1/' }, [{ kind: 'lost' }]);
    const [result] = await rig.run([{ target: 'face-search', action: 'start' }]);
    expect(result).toMatchObject({ ok: false, errorCode: 'NIGHTSHIFT.TIMEOUT', attempts: 1 });
    expect(result!.errorMessage).toMatch(
      /PUT \/v2\/\{project_id\}\/tasks\/\{task_id\}\/action\/start: no answer within 150 ms \(after 1 attempt\)/,
    );
    expect(rig.sim.requestsTo('/action/start')).toHaveLength(1);
    expect(rig.sim.viasState(PROJECT, 'task-1')).toBe('RUNNING');
  });

  it('really waits between attempts when the sleep is not replaced', async () => {
    rig = await startRig({ http: { sleep: undefined, baseDelayMs: 40, random: () => 1 } });
    rig.sim.script({ path: '/tasks/task-1/' }, [
      { kind: 'respond', status: 503 },
      { kind: 'respond', status: 503 },
    ]);
    const started = Date.now();
    const [result] = await rig.run([{ target: 'face-search', action: 'start' }]);
    expect(result!.ok).toBe(true);
    expect(Date.now() - started).toBeGreaterThanOrEqual(40 + 80 - 5);
  });
});

describe('bounded concurrency', () => {
  it('keeps at most the configured number of requests in flight per account', async () => {
    // Prepare
    const sim = new HuaweiSimulator({ latencyMs: 30 });
    const url = await sim.start();
    const http = new HttpClient({ maxInFlightPerAccount: 4 });
    // Act
    await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        http.request({ account: 'a', method: 'GET', url: `${url}/nothing/${i}`, call: 'GET /nothing' }),
      ),
    );
    const times = sim.requests.map((r) => r.at).sort((a, b) => a - b);
    // Assess: 20 requests, 4 at a time, 30 ms each: at least five waves
    expect(sim.requests).toHaveLength(20);
    expect(sim.peakInFlight).toBe(4);
    expect(times.at(-1)! - times[0]!).toBeGreaterThanOrEqual(4 * 30 - 10);
    await http.close();
    await sim.stop();
  });

  it('bounds each account separately', async () => {
    const sim = new HuaweiSimulator({ latencyMs: 30 });
    const url = await sim.start();
    const http = new HttpClient({ maxInFlightPerAccount: 3 });
    await Promise.all(
      Array.from({ length: 12 }, (_, i) =>
        http.request({
          account: i % 2 ? 'a' : 'b',
          method: 'GET',
          url: `${url}/nothing/${i}`,
          call: 'GET /nothing',
        }),
      ),
    );
    expect(sim.peakInFlight).toBe(6);
    await http.close();
    await sim.stop();
  });
});

describe('Retry-After parsing', () => {
  it('reads seconds and HTTP dates', () => {
    expect(parseRetryAfter('2')).toBe(2000);
    expect(parseRetryAfter('0.5')).toBe(500);
    expect(
      parseRetryAfter('Wed, 21 Oct 2026 07:28:10 GMT', Date.parse('Wed, 21 Oct 2026 07:28:00 GMT')),
    ).toBe(10_000);
    expect(parseRetryAfter('soon')).toBeUndefined();
    expect(parseRetryAfter(undefined)).toBeUndefined();
  });
});
