import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HttpClient } from '../../functions/huawei/http.ts';
import { HuaweiSimulator } from '../../functions/local/simulator.ts';

const P = 'proj1';
const JOB = 'c7debc9c-8e09-4a5d-8dd6-cc44f78jb20r';

describe('the Huawei Cloud simulator', () => {
  const sim = new HuaweiSimulator();
  const http = new HttpClient({ maxRetries: 0 });
  let url: string;
  beforeAll(async () => {
    url = await sim.start();
    sim.addToken('t', P);
    sim.addViasTask(P, 'v1', 'RUNNING');
    sim.addDrsJob(P, JOB, 'PAUSING');
    sim.addCptsTask(P, 1, 42, 0);
  });
  afterAll(async () => {
    await http.close();
    await sim.stop();
  });

  const call = (
    method: 'GET' | 'POST' | 'PUT',
    path: string,
    body?: unknown,
    headers: Record<string, string> = { 'x-auth-token': 't' },
  ) => http.request({ account: 'a', method, url: `${url}${path}`, call: path, headers, body });

  it('answers the status queries', async () => {
    expect((await call('GET', `/v2/${P}/tasks/v1`)).body).toEqual({ id: 'v1', state: 'RUNNING' });
    expect((await call('POST', `/v3/${P}/jobs/batch-status`, { jobs: [JOB] })).body).toEqual({
      results: [{ id: JOB, status: 'PAUSING' }],
      count: 1,
    });
    expect((await call('GET', `/v1/${P}/tasks/42`)).body).toMatchObject({ taskInfo: { run_status: 0 } });
  });

  it('checks tokens: missing, unknown, and scoped to another project', async () => {
    expect((await call('GET', `/v2/${P}/tasks/v1`, undefined, {})).status).toBe(401);
    expect(
      (await call('GET', `/v2/${P}/tasks/v1`, undefined, { 'x-auth-token': 'nope' })).body,
    ).toMatchObject({ error_code: 'APIGW.0301' });
    expect((await call('GET', `/v2/other/tasks/v1`)).status).toBe(401);
  });

  it('validates requests strictly', async () => {
    const tooMany = { jobs: Array.from({ length: 11 }, () => ({ job_id: JOB, pause_mode: 'target' })) };
    expect((await call('POST', `/v3/${P}/jobs/batch-pause-task`, tooMany)).status).toBe(400);
    expect(
      (
        await call('POST', `/v3/${P}/jobs/batch-pause-task`, {
          jobs: [{ job_id: 'nope', pause_mode: 'target' }],
        })
      ).body,
    ).toMatchObject({
      error_msg: 'The value of job_id must comply with the UUID rule.',
    });
    expect(
      (await call('POST', `/v3/${P}/jobs/batch-retry-task`, { jobs: [{ job_id: JOB, pause_mode: 'all' }] }))
        .status,
    ).toBe(400);
    expect((await call('POST', `/v1/${P}/test-suites/1/tasks/42`, { status: 9 })).body).toMatchObject({
      error_code: 'SVCSTG.CPTS.4001001',
    });
    expect((await call('PUT', `/v2/${P}/tasks/v1/action/restart`)).status).toBe(400);
    expect((await call('GET', `/v9/${P}/anything`)).status).toBe(404);
  });

  it('keeps a state machine per task', async () => {
    expect(
      (
        await call('POST', `/v3/${P}/jobs/batch-pause-task`, {
          jobs: [{ job_id: JOB, pause_mode: 'target' }],
        })
      ).body,
    ).toMatchObject({
      results: [{ status: 'failed', error_code: 'DRS.10020005' }],
    });
    expect(
      (await call('POST', `/v3/${P}/jobs/batch-retry-task`, { jobs: [{ job_id: JOB }] })).body,
    ).toMatchObject({
      results: [{ status: 'success' }],
    });
    expect(sim.drsStatus(P, JOB)).toBe('INCRE_TRANSFER_STARTED');
    expect((await call('POST', `/v5/${P}/jobs/${JOB}/stop`, { is_force_stop: false })).body).toMatchObject({
      status: 'success',
    });
    expect(
      (await call('POST', `/v3/${P}/jobs/batch-retry-task`, { jobs: [{ job_id: JOB }] })).body,
    ).toMatchObject({
      results: [{ status: 'failed' }],
    });
  });
});
