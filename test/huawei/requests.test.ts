import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { PROJECT, type Rig, startRig, TOKEN } from '../helpers/simulator.ts';

const JOB_A = 'c7debc9c-8e09-4a5d-8dd6-cc44f78jb20r';
const JOB_B = '8d0e8e36-a618-490d-8a46-8c61ac9jb502';

const targets = {
  'face-search': { account: 'prod', kind: 'vias-task', taskId: 'task-1' },
  'night-batch': { account: 'prod', kind: 'vias-batch-task', batchTaskId: 'batch-1' },
  'orders-sync': {
    account: 'prod',
    kind: 'drs-job',
    jobId: JOB_A,
    pauseMode: 'all',
    allowStop: true,
    forceStop: true,
  },
  'billing-sync': { account: 'prod', kind: 'drs-job', jobId: JOB_B },
  'load-test': {
    account: 'prod',
    kind: 'cpts-task',
    testSuiteId: 7,
    taskId: 42,
    clusterType: 'private-cluster',
    clusterId: 3,
    enterpriseProjectId: 'ep-1',
  },
  'shared-test': { account: 'prod', kind: 'cpts-task', testSuiteId: 1, taskId: 1 },
};

describe('the exact request of every operation, over loopback', () => {
  let rig: Rig;
  beforeEach(async () => {
    rig = await startRig({ targets });
  });
  afterEach(async () => {
    await rig.close();
  });

  const only = () => {
    expect(rig.sim.requests).toHaveLength(1);
    return rig.sim.requests[0]!;
  };

  it.each(['start', 'stop'] as const)(
    'vias-task %s: PUT /v2/{project_id}/tasks/{task_id}/action/{command}, no body',
    async (command) => {
      // Prepare
      if (command === 'stop') rig.sim.addViasTask(PROJECT, 'task-1', 'RUNNING');
      // Act
      const [result] = await rig.run([{ target: 'face-search', action: command }]);
      // Assess
      const req = only();
      expect(req.method).toBe('PUT');
      expect(req.path).toBe(`/v2/${PROJECT}/tasks/task-1/action/${command}`);
      expect(req.headers['x-auth-token']).toBe(TOKEN);
      expect(req.headers['content-type']).toBeUndefined();
      expect(req.body).toBeUndefined();
      expect(result).toMatchObject({
        target: 'face-search',
        kind: 'vias-task',
        action: command,
        ok: true,
        status: 'succeeded',
        httpStatus: 200,
        attempts: 1,
      });
      expect(rig.sim.viasState(PROJECT, 'task-1')).toBe(command === 'start' ? 'RUNNING' : 'STOPPED');
    },
  );

  it.each(['start', 'stop'] as const)(
    'vias-batch-task %s: PUT /v2/{project_id}/batch-tasks/{id}/action/{command}',
    async (command) => {
      const [result] = await rig.run([{ target: 'night-batch', action: command }]);
      const req = only();
      expect([req.method, req.path, req.body]).toEqual([
        'PUT',
        `/v2/${PROJECT}/batch-tasks/batch-1/action/${command}`,
        undefined,
      ]);
      expect(req.headers['x-auth-token']).toBe(TOKEN);
      expect(result).toMatchObject({ ok: true, status: 'succeeded', httpStatus: 200 });
    },
  );

  it('drs-job pause: POST batch-pause-task with the target pause_mode', async () => {
    const results = await rig.run([
      { target: 'orders-sync', action: 'pause' },
      { target: 'billing-sync', action: 'pause' },
    ]);
    const req = only();
    expect(req.method).toBe('POST');
    expect(req.path).toBe(`/v3/${PROJECT}/jobs/batch-pause-task`);
    expect(req.headers['content-type']).toBe('application/json');
    expect(req.headers['x-auth-token']).toBe(TOKEN);
    expect(req.body).toEqual({
      jobs: [
        { job_id: JOB_A, pause_mode: 'all' },
        { job_id: JOB_B, pause_mode: 'target' },
      ],
    });
    expect(results.map((r) => [r.target, r.ok])).toEqual([
      ['orders-sync', true],
      ['billing-sync', true],
    ]);
    expect(rig.sim.drsStatus(PROJECT, JOB_A)).toBe('PAUSING');
  });

  it('drs-job resume: POST batch-retry-task with job ids only', async () => {
    rig.sim.addDrsJob(PROJECT, JOB_B, 'PAUSING');
    const [result] = await rig.run([{ target: 'billing-sync', action: 'resume' }]);
    const req = only();
    expect([req.method, req.path]).toEqual(['POST', `/v3/${PROJECT}/jobs/batch-retry-task`]);
    expect(req.body).toEqual({ jobs: [{ job_id: JOB_B }] });
    expect(result).toMatchObject({ ok: true, status: 'succeeded' });
    expect(rig.sim.drsStatus(PROJECT, JOB_B)).toBe('INCRE_TRANSFER_STARTED');
  });

  it('drs-job stop: POST /v5/{project_id}/jobs/{job_id}/stop with is_force_stop from the target', async () => {
    const [result] = await rig.run([{ target: 'orders-sync', action: 'stop' }]);
    const req = only();
    expect([req.method, req.path, req.body]).toEqual([
      'POST',
      `/v5/${PROJECT}/jobs/${JOB_A}/stop`,
      { is_force_stop: true },
    ]);
    expect(req.headers['content-type']).toBe('application/json');
    expect(result).toMatchObject({ ok: true });
    expect(rig.sim.drsStatus(PROJECT, JOB_A)).toBe('RELEASE_RESOURCE_COMPLETE');
  });

  it('drs-job stop without allowStop is refused before any call', async () => {
    const [result] = await rig.run([{ target: 'billing-sync', action: 'stop' }]);
    expect(rig.sim.requests).toHaveLength(0);
    expect(result).toMatchObject({
      ok: false,
      status: 'failed',
      errorCode: 'NIGHTSHIFT.STOP_NOT_ALLOWED',
      attempts: 0,
    });
    expect(rig.sim.drsStatus(PROJECT, JOB_B)).toBe('INCRE_TRANSFER_STARTED');
  });

  it('the upstream itself refuses a DRS stop without allowStop, even when called directly', async () => {
    const target = rig.config.targets['billing-sync']!;
    const [outcome] = await rig.upstream.perform([
      {
        target: 'billing-sync',
        config: target,
        account: { name: 'prod', config: rig.config.accounts.prod! },
        action: 'stop',
      },
    ]);
    expect(outcome).toMatchObject({ ok: false, errorCode: 'NIGHTSHIFT.STOP_NOT_ALLOWED', attempts: 0 });
    expect(outcome!.errorMessage).toMatch(/ends DRS job "billing-sync" for good/);
    expect(rig.sim.requests).toHaveLength(0);
  });

  it.each([
    ['start', 9],
    ['stop', 2],
  ] as const)(
    'cpts-task %s: POST test-suites/{id}/tasks/{id} with status %i and the cluster of the target',
    async (command, status) => {
      if (command === 'stop') rig.sim.addCptsTask(PROJECT, 7, 42, 0);
      const [result] = await rig.run([{ target: 'load-test', action: command }]);
      const req = only();
      expect([req.method, req.path]).toEqual(['POST', `/v1/${PROJECT}/test-suites/7/tasks/42`]);
      expect(req.headers['content-type']).toBe('application/json');
      expect(req.body).toEqual({
        cluster_id: 3,
        cluster_type: 'private-cluster',
        without_package: 0,
        network_info: { network_type: 'internet' },
        status,
        enterprise_project_id: 'ep-1',
      });
      expect(result).toMatchObject({ ok: true, httpStatus: 200 });
      expect(rig.sim.cptsRunStatus(PROJECT, 42)).toBe(command === 'start' ? 0 : 2);
    },
  );

  it('cpts-task defaults: shared cluster 0 and no enterprise project', async () => {
    await rig.run([{ target: 'shared-test', action: 'start' }]);
    expect(only().body).toEqual({
      cluster_id: 0,
      cluster_type: 'shared-cluster-internet',
      without_package: 0,
      network_info: { network_type: 'internet' },
      status: 9,
    });
  });

  it('a dry run calls nothing', async () => {
    const results = await rig.run(
      [
        { target: 'face-search', action: 'start' },
        { target: 'orders-sync', action: 'pause' },
      ],
      { dryRun: true },
    );
    expect(rig.sim.requests).toHaveLength(0);
    expect(results.map((r) => r.status)).toEqual(['dry-run', 'dry-run']);
  });

  it('an action a kind lacks fails without a call and names the actions it has', async () => {
    const [result] = await rig.run([{ target: 'face-search', action: 'pause' }]);
    expect(rig.sim.requests).toHaveLength(0);
    expect(result).toMatchObject({ ok: false, errorCode: 'NIGHTSHIFT.UNSUPPORTED_ACTION' });
    expect(result!.errorMessage).toMatch(
      /vias-task, which has no action "pause" \(its actions: start, stop\)/,
    );
  });
});
