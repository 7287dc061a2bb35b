import { GetSecretValueCommand } from '@aws-sdk/client-secrets-manager';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { awsContext } from '../../functions/handlers/aws-context.ts';
import { handler, TickInputError } from '../../functions/handlers/tick.ts';
import { PLACEHOLDER_SECRET } from '../../functions/stores/secrets.ts';
import { type AwsRig, startAwsRig } from '../helpers/aws-env.ts';
import { schedulerEvent } from '../helpers/events.ts';
import { PROJECT } from '../helpers/simulator.ts';

const MINUTE = 60_000;
const minuteAgo = (minutes: number) =>
  new Date(Math.floor(Date.now() / MINUTE) * MINUTE - minutes * MINUTE).toISOString();

describe('tick Lambda', () => {
  let rig: AwsRig;
  afterEach(async () => {
    vi.restoreAllMocks();
    await rig.stop();
  });

  const everyMinute = [
    {
      id: 'every-minute',
      targets: ['face-search'],
      timezone: 'UTC',
      actions: [{ do: 'start', cron: '* * * * *' }],
    },
  ];

  it('counts calendars whose deployed holiday data ends within 60 days in CalendarDataEnding', async () => {
    // Prepare: one calendar's data ends in 30 days, another's in a year
    const inDays = (days: number) => new Date(Date.now() + days * 86_400_000).toISOString().slice(0, 10);
    const data = (until: string) => ({
      source: 'test',
      from: '2020-01-01',
      until,
      holidays: {},
      workdays: {},
    });
    rig = await startAwsRig(
      [
        { id: 'a', targets: ['face-search'], calendar: 'soon', window: 'workdays 09:00-19:00' },
        { id: 'b', targets: ['face-search'], calendar: 'later', window: 'workdays 09:00-19:00' },
      ],
      undefined,
      {
        calendars: {
          soon: { country: 'CN', resolved: data(inDays(30)) },
          later: { country: 'DE', resolved: data(inDays(365)) },
        },
      },
    );
    const emf: string[] = [];
    vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => {
      emf.push(String(chunk));
      return true;
    });
    // Act
    await handler(schedulerEvent(minuteAgo(0)));
    // Assess
    const metrics = emf.filter((line) => line.includes('_aws')).map((line) => JSON.parse(line));
    expect(metrics.some((m) => m.CalendarDataEnding === 1)).toBe(true);
  });

  it('carries out what is due for the scheduled minute and returns a summary', async () => {
    // Prepare
    rig = await startAwsRig(everyMinute);
    const emf: string[] = [];
    vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => {
      emf.push(String(chunk));
      return true;
    });
    // Act
    const summary = await handler(schedulerEvent(minuteAgo(0)));
    // Assess
    expect(summary).toMatchObject({
      targets: 1,
      looked: 1,
      acted: 1,
      succeeded: 1,
      failed: 0,
      missed: 0,
      contended: 0,
    });
    expect(rig.sim.viasState(PROJECT, 'task-1')).toBe('RUNNING');
    const metrics = emf.filter((line) => line.includes('_aws')).map((line) => JSON.parse(line));
    expect(
      metrics.some(
        (m) => m.ActionsSucceeded === 1 && m._aws.CloudWatchMetrics[0].Namespace === 'NightshiftTest',
      ),
    ).toBe(true);
    expect(
      metrics.some((m) => m.UpstreamLatency !== undefined && m.kind === 'vias-task' && m.action === 'start'),
    ).toBe(true);
    const logs = emf.filter((line) => line.includes('"message":"action"')).map((line) => JSON.parse(line));
    expect(logs[0]).toMatchObject({
      correlationId: expect.any(String),
      target: 'face-search',
      result: 'succeeded',
    });
  });

  it('a tick delivered twice with the same scheduled time calls upstream once', async () => {
    rig = await startAwsRig(everyMinute);
    vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
    const event = schedulerEvent(minuteAgo(1));
    const [a, b] = await Promise.all([handler(event), handler(event)]);
    const c = await handler(event);
    expect(a.acted + b.acted + c.acted).toBe(1);
    expect(rig.sim.requestsTo('/action/start')).toHaveLength(1);
  });

  it('a DRS stop delivered 20 minutes late is recorded as missed and nothing is called', async () => {
    rig = await startAwsRig(
      [
        {
          id: 'retire',
          targets: ['retiring'],
          timezone: 'UTC',
          actions: [{ do: 'stop', cron: '* * * * *' }],
        },
      ],
      {
        retiring: {
          account: 'prod',
          kind: 'drs-job',
          jobId: '8d0e8e36-a618-490d-8a46-8c61ac9jb502',
          allowStop: true,
        },
      },
    );
    const out: string[] = [];
    for (const stream of [process.stdout, process.stderr]) {
      vi.spyOn(stream, 'write').mockImplementation((chunk) => {
        out.push(String(chunk));
        return true;
      });
    }
    const summary = await handler(schedulerEvent(minuteAgo(20)));
    expect(summary).toMatchObject({ acted: 0, missed: 1 });
    expect(rig.sim.requests).toHaveLength(0);
    expect(out.some((line) => line.includes('"ActionsMissed":1'))).toBe(true);
    expect(out.some((line) => line.includes('"message":"missed"'))).toBe(true);
  });

  it('counts upstream failures instead of throwing', async () => {
    rig = await startAwsRig(everyMinute);
    rig.sim.script({ path: '/action/start' }, [
      { kind: 'respond', status: 403, body: { error_code: 'APIGW.0302' } },
    ]);
    vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
    const summary = await handler(schedulerEvent(minuteAgo(0)));
    expect(summary).toMatchObject({ acted: 1, failed: 1 });
  });

  it('with 5 s left and a hanging upstream, returns before its deadline; the next invocation finishes', async () => {
    rig = await startAwsRig(everyMinute);
    vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
    rig.sim.script({ path: '/tasks/task-1' }, [{ kind: 'hang' }]);
    const deadline = Date.now() + 5_000;
    const context = { getRemainingTimeInMillis: () => deadline - Date.now(), awsRequestId: 'req-1' };
    const first = await handler(schedulerEvent(minuteAgo(1)), context);
    expect(Date.now()).toBeLessThan(deadline);
    expect(first).toMatchObject({ acted: 0, deferred: 1 });
    expect(rig.sim.viasState(PROJECT, 'task-1')).toBe('STOPPED');
    const second = await handler(schedulerEvent(minuteAgo(0)), {
      getRemainingTimeInMillis: () => 60_000,
      awsRequestId: 'req-2',
    });
    expect(second).toMatchObject({ acted: 1, succeeded: 1 });
    expect(rig.sim.viasState(PROJECT, 'task-1')).toBe('RUNNING');
  });

  it('refreshes the token secret after a 401 and succeeds', async () => {
    rig = await startAwsRig(everyMinute);
    vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
    await handler(schedulerEvent(minuteAgo(3)));
    rig.sim.revokeToken('sim-static-token-for-tests');
    rig.sim.addToken('rotated', PROJECT);
    rig.sim.addViasTask(PROJECT, 'task-1', 'STOPPED');
    // The ledger says the state is not reached yet, so the next tick looks again.
    const { ledger } = awsContext();
    const record = (await ledger.targets(['face-search'])).get('face-search')!;
    await ledger.putTarget({ ...record, version: record.version + 1, reached: false, tries: 1 });
    rig.secrets
      .on(GetSecretValueCommand, { SecretId: 'nightshift/prod' })
      .resolves({ SecretString: '{"token":"rotated"}' });
    const summary = await handler(schedulerEvent(minuteAgo(2)));
    expect(summary).toMatchObject({ succeeded: 1 });
    expect(rig.sim.requestsTo('/action/start')).toHaveLength(2);
    expect(rig.secrets).toHaveReceivedCommandTimes(GetSecretValueCommand, 2);
  });

  it('throws on a malformed event, and when the ledger cannot be reached, so the scheduler retries', async () => {
    rig = await startAwsRig(everyMinute);
    vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
    await expect(handler({} as never)).rejects.toThrow(TickInputError);
    await rig.dynamo.stop();
    process.env.AWS_ENDPOINT_URL_DYNAMODB = 'http://127.0.0.1:9';
    const { resetAwsContext } = await import('../../functions/handlers/aws-context.ts');
    resetAwsContext();
    await expect(handler(schedulerEvent(minuteAgo(0)))).rejects.toThrow();
    rig.dynamo.stop = async () => {};
  });

  it('an account secret still holding the placeholder: its targets not attempted, no failure, said once an hour', async () => {
    rig = await startAwsRig(
      [{ id: 'office', targets: ['face-search', 'orders-sync', 'load-test'], window: '00:00-24:00' }],
      {
        'face-search': { account: 'prod', kind: 'vias-task', taskId: 'task-1' },
        'orders-sync': { account: 'prod', kind: 'drs-job', jobId: 'c7debc9c-8e09-4a5d-8dd6-cc44f78jb20r' },
        'load-test': { account: 'prod', kind: 'cpts-task', testSuiteId: 1, taskId: 1 },
      },
    );
    rig.secrets
      .on(GetSecretValueCommand, { SecretId: 'nightshift/prod' })
      .resolves({ SecretString: PLACEHOLDER_SECRET });
    const out: string[] = [];
    for (const stream of [process.stdout, process.stderr])
      vi.spyOn(stream, 'write').mockImplementation((chunk) => {
        out.push(String(chunk));
        return true;
      });
    const hour = Math.floor(Date.now() / (60 * MINUTE)) * 60 * MINUTE;
    const lines = () => out.join('').split('\n').filter(Boolean);
    const said = () => lines().filter((l) => l.includes('"message":"secret not set"'));
    for (const scheduledTime of [hour + MINUTE, hour]) {
      out.length = 0;
      // A real EventBridge Scheduler input: {"scheduledTime": "<aws.scheduler.scheduled-time>"}.
      const summary = await handler(schedulerEvent(new Date(scheduledTime).toISOString()), {
        getRemainingTimeInMillis: () => 60_000,
        awsRequestId: `req-${scheduledTime}`,
      });
      expect(summary).toMatchObject({ notAttempted: 3, acted: 0, failed: 0, deferred: 0, warnings: [] });
      expect(summary.secretsNotSet).toEqual([
        expect.objectContaining({
          account: 'prod',
          secret: 'nightshift/prod',
          targets: ['face-search', 'load-test', 'orders-sync'],
        }),
      ]);
      const metrics = lines()
        .filter((l) => l.includes('"_aws"'))
        .map((l) => JSON.parse(l));
      expect(metrics.some((m) => m.SecretsNotSet === 1)).toBe(true);
      // No failed action (the alarm's metric), no unreadable status.
      expect(metrics.filter((m) => m.ActionsFailed !== undefined).map((m) => m.ActionsFailed)).toEqual([0]);
      expect(metrics.some((m) => m.StatusUnreadable !== undefined)).toBe(false);
      // Once an hour: at the top of the hour only.
      expect(said()).toHaveLength(scheduledTime === hour ? 1 : 0);
      // The placeholder is the secret's value: never in a log line or a metric.
      expect(out.join('')).not.toMatch(/Replace this whole value/);
    }
    expect(JSON.parse(said()[0]!)).toMatchObject({
      level: 'WARN',
      account: 'prod',
      secret: 'nightshift/prod',
      message: 'secret not set',
    });
    expect(rig.sim.requests).toEqual([]);
    const { ledger } = awsContext();
    expect([...(await ledger.targets(['face-search', 'orders-sync', 'load-test'])).keys()]).toEqual([]);
    expect(await ledger.history()).toEqual([]);
  });
});
