import { afterEach, describe, expect, it, vi } from 'vitest';
import { sign } from '../../functions/api/signature.ts';
import { handler } from '../../functions/handlers/api.ts';
import { type AwsRig, startAwsRig, WEBHOOK } from '../helpers/aws-env.ts';
import { httpApiEvent } from '../helpers/events.ts';
import { PROJECT } from '../helpers/simulator.ts';

const signedHeaders = (body: string, method = 'POST', target = '/v1/actions') => {
  const timestamp = String(Math.floor(Date.now() / 1000));
  return {
    'content-type': 'application/json',
    'x-nightshift-timestamp': timestamp,
    'x-nightshift-signature': sign(WEBHOOK, timestamp, method, target, body),
  };
};

describe('api Lambda (API Gateway HTTP API, payload v2)', () => {
  let rig: AwsRig;
  afterEach(async () => {
    vi.restoreAllMocks();
    await rig.stop();
  });

  const quiet = () => {
    vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
    vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
  };

  it('GET /v1/health', async () => {
    rig = await startAwsRig([]);
    quiet();
    const answer = await handler(httpApiEvent({ method: 'GET', path: '/v1/health' }));
    expect(answer).toMatchObject({ statusCode: 200, body: '{"ok":true}' });
    expect(answer.headers).toMatchObject({ 'content-type': 'application/json' });
  });

  it('POST /v1/actions with a plain body', async () => {
    // Prepare
    rig = await startAwsRig([]);
    quiet();
    const body = JSON.stringify({ action: 'start', targets: ['face-search'], reason: 'ci' });
    // Act
    const answer = await handler(
      httpApiEvent({ method: 'POST', path: '/v1/actions', headers: signedHeaders(body), body }),
    );
    // Assess
    expect(answer.statusCode).toBe(200);
    expect(JSON.parse(answer.body!).results[0]).toMatchObject({ target: 'face-search', status: 'succeeded' });
    expect(rig.sim.viasState(PROJECT, 'task-1')).toBe('RUNNING');
  });

  it('counts on-demand results in the action metrics, so a failure raises the alarm', async () => {
    // Prepare: stopping a task that is not running is refused upstream ("force" makes the call
    // although the status read shows it stopped).
    rig = await startAwsRig([]);
    const stdout: string[] = [];
    vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => {
      stdout.push(String(chunk));
      return true;
    });
    vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    const body = JSON.stringify({ action: 'stop', targets: ['face-search'], force: true });
    // Act
    const answer = await handler(
      httpApiEvent({ method: 'POST', path: '/v1/actions', headers: signedHeaders(body), body }),
    );
    // Assess
    expect(answer.statusCode).toBe(502);
    const metrics = stdout.filter((line) => line.includes('_aws')).map((line) => JSON.parse(line));
    expect(metrics.some((m) => m.ActionsFailed === 1 && m.ActionsSucceeded === 0)).toBe(true);
    expect(metrics.some((m) => m.UpstreamLatency !== undefined && m.kind === 'vias-task')).toBe(true);
  });

  it('POST /v1/actions with a base64-encoded body: the signature covers the decoded bytes', async () => {
    rig = await startAwsRig([]);
    quiet();
    const body = JSON.stringify({ action: 'pause', targets: ['replication'] });
    const answer = await handler(
      httpApiEvent({ method: 'POST', path: '/v1/actions', headers: signedHeaders(body), body, base64: true }),
    );
    expect(answer.statusCode).toBe(200);
    expect(JSON.parse(answer.body!).results).toHaveLength(2);
  });

  it('refuses a bad signature with 401 and a JSON error', async () => {
    rig = await startAwsRig([]);
    quiet();
    const body = JSON.stringify({ action: 'pause', targets: ['replication'] });
    const headers = { ...signedHeaders(body), 'x-nightshift-signature': `sha256=${'0'.repeat(64)}` };
    const answer = await handler(httpApiEvent({ method: 'POST', path: '/v1/actions', headers, body }));
    expect(answer.statusCode).toBe(401);
    expect(JSON.parse(answer.body!)).toEqual({
      error: { code: 'unauthorized', message: 'the signature does not match' },
    });
    expect(answer.body).not.toContain(WEBHOOK);
  });

  it('GET /v1/plan under a named stage', async () => {
    rig = await startAwsRig([
      {
        id: 'daily',
        targets: ['face-search'],
        timezone: 'UTC',
        actions: [{ do: 'start', cron: '0 * * * *' }],
      },
    ]);
    quiet();
    const answer = await handler(
      httpApiEvent({
        method: 'GET',
        path: '/v1/plan',
        stage: 'prod',
        query: { hours: '3' },
        // The target as sent, the stage included.
        headers: signedHeaders('', 'GET', '/prod/v1/plan?hours=3'),
      }),
    );
    expect(answer.statusCode).toBe(200);
    expect(JSON.parse(answer.body!)).toHaveLength(3);
  });

  it('the same Idempotency-Key across invocations returns the first answer from DynamoDB', async () => {
    rig = await startAwsRig([]);
    quiet();
    const body = JSON.stringify({ action: 'start', targets: ['face-search'] });
    const event = () =>
      httpApiEvent({
        method: 'POST',
        path: '/v1/actions',
        headers: { ...signedHeaders(body), 'idempotency-key': 'chatops-77' },
        body,
      });
    const first = await handler(event());
    const second = await handler(event());
    expect(second.body).toBe(first.body);
    expect(second.headers).toMatchObject({ 'idempotency-replayed': 'true' });
    expect(rig.sim.requestsTo('/action/start')).toHaveLength(1);
  });
});
