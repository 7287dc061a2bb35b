import { afterEach, describe, expect, it, vi } from 'vitest';
import { sign } from '../../functions/api/signature.ts';
import { handler as api } from '../../functions/handlers/api.ts';
import { awsContext } from '../../functions/handlers/aws-context.ts';
import { handler as tick } from '../../functions/handlers/tick.ts';
import { type AwsRig, startAwsRig, WEBHOOK } from '../helpers/aws-env.ts';
import { httpApiEvent, schedulerEvent } from '../helpers/events.ts';
import { PROJECT } from '../helpers/simulator.ts';

const MINUTE = 60_000;
const thisMinute = () => Math.floor(Date.now() / MINUTE) * MINUTE;

/** A request as API Gateway hands it to the api Lambda, signed as a client would. */
const signed = (method: string, path: string, body = '', query?: Record<string, string>) => {
  const timestamp = String(Math.floor(Date.now() / 1000));
  return httpApiEvent({
    method,
    path,
    ...(body ? { body } : {}),
    ...(query ? { query } : {}),
    headers: {
      'content-type': 'application/json',
      'x-nightshift-timestamp': timestamp,
      'x-nightshift-signature': sign(
        WEBHOOK,
        timestamp,
        method,
        query ? `${path}?${new URLSearchParams(query)}` : path,
        body,
      ),
    },
  });
};

describe('overrides on AWS: api and tick Lambdas, DynamoDB ledger on dynalite', () => {
  let rig: AwsRig;
  const out: string[] = [];
  afterEach(async () => {
    vi.restoreAllMocks();
    out.splice(0);
    await rig.stop();
  });
  const capture = () => {
    vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => {
      out.push(String(chunk));
      return true;
    });
    vi.spyOn(process.stderr, 'write').mockImplementation((chunk) => {
      out.push(String(chunk));
      return true;
    });
  };
  const everyMinute = [
    {
      id: 'every-minute',
      targets: ['face-search'],
      timezone: 'UTC',
      actions: [{ do: 'start', cron: '* * * * *' }],
    },
  ];

  it('POST, GET and DELETE /v1/overrides and GET /v1/status through API Gateway events; unsigned is 401', async () => {
    rig = await startAwsRig(everyMinute);
    capture();
    const body = JSON.stringify({
      targets: ['face-search'],
      state: 'hands-off',
      until: new Date(Date.now() + 3600_000).toISOString(),
      reason: 'vendor maintenance',
    });
    const created = await api(signed('POST', '/v1/overrides', body));
    expect(created.statusCode).toBe(201);
    const override = JSON.parse(created.body!);
    expect(JSON.parse((await api(signed('GET', '/v1/overrides'))).body!)).toEqual({ overrides: [override] });
    const status = await api(signed('GET', '/v1/status', '', { target: 'face-search' }));
    expect(JSON.parse(status.body!).targets[0]).toMatchObject({
      desired: 'hands-off',
      override: override.id,
    });
    expect((await api(httpApiEvent({ method: 'GET', path: '/v1/overrides' }))).statusCode).toBe(401);
    expect(
      (await api(httpApiEvent({ method: 'DELETE', path: `/v1/overrides/${override.id}` }))).statusCode,
    ).toBe(401);
    expect((await api(signed('DELETE', `/v1/overrides/${override.id}`))).statusCode).toBe(200);
    // Signed anew (another query): the same signature twice would be a replay.
    expect((await api(signed('DELETE', `/v1/overrides/${override.id}`, '', { again: '1' }))).statusCode).toBe(
      404,
    );
    expect((await api(signed('GET', '/v1/history', '', { limit: '5' }))).statusCode).toBe(200);
  });

  it('the tick honours a hands-off override stored by the api Lambda: no call; metrics for active overrides, targets out of sync and overrides ending', async () => {
    // Prepare
    rig = await startAwsRig(everyMinute);
    capture();
    // Its 30-minute notice falls in the minute the tick evaluates.
    const next = thisMinute() + MINUTE;
    const until = new Date(next + 30 * MINUTE).toISOString();
    const body = JSON.stringify({
      targets: ['face-search'],
      state: 'hands-off',
      until,
      reason: 'DBA at work',
    });
    expect((await api(signed('POST', '/v1/overrides', body))).statusCode).toBe(201);
    const before = rig.sim.requests.length;
    // Act
    const summary = await tick(schedulerEvent(new Date(next).toISOString()));
    // Assess: no request of any kind, and the figures for the dashboard.
    expect(rig.sim.requests.length).toBe(before);
    expect(summary).toMatchObject({ looked: 0, acted: 0 });
    expect(rig.sim.viasState(PROJECT, 'task-1')).not.toBe('RUNNING');
    const lines = out.filter((l) => l.startsWith('{')).map((l) => JSON.parse(l));
    const emf = lines.filter((l) => l._aws);
    expect(emf).toContainEqual(
      expect.objectContaining({ OverridesActive: 1, OverridesExpiring: 1, TargetsOutOfSync: 0 }),
    );
    expect(lines).toContainEqual(
      expect.objectContaining({ message: expect.stringMatching(/^override ending in 30 minutes/), until }),
    );

    // Act: the override is removed; the next tick starts the task again.
    const [stored] = await awsContext().ledger.overrides(Date.now());
    await awsContext().ledger.removeOverride(stored!.id);
    await tick(schedulerEvent(new Date(next + MINUTE).toISOString()));
    expect(rig.sim.viasState(PROJECT, 'task-1')).toBe('RUNNING');
  });
});
