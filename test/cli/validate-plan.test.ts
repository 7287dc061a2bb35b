import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.ts';
import { rawConfig } from '../helpers/config.ts';
import { runNightshift } from '../helpers/process.ts';

const exec = promisify(execFile);

function writeConfig(content: unknown): string {
  const dir = mkdtempSync(join(tmpdir(), 'nightshift-cli-'));
  const file = join(dir, 'schedule.json');
  writeFileSync(file, typeof content === 'string' ? content : JSON.stringify(content));
  return file;
}

describe('nightshift validate', () => {
  it('exits 0 for the example config', async () => {
    const run = await runCli(['validate']);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/valid \(5 targets, 4 schedules\)/);
  });

  it('prints every problem with its path and exits 1', async () => {
    // Prepare
    const file = writeConfig(
      rawConfig([
        { id: 's', targets: ['nobody'], timezone: 'Mars/Base', actions: [{ do: 'start', cron: 'x' }] },
      ]),
    );
    // Act
    const run = await runCli(['validate', '--config', file]);
    // Assess
    expect(run.code).toBe(1);
    expect(run.stdout).toMatch(/schedules\[0\]\.targets\[0\]: unknown target or group "nobody"/);
    expect(run.stdout).toMatch(/schedules\[0\]\.timezone: "Mars\/Base" is not an IANA time zone/);
    expect(run.stdout).toMatch(/schedules\[0\]\.actions\[0\]\.cron: expected five fields/);
  });

  it('with --json prints one JSON document', async () => {
    const file = writeConfig(rawConfig([{ id: 's', targets: [], window: 'Mon 08:00-09:00' }]));
    const run = await runCli(['validate', '--config', file, '--json']);
    expect(run.code).toBe(1);
    expect(JSON.parse(run.stdout)).toEqual({
      ok: false,
      // Every problem carries where it is in the file (finding 10: line and column).
      issues: [
        {
          path: 'schedules[0].targets',
          message: 'must name at least one target or group',
          line: 1,
          column: expect.any(Number),
        },
      ],
      warnings: [],
    });
  });

  const doubtful = () =>
    writeConfig(
      rawConfig(
        [
          { id: 'am', targets: ['face-search'], timezone: 'UTC', window: 'Mon-Fri 08:00-12:00' },
          { id: 'pm', targets: ['face-search'], timezone: 'UTC', window: 'Mon-Fri 12:00-18:00' },
          {
            id: 'feb',
            targets: ['load-test'],
            timezone: 'UTC',
            actions: [{ do: 'start', cron: '0 0 31 2 *' }],
          },
          { id: 'sync', targets: ['all-paused'], timezone: 'UTC', window: 'Mon-Fri 08:00-20:00' },
        ],
        {
          targets: {
            'face-search': { account: 'prod', kind: 'vias-task', taskId: 't1' },
            'load-test': { account: 'prod', kind: 'cpts-task', testSuiteId: 1, taskId: 1 },
            'all-paused': {
              account: 'prod',
              kind: 'drs-job',
              jobId: '8d0e8e36-a618-490d-8a46-8c61ac9jb502',
              pauseMode: 'all',
            },
          },
          groups: {},
        },
      ),
    );

  it('warns, exit 0, about what a valid config probably does not mean; --strict makes it exit 1', async () => {
    const file = doubtful();
    const run = await runCli(['validate', '--config', file]);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/4 warnings:/);
    expect(run.stdout).toMatch(
      /schedules\[2\]\.actions\[0\]\.cron: "0 0 31 2 \*" never fires: February has no day 31/,
    );
    expect(run.stdout).toMatch(/schedules\[2\]\.targets: load-test is only ever set running/);
    expect(run.stdout).toMatch(/pm and am set face-search to running and stopped at the same instant/);
    expect(run.stdout).toMatch(
      /targets\.all-paused\.pauseMode: all-paused is paused with pauseMode "all" for 60 h/,
    );
    const strict = await runCli(['validate', '--config', file, '--strict', '--json']);
    expect(strict.code).toBe(1);
    expect(JSON.parse(strict.stdout)).toMatchObject({ ok: false, issues: [], warnings: expect.any(Array) });
    expect(JSON.parse(strict.stdout).warnings).toHaveLength(4);
  });

  it('the example config has no warnings', async () => {
    const run = await runCli(['validate', '--strict']);
    expect(run.code).toBe(0);
  });

  it('reports a missing file and invalid JSON clearly', async () => {
    const missing = await runCli(['validate', '--config', '/nonexistent/schedule.json']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/cannot read config \/nonexistent\/schedule.json: no such file/);
    const broken = await runCli(['validate', '--config', writeConfig('{"version": 1,')]);
    expect(broken.code).toBe(1);
    expect(broken.stdout).toMatch(/not valid JSON/);
  });
});

describe('small things a new user meets (real processes)', () => {
  it('reads a config saved with a UTF-8 byte-order mark, and counts one target in the singular', async () => {
    // Prepare: what some Windows editors write
    const one = {
      version: 1,
      accounts: {
        prod: { region: 'cn-north-4', projectId: '054ba152d480d55b2f5dc0069e7ddef0', secret: 's' },
      },
      targets: { 'face-search': { account: 'prod', kind: 'vias-task', taskId: 'task-1' } },
      schedules: [{ id: 'day', targets: ['face-search'], window: 'Mon-Fri 08:00-20:00' }],
    };
    const file = writeConfig(`\uFEFF${JSON.stringify(one, null, 2)}`);
    // Act
    const run = await runNightshift(['validate', '--config', file]);
    // Assess
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout).toBe(`${file}: valid (1 target, 1 schedule)\n`);
  }, 30_000);
});

describe('a config too large to deploy', () => {
  it('validate says so, with the size and the limit, instead of synth failing later', async () => {
    // Prepare: a valid config padded to 5 MB, as a generated config with thousands of targets gets
    const file = writeConfig(
      `${JSON.stringify(rawConfig([{ id: 'day', targets: ['face-search'], window: 'Mon 08:00-09:00' }]))}${' '.repeat(5_000_000)}`,
    );
    // Act
    const run = await runCli(['validate', '--config', file]);
    // Assess
    expect(run.code).toBe(1);
    expect(run.stdout).toMatch(
      /\(file\): is 4\.8 MiB; a config may be at most 800 KiB, because the stack carries it to AppConfig inside its CloudFormation template \(1 MB at most\)/,
    );
    // Only deploying has the limit: the local runtime and plan take the file as it is.
    const plan = await runCli([
      'plan',
      '--config',
      file,
      '--from',
      '2027-03-29T00:00:00Z',
      '--to',
      '2027-03-30T00:00:00Z',
      '--json',
    ]);
    expect(plan.code).toBe(0);
    expect(JSON.parse(plan.stdout)).toHaveLength(2);
  });
});

describe('nightshift plan', () => {
  it('--explain shows the state each row sets, and the hand-over that keeps a target running', async () => {
    const file = writeConfig(
      rawConfig([
        { id: 'am', targets: ['face-search'], timezone: 'UTC', window: 'Mon-Fri 08:00-12:00' },
        { id: 'pm', targets: ['face-search', 'orders-sync'], timezone: 'UTC', window: 'Mon-Fri 12:00-18:00' },
      ]),
    );
    const range = ['--from', '2027-03-29T11:00:00Z', '--to', '2027-03-29T13:00:00Z'];
    const run = await runCli(['plan', '--config', file, ...range, '--explain', '--json']);
    expect(JSON.parse(run.stdout)).toEqual([
      {
        at: '2027-03-29T12:00:00Z',
        schedule: 'am',
        action: 'stop',
        targets: ['face-search'],
        desired: { 'face-search': 'stopped' },
        overruled: ['face-search'],
      },
      {
        at: '2027-03-29T12:00:00Z',
        schedule: 'pm',
        action: 'start',
        targets: ['face-search'],
        desired: { 'face-search': 'running' },
      },
      {
        at: '2027-03-29T12:00:00Z',
        schedule: 'pm',
        action: 'resume',
        targets: ['orders-sync'],
        desired: { 'orders-sync': 'running' },
      },
    ]);
    const table = await runCli(['plan', '--config', file, ...range, '--explain']);
    expect(table.stdout).toMatch(
      /am\s+stop\s+face-search\s+stopped \(overruled at this instant: face-search stays running\)/,
    );
    const plain = await runCli(['plan', '--config', file, ...range, '--json']);
    expect(JSON.parse(plain.stdout)[0]).not.toHaveProperty('desired');
  });

  it('prints the contract array with --json', async () => {
    // Act
    const run = await runCli([
      'plan',
      '--from',
      '2027-03-27T00:00:00Z',
      '--to',
      '2027-04-03T00:00:00Z',
      '--json',
    ]);
    // Assess
    expect(run.code).toBe(0);
    const rows = JSON.parse(run.stdout);
    expect(rows[0]).toEqual({
      at: '2027-03-27T14:00:00Z',
      schedule: 'weekend-batch',
      action: 'start',
      targets: ['night-batch'],
    });
    expect(rows).toContainEqual({
      at: '2027-03-29T06:00:00Z',
      schedule: 'office-hours',
      action: 'resume',
      targets: ['orders-sync', 'billing-sync'],
    });
    for (const row of rows) expect(Object.keys(row)).toEqual(['at', 'schedule', 'action', 'targets']);
  });

  // One zone per output, named (finding 8): the table used to mix a UTC column with each
  // schedule's own zone; it now shows every time in the config's zone, or --tz.
  it('prints a table in one zone, named: the config zone, or --tz', async () => {
    const args = ['plan', '--from', '2027-03-29T00:00:00Z', '--to', '2027-03-29T12:00:00Z'];
    const run = await runCli(args);
    const berlin = await runCli([...args, '--tz', 'Europe/Berlin']);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^Times in Asia\/Shanghai \(UTC\+08:00 now\)\.$/m);
    expect(run.stdout).toMatch(/Time\s+Schedule\s+Action\s+Targets/);
    expect(run.stdout).toMatch(/2027-03-29 14:00\s+office-hours\s+resume\s+orders-sync, billing-sync/);
    expect(berlin.stdout).toMatch(/^Times in Europe\/Berlin \(UTC\+02:00 now\)\.$/m);
    expect(berlin.stdout).toMatch(/2027-03-29 08:00\s+office-hours\s+resume\s+orders-sync, billing-sync/);
    expect(run.stdout).not.toMatch(/Z\b|UTC\s/);
  });

  it('defaults to the next 24 hours', async () => {
    const run = await runCli(['plan', '--json'], { now: () => new Date('2027-03-29T00:00:00Z') });
    const rows = JSON.parse(run.stdout) as { at: string }[];
    expect(rows.length).toBeGreaterThan(0);
    expect(rows.every((r) => r.at > '2027-03-29T00:00:00Z' && r.at <= '2027-03-30T00:00:00Z')).toBe(true);
  });

  it.each([
    [['plan', '--from', 'yesterday'], /--from must be an ISO 8601 instant/],
    [['plan', '--from', '2027-03-27T00:00:00'], /--from must be an ISO 8601 instant/],
    [['plan', '--from', '2027-03-28T00:00:00Z', '--to', '2027-03-27T00:00:00Z'], /--to must be later/],
    [['plan', '--bogus'], /Unknown option '--bogus'/],
    [['frobnicate'], /unknown command "frobnicate"/],
  ])('bad usage %j exits 2', async (argv, message) => {
    const run = await runCli(argv);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(message);
  });

  it('has --help on every command', async () => {
    for (const command of ['validate', 'plan']) {
      const run = await runCli([command, '--help']);
      expect(run.code).toBe(0);
      expect(run.stdout).toMatch(new RegExp(`Usage: nightshift ${command}`));
      expect(run.stdout).toMatch(/--config FILE/);
    }
    const top = await runCli(['--help']);
    expect(top.stdout).toMatch(/Commands:/);
  });
});

describe('the nightshift bin', () => {
  it('runs as a real process via npx from the project root', async () => {
    // Act
    const { stdout } = await exec(
      'npx',
      [
        '--no-install',
        'nightshift',
        'plan',
        '--from',
        '2027-03-27T00:00:00Z',
        '--to',
        '2027-04-03T00:00:00Z',
        '--json',
      ],
      { cwd: process.cwd() },
    );
    // Assess
    const rows = JSON.parse(stdout);
    expect(rows.length).toBe(38);
  });

  it('exits 2 on bad usage', async () => {
    await expect(
      exec(process.execPath, ['bin/nightshift.mjs', 'plan', '--from', 'nope']),
    ).rejects.toMatchObject({ code: 2 });
  });
});

describe('impossible dates (real processes)', () => {
  it('refuses a day the month does not have, instead of rolling over', async () => {
    // Act
    const [april, february, datetime] = await Promise.all([
      runNightshift(['plan', '--from', '2027-04-31']),
      runNightshift(['plan', '--from', '2027-02-27', '--to', '2027-02-30']),
      runNightshift(['plan', '--from', '2027-02-29T08:00:00+08:00']),
    ]);
    // Assess
    expect(april.code).toBe(2);
    expect(april.stderr).toMatch(/--from: 2027-04-31 is not a date: April 2027 has 30 days/);
    expect(february.code).toBe(2);
    expect(february.stderr).toMatch(/--to: 2027-02-30 is not a date: February 2027 has 28 days/);
    expect(february.stderr).not.toMatch(/later/);
    expect(datetime.code).toBe(2);
    expect(datetime.stderr).toMatch(/--from: 2027-02-29 is not a date: February 2027 has 28 days/);
  }, 30_000);

  it('still takes a leap day in a leap year', async () => {
    const leap = await runCli(['plan', '--from', '2028-02-29', '--to', '2028-03-01', '--json']);
    expect(leap.code).toBe(0);
  });
});

describe('output into a closed pipe (real processes)', () => {
  it('plan | head -1 prints one line and exits quietly, without an EPIPE trace', async () => {
    // Prepare: a week of an every-minute rule is far more than a pipe buffer holds
    const file = writeConfig(
      rawConfig([{ id: 'm', targets: ['face-search'], actions: [{ do: 'start', cron: '* * * * *' }] }]),
    );
    // Act
    const run = await runNightshift([], {
      shell: `node bin/nightshift.mjs plan --config ${file} --from 2027-03-27T00:00:00Z --to 2027-04-03T00:00:00Z | head -1; echo "exit=\${PIPESTATUS[0]}" >&2`,
    });
    // Assess
    expect(run.stdout.trim().split('\n')).toHaveLength(1);
    expect(run.stderr).toBe('exit=0\n');
  }, 30_000);
});
