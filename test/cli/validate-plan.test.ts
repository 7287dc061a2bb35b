import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.ts';
import { rawConfig } from '../helpers/config.ts';

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
      issues: [{ path: 'schedules[0].targets', message: 'must name at least one target or group' }],
    });
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

describe('nightshift plan', () => {
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

  it('prints a table in local and UTC time', async () => {
    const run = await runCli(['plan', '--from', '2027-03-29T00:00:00Z', '--to', '2027-03-29T12:00:00Z']);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/UTC\s+Local\s+Schedule\s+Action\s+Targets/);
    expect(run.stdout).toMatch(
      /2027-03-29 06:00\s+Mon 2027-03-29 08:00 Europe\/Berlin \(GMT\+2\)\s+office-hours\s+resume\s+orders-sync, billing-sync/,
    );
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
