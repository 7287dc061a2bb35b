import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseConfigText } from '../../../functions/engine/config/parse-text.ts';
import { ConfigError, formatPath, validateConfig } from '../../../functions/engine/config/validate.ts';
import { type RawSchedule, rawConfig } from '../../helpers/config.ts';

function issuesOf(input: unknown): { path: string; message: string }[] {
  const result = validateConfig(input);
  if (result.ok) throw new Error('expected the config to be invalid');
  return result.issues;
}

const schedule = (more: Partial<RawSchedule> = {}): RawSchedule => ({
  id: 's',
  targets: ['face-search'],
  actions: [{ do: 'start', cron: '0 8 * * *' }],
  ...more,
});

describe('config validation', () => {
  it('accepts the example config and applies defaults', () => {
    // Act
    const result = validateConfig(JSON.parse(readFileSync('config/schedule.json', 'utf8')));
    // Assess
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.config.targets['billing-sync']).toMatchObject({
      pauseMode: 'target',
      allowStop: false,
      forceStop: false,
    });
    expect(result.config.targets['load-test']).toMatchObject({
      clusterType: 'shared-cluster-internet',
      clusterId: 0,
    });
    expect(result.config.webhook.secret).toBe('nightshift/webhook');
    expect(result.config.schedules[0]!.enabled).toBe(true);
  });

  it.each<[string, Record<string, unknown>, string, RegExp]>([
    ['unknown top-level field', { timezon: 'UTC' }, 'timezon', /unknown field "timezon"/],
    ['bad top-level zone', { timezone: 'Mars/Olympus' }, 'timezone', /not an IANA time zone/],
    ['wrong version', { version: 2 }, 'version', /must be 1/],
    [
      'unknown account field',
      { accounts: { prod: { region: 'cn-north-4', projectId: 'p1', secret: 's', token: 'x' } } },
      'accounts.prod.token',
      /unknown field "token"/,
    ],
    [
      'bad region',
      { accounts: { prod: { region: 'North 4', projectId: 'p1', secret: 's' } } },
      'accounts.prod.region',
      /region id/,
    ],
    [
      'bad endpoint',
      { accounts: { prod: { region: 'cn-north-4', projectId: 'p1', secret: 's', endpoint: 'ftp://x' } } },
      'accounts.prod.endpoint',
      /http/,
    ],
    [
      'missing secret',
      { accounts: { prod: { region: 'cn-north-4', projectId: 'p1' } } },
      'accounts.prod.secret',
      /required/,
    ],
    [
      'unknown kind',
      { targets: { t: { account: 'prod', kind: 'ecs-server', id: 'x' } } },
      'targets.t.kind',
      /kind must be one of/,
    ],
    [
      'bad DRS job id',
      { targets: { t: { account: 'prod', kind: 'drs-job', jobId: 'not-a-uuid' } } },
      'targets.t.jobId',
      /UUID/,
    ],
    [
      'bad pause mode',
      {
        targets: {
          t: {
            account: 'prod',
            kind: 'drs-job',
            jobId: 'c7debc9c-8e09-4a5d-8dd6-cc44f78jb20r',
            pauseMode: 'some',
          },
        },
      },
      'targets.t.pauseMode',
      /target|all/,
    ],
    [
      'CPTS ids must be integers',
      { targets: { t: { account: 'prod', kind: 'cpts-task', testSuiteId: '1', taskId: 1.5 } } },
      'targets.t.testSuiteId',
      /number/,
    ],
    [
      'unknown target field',
      { targets: { t: { account: 'prod', kind: 'vias-task', taskId: 'x', jobId: 'y' } } },
      'targets.t.jobId',
      /unknown field "jobId"/,
    ],
    [
      'unknown account',
      { targets: { t: { account: 'prdo', kind: 'vias-task', taskId: 'x' } } },
      'targets.t.account',
      /unknown account "prdo" \(did you mean "prod"\?\)/,
    ],
    [
      'unknown group member',
      { groups: { g: ['face-search', 'nobody'] } },
      'groups.g[1]',
      /unknown target or group "nobody"/,
    ],
    ['empty group', { groups: { g: [] } }, 'groups.g', /at least one/],
    [
      'group named like a target',
      { groups: { 'face-search': ['load-test'] } },
      'groups.face-search',
      /both a target and a group/,
    ],
    ['group cycle', { groups: { a: ['b'], b: ['c'], c: ['a'] } }, 'groups.a', /cycle: a -> b -> c -> a/],
    ['self cycle', { groups: { a: ['a'] } }, 'groups.a', /cycle: a -> a/],
  ])('%s', (_name, patch, path, message) => {
    // Act
    const issues = issuesOf({ ...rawConfig([schedule()]), ...patch });
    // Assess
    expect(issues).toContainEqual({ path, message: expect.stringMatching(message) });
  });

  it.each<[string, RawSchedule[], string, RegExp]>([
    [
      'unknown schedule field',
      [schedule({ enable: false })],
      'schedules[0].enable',
      /unknown field "enable"/,
    ],
    [
      'unknown action field',
      [schedule({ actions: [{ do: 'start', cron: '0 8 * * *', at: '08:00' }] })],
      'schedules[0].actions[0].at',
      /unknown field "at"/,
    ],
    [
      'duplicate ids',
      [schedule(), schedule({ id: 's' })],
      'schedules[1].id',
      /duplicate schedule id "s" \(also schedules\[0\]\)/,
    ],
    [
      'bad schedule zone',
      [schedule({ timezone: 'Berlin' })],
      'schedules[0].timezone',
      /not an IANA time zone/,
    ],
    [
      'bad cron',
      [schedule({ actions: [{ do: 'start', cron: '0 8 * *' }] })],
      'schedules[0].actions[0].cron',
      /five fields/,
    ],
    [
      'cron out of range',
      [schedule({ actions: [{ do: 'start', cron: '0 24 * * *' }] })],
      'schedules[0].actions[0].cron',
      /hour/,
    ],
    [
      'bad window',
      [schedule({ actions: undefined, window: 'weekdays 8-20' })],
      'schedules[0].window',
      /expected "DAYS HH:MM-HH:MM"/,
    ],
    [
      'unknown action',
      [schedule({ actions: [{ do: 'restart', cron: '0 8 * * *' }] })],
      'schedules[0].actions[0].do',
      /must be one of start, stop, pause, resume/,
    ],
    ['empty targets', [schedule({ targets: [] })], 'schedules[0].targets', /at least one/],
    [
      'unknown target',
      [schedule({ targets: ['face-serch'] })],
      'schedules[0].targets[0]',
      /unknown target or group "face-serch" \(did you mean "face-search"\?\)/,
    ],
    [
      'both actions and window',
      [schedule({ window: 'Mon 08:00-09:00' })],
      'schedules[0]',
      /both "actions" and "window"/,
    ],
    [
      'neither actions nor window',
      [schedule({ actions: undefined })],
      'schedules[0]',
      /either "actions" or "window"/,
    ],
    ['open without window', [schedule({ open: 'start' })], 'schedules[0].open', /only to a "window"/],
    [
      'bad skip date',
      [schedule({ skipDates: ['2027-02-30'] })],
      'schedules[0].skipDates[0]',
      /not a calendar date/,
    ],
    [
      'bad yearly skip date',
      [schedule({ skipDates: ['13-01'] })],
      'schedules[0].skipDates[0]',
      /not a day of the year/,
    ],
    [
      'bad action skip date',
      [schedule({ actions: [{ do: 'start', cron: '0 8 * * *', skipDates: ['Dec 25'] }] })],
      'schedules[0].actions[0].skipDates[0]',
      /YYYY-MM-DD/,
    ],
    [
      'action the kind lacks',
      [schedule({ actions: [{ do: 'pause', cron: '0 8 * * *' }] })],
      'schedules[0].actions[0].do',
      /target "face-search" is a vias-task, which has no action "pause" \(its actions: start, stop\)/,
    ],
    [
      'action a grouped target lacks',
      [schedule({ targets: ['replication'], actions: [{ do: 'start', cron: '0 8 * * *' }] })],
      'schedules[0].actions[0].do',
      /target "orders-sync" is a drs-job, which has no action "start" \(its actions: pause, resume, stop\)/,
    ],
    [
      'window open a target lacks',
      [
        schedule({
          targets: ['replication', 'face-search'],
          actions: undefined,
          window: 'Mon 08:00-09:00',
          open: 'start',
        }),
      ],
      'schedules[0].open',
      /"orders-sync" is a drs-job/,
    ],
    [
      'DRS stop without allowStop',
      [schedule({ targets: ['orders-sync'], actions: [{ do: 'stop', cron: '0 8 * * *' }] })],
      'schedules[0].actions[0].do',
      /ends DRS job "orders-sync" for good; set targets.orders-sync.allowStop to true/,
    ],
  ])('%s', (_name, schedules, path, message) => {
    // Act
    const issues = issuesOf(rawConfig(schedules));
    // Assess
    expect(issues).toContainEqual({ path, message: expect.stringMatching(message) });
  });

  it('allows a DRS stop once allowStop is true', () => {
    const config = rawConfig([
      schedule({ targets: ['orders-sync'], actions: [{ do: 'stop', cron: '0 8 * * *' }] }),
    ]);
    (config.targets as Record<string, Record<string, unknown>>)['orders-sync']!.allowStop = true;
    expect(validateConfig(config).ok).toBe(true);
  });

  it('reports every problem at once, structural and cross-reference alike', () => {
    // Prepare
    const input = {
      ...rawConfig([
        schedule({ timezone: 'Nowhere/City', targets: ['ghost'] }),
        schedule({ actions: [{ do: 'pause', cron: 'never' }] }),
      ]),
      extra: true,
      groups: { a: ['b'], b: ['a'] },
    };
    // Act
    const paths = issuesOf(input).map((i) => i.path);
    // Assess
    expect(paths).toEqual(
      expect.arrayContaining([
        'extra',
        'schedules[0].timezone',
        'schedules[0].targets[0]',
        'schedules[1].id',
        'schedules[1].actions[0].cron',
        'schedules[1].actions[0].do',
        'groups.a',
      ]),
    );
  });

  it('survives documents of the wrong shape', () => {
    for (const input of [null, 42, 'text', [], { schedules: 'x', targets: [], groups: 3 }]) {
      expect(validateConfig(input).ok).toBe(false);
    }
  });

  it('names the line and column of a JSON syntax error', () => {
    // Act
    const error = (() => {
      try {
        parseConfigText('{\n  "version": 1,\n  oops\n}', 'bad.json');
      } catch (e) {
        return e;
      }
    })();
    // Assess
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).issues[0]!.path).toMatch(/line 3, column 3/);
    expect((error as ConfigError).message).toMatch(/bad\.json/);
  });

  it('formats JSON paths', () => {
    expect(formatPath(['schedules', 1, 'actions', 0, 'cron'])).toBe('schedules[1].actions[0].cron');
    expect(formatPath(['targets', 'a b', 'kind'])).toBe('targets["a b"].kind');
    expect(formatPath(['targets', 'orders-sync', 'jobId'])).toBe('targets.orders-sync.jobId');
    expect(formatPath([])).toBe('(root)');
  });
});

describe('issue order', () => {
  it('lists problems in the order their places appear in the document', () => {
    // Prepare: a cross-reference problem (account) before a syntax problem (cron) in the file
    const input = rawConfig([{ id: 's', targets: ['face-search'], actions: [{ do: 'start', cron: 'bad' }] }]);
    (input.targets as Record<string, Record<string, unknown>>)['face-search']!.account = 'staging';
    // Act
    const result = validateConfig(input);
    // Assess
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.issues.map((i) => i.path)).toEqual([
      'targets.face-search.account',
      'schedules[0].actions[0].cron',
    ]);
  });
});

describe('DRS job ids as the console and the seed pages show them', () => {
  const withJob = (jobId: string) =>
    rawConfig([{ id: 's', targets: ['t'], actions: [{ do: 'pause', cron: '0 20 * * *' }] }], {
      targets: { t: { account: 'prod', kind: 'drs-job', jobId } },
      groups: {},
    });
  it.each(['8d0e8e36-a618-490d-8a46-8c61ac9jb502', 'c7debc9c-8e09-4a5d-8dd6-cc44f78jb20r'])(
    'accepts %s',
    (jobId) => {
      const result = validateConfig(withJob(jobId));
      expect(result.ok ? [] : result.issues).toEqual([]);
    },
  );
  it.each([
    ['upper case', '8D0E8E36-A618-490D-8A46-8C61AC9JB502'],
    ['no hyphens', '8d0e8e36a618490d8a468c61ac9jb502'],
    ['a stray character', '8d0e8e36-a618-490d-8a46-8c61ac9jb50_'],
  ])('refuses %s', (_label, jobId) => {
    expect(issuesOf(withJob(jobId)).map((i) => i.path)).toContain('targets.t.jobId');
  });
});
