import { afterEach, describe, expect, it } from 'vitest';
import { PROJECT, type Rig, startRig } from '../helpers/simulator.ts';

const uuid = (i: number) => `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`;

function drsTargets(count: number, account = 'prod'): Record<string, unknown> {
  return Object.fromEntries(
    Array.from({ length: count }, (_, i) => [`job-${i}`, { account, kind: 'drs-job', jobId: uuid(i) }]),
  );
}

describe('DRS batching', () => {
  let rig: Rig;
  afterEach(async () => {
    await rig.close();
  });

  it('pauses 25 jobs in batch calls of at most ten and splits the results back per target', async () => {
    // Prepare
    rig = await startRig({ targets: drsTargets(25) });
    // Act
    const results = await rig.run(
      Array.from({ length: 25 }, (_, i) => ({ target: `job-${i}`, action: 'pause' })),
    );
    // Assess
    const calls = rig.sim.requestsTo('/jobs/batch-pause-task', 'POST');
    expect(calls.map((c) => (c.body as { jobs: unknown[] }).jobs.length).sort((a, b) => a - b)).toEqual([
      5, 10, 10,
    ]);
    const sent = calls.flatMap((c) => (c.body as { jobs: { job_id: string }[] }).jobs.map((j) => j.job_id));
    expect(new Set(sent).size).toBe(25);
    expect(results.map((r) => r.target)).toEqual(Array.from({ length: 25 }, (_, i) => `job-${i}`));
    expect(results.every((r) => r.ok && r.status === 'succeeded' && r.kind === 'drs-job')).toBe(true);
  });

  it('a partial batch failure fails only the jobs that failed, with their upstream code', async () => {
    // Prepare
    rig = await startRig({ targets: drsTargets(4) });
    rig.sim.script({ path: 'batch-pause-task' }, [{ kind: 'partial', jobIds: [uuid(1), uuid(3)] }]);
    // Act
    const results = await rig.run(
      Array.from({ length: 4 }, (_, i) => ({ target: `job-${i}`, action: 'pause' })),
    );
    // Assess
    expect(rig.sim.requestsTo('batch-pause-task')).toHaveLength(1);
    expect(results.map((r) => r.ok)).toEqual([true, false, true, false]);
    expect(results[1]).toMatchObject({ status: 'failed', httpStatus: 200, errorCode: 'DRS.10020001' });
    expect(results[1]!.errorMessage).toMatch(
      /POST \/v3\/\{project_id\}\/jobs\/batch-pause-task answered 200 but job .* failed: DRS.10020001/,
    );
  });

  it('a job that is not running cannot be paused, and a paused one resumes', async () => {
    rig = await startRig({ targets: drsTargets(2) });
    rig.sim.addDrsJob(PROJECT, uuid(1), 'PAUSING');
    const [pauseA, pauseB] = await rig.run([
      { target: 'job-0', action: 'pause' },
      { target: 'job-1', action: 'pause' },
    ]);
    expect(pauseA!.ok).toBe(true);
    expect(pauseB).toMatchObject({ ok: false, errorCode: 'DRS.10020005' });
    const [resume] = await rig.run([{ target: 'job-1', action: 'resume' }]);
    expect(resume!.ok).toBe(true);
    expect(rig.sim.drsStatus(PROJECT, uuid(1))).toBe('INCRE_TRANSFER_STARTED');
  });

  it('a whole-batch refusal fails every job of that batch with the upstream code', async () => {
    rig = await startRig({ targets: drsTargets(3) });
    rig.sim.script({ path: 'batch-retry-task' }, [
      {
        kind: 'respond',
        status: 400,
        body: { error_code: 'DRS.10000010', error_msg: 'Job does not exist, please check job id.' },
      },
    ]);
    const results = await rig.run([0, 1, 2].map((i) => ({ target: `job-${i}`, action: 'resume' })));
    expect(results.map((r) => [r.ok, r.httpStatus, r.errorCode])).toEqual([
      [false, 400, 'DRS.10000010'],
      [false, 400, 'DRS.10000010'],
      [false, 400, 'DRS.10000010'],
    ]);
    expect(results[0]!.errorMessage).toBe(
      'POST /v3/{project_id}/jobs/batch-retry-task answered 400 DRS.10000010: Job does not exist, please check job id.',
    );
  });
});

describe('success is judged per API', () => {
  let rig: Rig;
  afterEach(async () => {
    await rig.close();
  });

  it('VIAS batch: a 200 with failed_count > 0 is a failure that reports error_list', async () => {
    rig = await startRig();
    rig.sim.script({ path: '/batch-tasks/' }, [{ kind: 'partial', failedCount: 2 }]);
    const [result] = await rig.run([{ target: 'night-batch', action: 'start' }]);
    expect(result).toMatchObject({ ok: false, httpStatus: 200, errorCode: 'VIAS.BATCH_PARTIAL_FAILURE' });
    expect(result!.errorMessage).toMatch(
      /2 of 3 tasks failed: SIM: subtask 1 failed to start; SIM: subtask 2 failed to start/,
    );
  });

  it('VIAS task: a 200 carrying error_code is a failure', async () => {
    rig = await startRig();
    rig.sim.script({ path: '/tasks/task-1/' }, [
      { kind: 'respond', status: 200, body: { error_code: 'VIAS.500001', error_msg: 'engine busy' } },
    ]);
    const [result] = await rig.run([{ target: 'face-search', action: 'start' }]);
    expect(result).toMatchObject({ ok: false, httpStatus: 200, errorCode: 'VIAS.500001' });
    expect(result!.errorMessage).toBe(
      'PUT /v2/{project_id}/tasks/{task_id}/action/start answered 200 VIAS.500001: engine busy',
    );
  });

  it('VIAS task: a status_code other than 200 is a failure', async () => {
    rig = await startRig();
    rig.sim.script({ path: '/tasks/task-1/' }, [
      { kind: 'respond', status: 200, body: { id: 'task-1', status_code: 409, status_msg: 'conflict' } },
    ]);
    const [result] = await rig.run([{ target: 'face-search', action: 'start' }]);
    expect(result).toMatchObject({ ok: false, errorCode: 'VIAS.status_code.409' });
  });

  it('VIAS task: starting a running task is refused the way the service would', async () => {
    rig = await startRig();
    rig.sim.addViasTask(PROJECT, 'task-1', 'RUNNING');
    const [result] = await rig.run([{ target: 'face-search', action: 'start' }]);
    expect(result).toMatchObject({ ok: false, httpStatus: 400, errorCode: 'VIAS.400101', attempts: 1 });
  });

  it('CPTS: a 200 whose code is not SVCSTG.CPTS.0000000 is a failure', async () => {
    rig = await startRig();
    rig.sim.script({ path: '/test-suites/' }, [
      { kind: 'respond', status: 200, body: { code: 'SVCSTG.CPTS.4032002', message: 'task not found' } },
    ]);
    const [result] = await rig.run([{ target: 'load-test', action: 'start' }]);
    expect(result).toMatchObject({
      ok: false,
      httpStatus: 200,
      errorCode: 'SVCSTG.CPTS.4032002',
      attempts: 1,
    });
    expect(result!.errorMessage).toMatch(/answered 200 SVCSTG.CPTS.4032002: task not found/);
  });

  it('DRS stop: a 200 without status success is a failure', async () => {
    rig = await startRig({
      targets: { j: { account: 'prod', kind: 'drs-job', jobId: uuid(9), allowStop: true } },
    });
    rig.sim.script({ path: '/stop' }, [
      { kind: 'respond', status: 200, body: { error_code: 'DRS.10020010', error_msg: 'ended' } },
    ]);
    const [result] = await rig.run([{ target: 'j', action: 'stop' }]);
    expect(result).toMatchObject({ ok: false, errorCode: 'DRS.10020010' });
  });

  it('a non-JSON body is a clear failure, not a crash', async () => {
    rig = await startRig();
    rig.sim.script({ path: '/tasks/task-1/' }, [{ kind: 'non-json', status: 200 }]);
    const [result] = await rig.run([{ target: 'face-search', action: 'start' }]);
    expect(result).toMatchObject({ ok: false, httpStatus: 200, errorCode: 'NIGHTSHIFT.BAD_RESPONSE' });
    expect(result!.errorMessage).toMatch(/answered 200 with a body that is not JSON: "<html>/);
  });

  it('one failing target never stops the others', async () => {
    rig = await startRig();
    rig.sim.script({ path: '/tasks/task-1/' }, [{ kind: 'reset' }], { repeat: true });
    const results = await rig.run([
      { target: 'face-search', action: 'start' },
      { target: 'load-test', action: 'start' },
      { target: 'orders-sync', action: 'pause' },
    ]);
    expect(results.map((r) => r.ok)).toEqual([false, true, true]);
    expect(results[0]).toMatchObject({ errorCode: 'NIGHTSHIFT.NETWORK', attempts: 4 });
  });
});
