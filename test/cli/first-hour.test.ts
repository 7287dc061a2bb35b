import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../functions/engine/config/validate.ts';
import { HuaweiSimulator } from '../../functions/local/simulator.ts';
import { PLACEHOLDER_SECRET } from '../../functions/stores/secrets.ts';
import { runCli } from '../helpers/cli.ts';
import { rawConfig } from '../helpers/config.ts';
import { PROJECT, TOKEN } from '../helpers/simulator.ts';

/**
 * Issue 20, "the first hour and the on-call night": the findings a new user and an on-call
 * engineer ran into, each as a test, through the CLI in this process. The example config is the
 * one users start from: top-level zone Asia/Shanghai, its office-hours schedule in Europe/Berlin.
 */

const tempDir = (name: string) => mkdtempSync(join(tmpdir(), `nightshift-${name}-`));

describe('finding 1: an override time is read on the clock of the schedules it beats', () => {
  // Tuesday 2026-12-01 21:39 in Berlin (CET, UTC+1): 20:39Z.
  const now = () => new Date('2026-12-01T20:39:00Z');
  const state = tempDir('finding-1');
  const cli = (args: string[]) => runCli(args, { now, env: {} });

  it('"tomorrow 20:00" for billing-sync (office-hours, Berlin) is 20:00 in Berlin, echoed both ways', async () => {
    const added = await cli([
      'override',
      'add',
      '--target',
      'billing-sync',
      '--state',
      'running',
      '--until',
      'tomorrow 20:00',
      '--reason',
      'month-end run',
      '--state-dir',
      state,
    ]);
    expect(added.code).toBe(0);
    // Before: "until 2026-12-02 20:00 Asia/Shanghai (2026-12-02T12:00:00Z)", the config's zone.
    expect(added.stdout).toContain('until 2026-12-02 20:00 Europe/Berlin (2026-12-02T19:00:00Z)');
    expect(added.stdout).toContain('from  2026-12-01 21:39 Europe/Berlin (2026-12-01T20:39:00Z)');
  });

  it('targets whose schedules run in different zones need --tz for a wall-clock time', async () => {
    const args = [
      'override',
      'add',
      '--target',
      'billing-sync',
      '--target',
      'load-test',
      '--state',
      'running',
    ];
    const rest = ['--reason', 'release', '--state-dir', state];
    const ambiguous = await cli([...args, '--until', '23:00', ...rest]);
    expect(ambiguous.code).toBe(2);
    expect(ambiguous.stderr).toMatch(
      /the schedules of billing-sync, load-test run in Europe\/Berlin \(office-hours\) and Asia\/Shanghai \(nightly-load-test\): say which zone the times are in with --tz ZONE/,
    );
    const told = await cli([...args, '--until', '23:00', '--tz', 'Asia/Shanghai', ...rest]);
    expect(told.code).toBe(0);
    // 20:39Z is already 04:39 on 2 December in Shanghai: the next 23:00 there.
    expect(told.stdout).toContain('until 2026-12-02 23:00 Asia/Shanghai (2026-12-02T15:00:00Z)');
    // An ISO instant is not ambiguous: no --tz needed.
    const iso = await cli([...args, '--until', '2026-12-02T06:00:00Z', ...rest]);
    expect(iso.code).toBe(0);
  });

  it('plan --explain shows the override, the rows it overrules, and the schedules taking over at its end', async () => {
    // Prepare: on call at 21:39, billing-sync is to stay paused tonight and all of tomorrow's
    // office hours, until tomorrow 20:00 when the schedule closes the window anyway.
    const own = tempDir('finding-1-plan');
    const added = await cli([
      'override',
      'add',
      '--target',
      'billing-sync',
      '--state',
      'paused',
      '--until',
      'tomorrow 20:00',
      '--reason',
      'schema migration',
      '--state-dir',
      own,
      '--json',
    ]);
    const { id } = JSON.parse(added.stdout) as { id: string };
    const window = ['--state', own, '--from', '2026-12-01T20:00:00Z', '--to', '2026-12-02T20:00:00Z'];
    // Act
    const rows = JSON.parse((await cli(['plan', '--explain', '--json', ...window])).stdout) as Record<
      string,
      unknown
    >[];
    const table = await cli(['plan', '--explain', '--tz', 'Europe/Berlin', ...window]);
    // Assess: the 08:00 Berlin resume does nothing to billing-sync, which the override holds;
    // the 20:00 close comes as the override ends, and the schedule applies again.
    const override = rows.find((r) => r.override === id)!;
    const resume = rows.find((r) => r.schedule === 'office-hours' && r.action === 'resume')!;
    const close = rows.find((r) => r.schedule === 'office-hours' && r.action === 'pause')!;
    expect(resume).toMatchObject({ at: '2026-12-02T07:00:00Z', overriddenBy: { 'billing-sync': id } });
    expect(close).toMatchObject({ at: '2026-12-02T19:00:00Z', desired: { 'billing-sync': 'paused' } });
    expect(close.overriddenBy).toBeUndefined();
    expect(override).toMatchObject({
      at: '2026-12-01T20:39:00.000Z',
      state: 'paused',
      until: '2026-12-02T19:00:00.000Z',
      overrules: [
        { at: '2026-12-02T07:00:00Z', schedule: 'office-hours', action: 'resume', targets: ['billing-sync'] },
      ],
    });
    expect(table.stdout).toMatch(
      new RegExp(
        `2026-12-02 08:00\\s+office-hours\\s+resume\\s+orders-sync, billing-sync\\s+running \\(not done: held by override, billing-sync by ${id}\\)`,
      ),
    );
    expect(table.stdout).toMatch(
      new RegExp(`2026-12-01 21:39\\s+override ${id}\\s+paused until 2026-12-02 20:00`),
    );
  });
});

describe('finding 8: one zone per output, named, chosen with --tz', () => {
  it('plan and status name their one zone; --tz picks another; a typo gets a "did you mean"', async () => {
    const args = ['plan', '--from', '2027-03-29T00:00:00Z', '--to', '2027-03-29T12:00:00Z'];
    const shanghai = await runCli(args);
    expect(shanghai.stdout).toMatch(/^Times in Asia\/Shanghai \(UTC\+08:00 now\)\.$/m);
    expect(shanghai.stdout).toMatch(/2027-03-29 14:00\s+office-hours\s+resume/);
    const typo = await runCli([...args, '--tz', 'Europe/Berln']);
    expect(typo.code).toBe(2);
    expect(typo.stderr).toMatch(
      /--tz: "Europe\/Berln" is not an IANA time zone \(did you mean "Europe\/Berlin"\?\)/,
    );
  });
});

describe('finding 10: validation names what was meant, and where', () => {
  const file = join(tempDir('finding-10'), 'schedule.json');
  beforeAll(() => {
    const config = rawConfig(
      [
        {
          id: 'office-hours',
          targets: ['orders-snyc'],
          timezone: 'Asia/Shangai',
          window: 'Mon-Fri 08:00-20:00',
          skipDate: ['12-25'],
        } as never,
      ],
      {
        targets: {
          'orders-sync': { account: 'prod', kind: 'drs-job', jobid: 'c7debc9c-8e09-4a5d-8dd6-cc44f78jb20r' },
        },
        groups: {},
      },
    );
    writeFileSync(file, JSON.stringify(config, null, 2));
  });

  it('"did you mean" for field names, zone names and target names, each with line and column', async () => {
    const run = await runCli(['validate', '--config', file, '--json']);
    expect(run.code).toBe(1);
    const { issues } = JSON.parse(run.stdout) as {
      issues: { path: string; message: string; line: number; column: number }[];
    };
    const byPath = Object.fromEntries(issues.map((i) => [i.path, i]));
    expect(byPath['targets.orders-sync.jobid']?.message).toBe(
      'unknown field "jobid" (did you mean "jobId"?)',
    );
    expect(byPath['schedules[0].skipDate']?.message).toBe(
      'unknown field "skipDate" (did you mean "skipDates"?)',
    );
    expect(byPath['schedules[0].timezone']?.message).toBe(
      '"Asia/Shangai" is not an IANA time zone (did you mean "Asia/Shanghai"?)',
    );
    expect(byPath['schedules[0].targets[0]']?.message).toBe(
      'unknown target or group "orders-snyc" (did you mean "orders-sync"?)',
    );
    // Every problem says where it is; the unknown field points at its key.
    for (const issue of issues)
      expect(issue).toEqual(
        expect.objectContaining({ line: expect.any(Number), column: expect.any(Number) }),
      );
    const text = JSON.stringify(
      JSON.parse((await import('node:fs')).readFileSync(file, 'utf8')),
      null,
      2,
    ).split('\n');
    const jobid = byPath['targets.orders-sync.jobid']!;
    expect(text[jobid.line - 1]!.slice(jobid.column - 1)).toMatch(/^"jobid": /);
    const human = await runCli(['validate', '--config', file]);
    expect(human.stdout).toMatch(
      /^ {2}schedules\[0\]\.skipDate: unknown field "skipDate" \(did you mean "skipDates"\?\) \(line \d+, column \d+\)$/m,
    );
  });

  it('"did you mean" for target and schedule names given on the command line', async () => {
    const target = await runCli(['run', '--action', 'pause', '--target', 'billing-snyc', '--dry-run']);
    expect(target.code).toBe(2);
    expect(target.stderr).toMatch(/unknown target or group "billing-snyc" \(did you mean "billing-sync"\?\)/);
    const schedule = await runCli(['run', '--action', 'stop', '--schedule', 'office-hour', '--dry-run']);
    expect(schedule.stderr).toMatch(/unknown schedule "office-hour" \(did you mean "office-hours"\?\)/);
    const status = await runCli(['status', '--target', 'face-serch', '--url', 'http://127.0.0.1:9']);
    expect(status.stderr).toMatch(/unknown target "face-serch" \(did you mean "face-search"\?\)/);
  });

  it('an impossible date is refused as such, not rolled over', async () => {
    const run = await runCli([
      'override',
      'add',
      '--target',
      'load-test',
      '--state',
      'running',
      '--until',
      '2027-02-30T00:00:00Z',
      '--reason',
      'x',
      '--state-dir',
      tempDir('finding-10-date'),
    ]);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(
      /until "2027-02-30T00:00:00Z": 2027-02-30 is not a date: February 2027 has 28 days/,
    );
  });
});

describe('finding 7: a placeholder secret is "secret not set", not a failure', () => {
  let sim: HuaweiSimulator;
  let dir: string;
  let configFile: string;

  beforeAll(async () => {
    sim = new HuaweiSimulator();
    const url = await sim.start();
    dir = tempDir('finding-7');
    const raw = rawConfig([{ id: 'office', targets: ['replication'], window: 'Mon-Fri 08:00-20:00' }], {
      timezone: 'Europe/Berlin',
      accounts: {
        prod: { region: 'cn-north-4', projectId: PROJECT, secret: 'nightshift/prod', endpoint: url },
        staging: { region: 'cn-north-4', projectId: PROJECT, secret: 'nightshift/staging', endpoint: url },
      },
      targets: {
        'orders-sync': { account: 'prod', kind: 'drs-job', jobId: 'c7debc9c-8e09-4a5d-8dd6-cc44f78jb20r' },
        'face-search': { account: 'staging', kind: 'vias-task', taskId: '3f1c2a9e7b5d4c8f9a0b1c2d3e4f5a6b' },
      },
      groups: { replication: ['orders-sync', 'face-search'] },
    });
    configFile = join(dir, 'schedule.json');
    writeFileSync(configFile, JSON.stringify(raw));
    sim.seed(parseConfig(raw));
    sim.addToken(TOKEN, PROJECT);
  });
  afterAll(async () => {
    await sim.stop();
  });

  it('status shows (secret not set) for the account whose secret holds the placeholder, and reads the others', async () => {
    const secretsFile = join(dir, 'secrets.json');
    writeFileSync(
      secretsFile,
      JSON.stringify({
        'nightshift/prod': JSON.parse(PLACEHOLDER_SECRET),
        'nightshift/staging': { token: TOKEN },
      }),
    );
    const now = () => new Date('2027-03-29T10:00:00Z');
    const args = ['status', '--config', configFile, '--secrets', secretsFile, '--state', join(dir, 'state')];
    const table = await runCli(args, { now, env: {} });
    const json = await runCli([...args, '--json'], { now, env: {} });
    expect(table.code).toBe(0);
    expect(table.stdout).toMatch(
      /orders-sync\s+drs-job\s+running since 2027-03-29 08:00\s+\(secret not set\)\s+NO/,
    );
    expect(table.stdout).toMatch(/face-search\s+vias-task\s+running since 2027-03-29 08:00\s+STOPPED/);
    const [orders, face] = JSON.parse(json.stdout).targets;
    expect(orders).toMatchObject({
      observed: null,
      secretNotSet: true,
      note: expect.stringMatching(/^secret not set: secret "nightshift\/prod" is not set/),
    });
    expect(face.secretNotSet).toBeUndefined();
  });
});
