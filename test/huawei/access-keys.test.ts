import { afterEach, describe, expect, it } from 'vitest';
import { HttpClient } from '../../functions/huawei/http.ts';
import { parseAuthorization, signRequest } from '../../functions/huawei/signer.ts';
import { PROJECT, type Rig, startRig } from '../helpers/simulator.ts';

const AK = 'HPUAK4NIGHTSHIFT0001';
const SK = 'sk-for-the-simulator-only-0123456789abcdef';
const SECURITY_TOKEN = 'gQpjbi1ub3J0aC00-temporary-security-token-0001';
const JOB_A = 'c7debc9c-8e09-4a5d-8dd6-cc44f78jb20r';
const JOB_B = '8d0e8e36-a618-490d-8a46-8c61ac9jb502';
const MINUTE = 60_000;

const targets = {
  'face-search': { account: 'prod', kind: 'vias-task', taskId: 'task-1' },
  'night-batch': { account: 'prod', kind: 'vias-batch-task', batchTaskId: 'batch-1' },
  'orders-sync': { account: 'prod', kind: 'drs-job', jobId: JOB_A, pauseMode: 'all' },
  'billing-sync': { account: 'prod', kind: 'drs-job', jobId: JOB_B },
  'load-test': {
    account: 'prod',
    kind: 'cpts-task',
    testSuiteId: 7,
    taskId: 42,
    clusterType: 'private-cluster',
    clusterId: 3,
    // Multi-byte characters: the body's UTF-8 bytes are what is hashed, not its UTF-16 string.
    enterpriseProjectId: '夜班-ep-1',
  },
};

describe('access keys: calls signed with SDK-HMAC-SHA256, checked by the simulator over loopback', () => {
  let rig: Rig;
  afterEach(async () => {
    await rig.close();
  });

  it('signs every kind of call with the access key and fetches no token', async () => {
    // Prepare
    rig = await startRig({ targets, secret: { aksk: { ak: AK, sk: SK } } });
    rig.sim.addAccessKey({ ak: AK, sk: SK, projectId: PROJECT });
    // Act
    const results = await rig.run([
      { target: 'face-search', action: 'start' },
      { target: 'night-batch', action: 'start' },
      { target: 'orders-sync', action: 'pause' },
      { target: 'billing-sync', action: 'pause' },
      { target: 'load-test', action: 'start' },
    ]);
    // Assess
    expect(results.map((r) => [r.target, r.ok, r.attempts])).toEqual([
      ['face-search', true, 1],
      ['night-batch', true, 1],
      ['orders-sync', true, 1],
      ['billing-sync', true, 1],
      ['load-test', true, 1],
    ]);
    expect(rig.sim.requestsTo('/v3/auth/tokens')).toHaveLength(0);
    expect(rig.sim.requests).toHaveLength(4);
    for (const req of rig.sim.requests) {
      const auth = parseAuthorization(String(req.headers.authorization));
      expect(auth?.access).toBe(AK);
      expect(req.headers['x-auth-token']).toBeUndefined();
      expect(req.headers['x-security-token']).toBeUndefined();
      expect(req.headers['x-project-id']).toBe(PROJECT);
      expect(req.headers['x-sdk-date']).toMatch(/^\d{8}T\d{6}Z$/);
      const withBody = req.body !== undefined;
      expect(auth?.signedHeaders).toEqual(
        withBody
          ? ['accept', 'content-type', 'host', 'x-project-id', 'x-sdk-date']
          : ['accept', 'host', 'x-project-id', 'x-sdk-date'],
      );
    }
    // The batch and the CPTS body went out as JSON, and the simulator accepted their signatures
    // over the bytes it received.
    expect(rig.sim.requestsTo('/jobs/batch-pause-task')[0]!.body).toEqual({
      jobs: [
        { job_id: JOB_A, pause_mode: 'all' },
        { job_id: JOB_B, pause_mode: 'target' },
      ],
    });
    expect(rig.sim.requestsTo('/test-suites/7/tasks/42')[0]!.body).toMatchObject({
      enterprise_project_id: '夜班-ep-1',
    });
  });

  it('signs DRS batches of more than ten jobs, one signature per batch body', async () => {
    // Prepare: twelve jobs go out in a batch of ten and a batch of two
    const many = Object.fromEntries(
      Array.from({ length: 12 }, (_, i) => [
        `job-${i}`,
        {
          account: 'prod',
          kind: 'drs-job',
          jobId: `8d0e8e36-a618-490d-8a46-8c61ac9jb${String(i).padStart(3, '0')}`,
        },
      ]),
    );
    rig = await startRig({ targets: many, secret: { aksk: { ak: AK, sk: SK } } });
    rig.sim.addAccessKey({ ak: AK, sk: SK, projectId: PROJECT });
    // Act
    const results = await rig.run(Object.keys(many).map((target) => ({ target, action: 'pause' as const })));
    // Assess
    expect(results.every((r) => r.ok)).toBe(true);
    const batches = rig.sim.requestsTo('/jobs/batch-pause-task');
    expect(batches.map((r) => (r.body as { jobs: unknown[] }).jobs.length).sort()).toEqual([10, 2]);
    const signatures = batches.map((r) => parseAuthorization(String(r.headers.authorization))!.signature);
    expect(new Set(signatures).size).toBe(2);
  });

  it('sends a temporary key’s X-Security-Token, signed', async () => {
    // Prepare
    rig = await startRig({
      targets,
      secret: { aksk: { ak: AK, sk: SK, securityToken: SECURITY_TOKEN } },
    });
    rig.sim.addAccessKey({ ak: AK, sk: SK, projectId: PROJECT, securityToken: SECURITY_TOKEN });
    // Act
    const [result] = await rig.run([{ target: 'face-search', action: 'start' }]);
    // Assess
    expect(result).toMatchObject({ ok: true, attempts: 1 });
    const [req] = rig.sim.requests;
    expect(req!.headers['x-security-token']).toBe(SECURITY_TOKEN);
    expect(parseAuthorization(String(req!.headers.authorization))!.signedHeaders).toEqual([
      'accept',
      'host',
      'x-project-id',
      'x-sdk-date',
      'x-security-token',
    ]);
  });

  it('refuses a temporary key sent without its security token', async () => {
    rig = await startRig({ targets, secret: { aksk: { ak: AK, sk: SK } } });
    rig.sim.addAccessKey({ ak: AK, sk: SK, projectId: PROJECT, securityToken: SECURITY_TOKEN });
    const [result] = await rig.run([{ target: 'face-search', action: 'start' }]);
    expect(result).toMatchObject({ ok: false, httpStatus: 401, errorCode: 'APIGW.0301', attempts: 2 });
    expect(result!.errorMessage).toMatch(/a temporary access key needs X-Security-Token/);
  });

  it('answers a wrong signature with 401 and an APIGW-style error body, after one retry', async () => {
    // Prepare: the secret holds a secret key the gateway does not know
    rig = await startRig({ targets, secret: { aksk: { ak: AK, sk: 'not-the-right-secret-key' } } });
    rig.sim.addAccessKey({ ak: AK, sk: SK, projectId: PROJECT });
    // Act
    const [result] = await rig.run([{ target: 'face-search', action: 'start' }]);
    // Assess: the secret was read again once, the call repeated once, and both refused
    expect(result).toMatchObject({ ok: false, httpStatus: 401, errorCode: 'APIGW.0301', attempts: 2 });
    expect(result!.errorMessage).toMatch(
      /PUT \/v2\/\{project_id\}\/tasks\/\{task_id\}\/action\/start answered 401 APIGW\.0301: Incorrect IAM authentication information: verify aksk signature fail/,
    );
    expect(rig.sim.requests).toHaveLength(2);
    expect(rig.sim.viasState(PROJECT, 'task-1')).toBe('STOPPED');
  });

  it('refuses a body changed after signing: the signature covers the exact bytes sent', async () => {
    // Prepare: a signer that signs one serialization of the batch while another goes out
    rig = await startRig({ targets });
    rig.sim.addAccessKey({ ak: AK, sk: SK, projectId: PROJECT });
    const http = new HttpClient({ maxRetries: 0 });
    const url = `${rig.sim.url}/v3/${PROJECT}/jobs/batch-pause-task`;
    const body = { jobs: [{ job_id: JOB_A, pause_mode: 'target' }] };
    const send = (bytesFor: (sent: Uint8Array) => Uint8Array) =>
      http.request({
        account: 'prod',
        method: 'POST',
        url,
        call: 'POST /v3/{project_id}/jobs/batch-pause-task',
        headers: { 'x-project-id': PROJECT },
        body,
        sign: ({ method, url: u, headers, body: sent }) => {
          const host = u.host;
          const signed = signRequest(
            { method, target: u.pathname, headers: { ...headers, host }, body: bytesFor(sent!) },
            { ak: AK, sk: SK },
            Date.now(),
          );
          return { host, ...signed };
        },
      });
    try {
      // Act
      const exact = await send((sent) => sent);
      const reformatted = await send(() => Buffer.from(JSON.stringify(body, null, 1)));
      // Assess
      expect(exact.status).toBe(200);
      expect(reformatted.status).toBe(401);
      expect(reformatted.body).toEqual({
        error_code: 'APIGW.0301',
        error_msg: 'Incorrect IAM authentication information: verify aksk signature fail',
        request_id: expect.any(String),
      });
    } finally {
      await http.close();
    }
  });

  it.each([
    ['16 minutes fast', 16 * MINUTE, false],
    ['16 minutes slow', -16 * MINUTE, false],
    ['14 minutes fast', 14 * MINUTE, true],
  ])('refuses an X-Sdk-Date more than 15 minutes off with its own error (%s)', async (_name, skew, ok) => {
    // Prepare: Nightshift's clock differs from the gateway's
    const now = Date.parse('2027-01-01T08:00:00Z');
    rig = await startRig({
      targets,
      secret: { aksk: { ak: AK, sk: SK } },
      now: () => now,
      clientNow: () => now + skew,
    });
    rig.sim.addAccessKey({ ak: AK, sk: SK, projectId: PROJECT });
    // Act
    const [result] = await rig.run([{ target: 'face-search', action: 'start' }]);
    // Assess
    if (ok) {
      expect(result).toMatchObject({ ok: true });
      return;
    }
    expect(result).toMatchObject({ ok: false, httpStatus: 401, errorCode: 'APIGW.0301' });
    expect(result!.errorMessage).toMatch(
      /signature expired, signature time:\d{8}T\d{6}Z,server time:20270101T080000Z/,
    );
    expect(result!.errorMessage).not.toMatch(/verify aksk signature fail/);
  });

  it('picks up a rotated access key after a 401 and repeats the call once', async () => {
    // Prepare: the old key was deleted and the secret now holds the new one
    rig = await startRig({ targets, secret: { aksk: { ak: AK, sk: SK } } });
    rig.sim.addAccessKey({ ak: AK, sk: SK, projectId: PROJECT });
    await rig.run([{ target: 'face-search', action: 'start' }]);
    rig.sim.accessKeys.revoke(AK);
    rig.sim.addAccessKey({ ak: 'HPUAK4NIGHTSHIFT0002', sk: 'the-new-secret-key', projectId: PROJECT });
    rig.secrets.set('nightshift/prod', { aksk: { ak: 'HPUAK4NIGHTSHIFT0002', sk: 'the-new-secret-key' } });
    // Act
    const [result] = await rig.run([{ target: 'face-search', action: 'stop' }]);
    // Assess
    expect(result).toMatchObject({ ok: true, attempts: 2 });
    const stops = rig.sim.requestsTo('/action/stop');
    expect(stops.map((r) => parseAuthorization(String(r.headers.authorization))!.access)).toEqual([
      AK,
      'HPUAK4NIGHTSHIFT0002',
    ]);
  });

  it('refuses a key used for another project', async () => {
    rig = await startRig({ targets, secret: { aksk: { ak: AK, sk: SK } } });
    rig.sim.addAccessKey({ ak: AK, sk: SK, projectId: 'another-project' });
    const [result] = await rig.run([{ target: 'face-search', action: 'start' }]);
    expect(result).toMatchObject({ ok: false, httpStatus: 401, errorCode: 'APIGW.0301' });
    expect(result!.errorMessage).toMatch(/X-Project-Id does not match/);
  });

  it('never shows the AK, SK or security token, even when the gateway quotes them back', async () => {
    // Prepare: a gateway answer that names the key and token it refused
    rig = await startRig({
      targets,
      secret: { aksk: { ak: AK, sk: SK, securityToken: SECURITY_TOKEN } },
    });
    rig.sim.script({ path: '/action/start' }, [
      {
        kind: 'respond',
        status: 401,
        body: {
          error_code: 'APIGW.0301',
          error_msg: `Incorrect IAM authentication information: ak ${AK} with token ${SECURITY_TOKEN} sk ${SK}`,
        },
      },
      {
        kind: 'respond',
        status: 403,
        body: { error_code: 'APIGW.0302', error_msg: `${AK} lacks permission` },
      },
    ]);
    // Act
    const [result] = await rig.run([{ target: 'face-search', action: 'start' }]);
    // Assess
    expect(result).toMatchObject({ ok: false, httpStatus: 403, errorCode: 'APIGW.0302', attempts: 2 });
    const shown = JSON.stringify(result);
    for (const secret of [AK, SK, SECURITY_TOKEN]) expect(shown).not.toContain(secret);
    expect(result!.errorMessage).toMatch(/\[REDACTED\] lacks permission/);
  });
});
