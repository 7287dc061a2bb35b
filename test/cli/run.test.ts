import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { parseConfig } from '../../functions/engine/config/validate.ts';
import { HuaweiSimulator } from '../../functions/local/simulator.ts';
import { runCli } from '../helpers/cli.ts';
import { rawConfig } from '../helpers/config.ts';
import { PROJECT } from '../helpers/simulator.ts';

const SENTINEL_TOKEN = 'SENTINEL-TOKEN-7f3a9c';
const SENTINEL_PASSWORD = 'SENTINEL-PASSWORD-51be02';

describe('nightshift run', () => {
  let sim: HuaweiSimulator;
  let dir: string;
  let configFile: string;
  let secretsFile: string;

  beforeAll(async () => {
    sim = new HuaweiSimulator();
    const url = await sim.start();
    dir = mkdtempSync(join(tmpdir(), 'nightshift-run-'));
    const config = rawConfig(
      [
        {
          id: 'nightly',
          targets: ['load-test', 'face-search'],
          actions: [{ do: 'stop', cron: '0 5 * * *' }],
        },
        { id: 'sync', targets: ['replication'], window: 'Mon-Fri 08:00-20:00' },
      ],
      {
        accounts: {
          prod: { region: 'cn-north-4', projectId: PROJECT, secret: 'nightshift/prod', endpoint: url },
          iam: { region: 'cn-north-4', projectId: PROJECT, secret: 'nightshift/iam', endpoint: url },
        },
      },
    );
    (config.targets as Record<string, unknown>)['iam-task'] = {
      account: 'iam',
      kind: 'vias-task',
      taskId: 'task-iam',
    };
    configFile = join(dir, 'schedule.json');
    writeFileSync(configFile, JSON.stringify(config));
    secretsFile = join(dir, 'secrets.json');
    writeFileSync(
      secretsFile,
      JSON.stringify({
        'nightshift/prod': { token: SENTINEL_TOKEN },
        'nightshift/iam': { iam: { domain: 'acme', user: 'bot', password: SENTINEL_PASSWORD } },
      }),
    );
    sim.seed(parseConfig(config));
    sim.addViasTask(PROJECT, 'task-iam');
  });
  afterAll(async () => {
    await sim.stop();
  });
  beforeEach(() => {
    sim.clearScripts();
    sim.addToken(SENTINEL_TOKEN, PROJECT);
  });

  const run = (...args: string[]) =>
    runCli(['run', '--config', configFile, '--secrets', secretsFile, ...args]);

  it('carries an action out and prints a table, one line per target', async () => {
    // Act
    const result = await run('--action', 'pause', '--target', 'replication');
    // Assess
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/Target\s+Kind\s+Action\s+Result\s+HTTP\s+Tries\s+Time\s+Error/);
    expect(result.stdout).toMatch(/orders-sync\s+drs-job\s+pause\s+succeeded\s+200\s+1/);
    expect(result.stdout).toMatch(/billing-sync\s+drs-job\s+pause\s+succeeded/);
    expect(result.stdout).toMatch(/2 of 2 succeeded\./);
  });

  it('prints {"results": [...]} in the contract shape with --json, and exits 1 when one failed', async () => {
    // Prepare: load-test starts; face-search is refused by the service
    sim.script({ path: '/tasks/task-1/action/start' }, [
      { kind: 'respond', status: 400, body: { error_code: 'VIAS.400101', error_msg: 'SIM: refused' } },
    ]);
    sim.addCptsTask(PROJECT, 1, 1, 2);
    // Act
    const result = await run(
      '--action',
      'start',
      '--target',
      'load-test',
      '--target',
      'face-search',
      '--json',
    );
    // Assess
    expect(result.code).toBe(1);
    const { results } = JSON.parse(result.stdout);
    expect(results).toHaveLength(2);
    expect(results[0]).toEqual({
      target: 'load-test',
      kind: 'cpts-task',
      action: 'start',
      ok: true,
      status: 'succeeded',
      httpStatus: 200,
      attempts: 1,
      durationMs: expect.any(Number),
      verified: true,
      desired: 'running',
      observed: 'run_status 0 (running)',
    });
    expect(results[1]).toMatchObject({
      target: 'face-search',
      ok: false,
      status: 'failed',
      httpStatus: 400,
      errorCode: 'VIAS.400101',
    });
    expect(results[1].errorMessage).toMatch(
      /PUT \/v2\/\{project_id\}\/tasks\/\{task_id\}\/action\/start answered 400 VIAS.400101/,
    );
  });

  it('a target already in the requested state gets no call: unchanged, exit 0; --force calls anyway', async () => {
    sim.addViasTask(PROJECT, 'task-1', 'RUNNING');
    const starts = () => sim.requestsTo('/tasks/task-1/action/start').length;
    const before = starts();
    const first = await run('--action', 'start', '--target', 'face-search', '--json');
    expect(first.code).toBe(0);
    expect(JSON.parse(first.stdout).results[0]).toMatchObject({
      ok: true,
      status: 'unchanged',
      attempts: 0,
      desired: 'running',
      observed: 'RUNNING',
    });
    expect(starts()).toBe(before);
    const forced = await run('--action', 'start', '--target', 'face-search', '--force', '--json');
    expect(forced.code).toBe(1);
    expect(starts()).toBe(before + 1);
  });

  it('a failed status read does not stop the call: observed null', async () => {
    sim.addViasTask(PROJECT, 'task-1', 'STOPPED');
    sim.script({ path: /\/tasks\/task-1$/ }, [
      { kind: 'respond', status: 403, body: { error_code: 'APIGW.0302', error_msg: 'denied' } },
      { kind: 'respond', status: 403, body: { error_code: 'APIGW.0302', error_msg: 'denied' } },
    ]);
    const result = await run('--action', 'start', '--target', 'face-search', '--json');
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout).results[0]).toMatchObject({
      ok: true,
      status: 'succeeded',
      observed: null,
    });
    expect(sim.viasState(PROJECT, 'task-1')).toBe('RUNNING');
  });

  it('runs on every target of a schedule', async () => {
    sim.addViasTask(PROJECT, 'task-1', 'RUNNING');
    sim.addCptsTask(PROJECT, 1, 1, 0);
    const result = await run('--action', 'stop', '--schedule', 'nightly', '--json');
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout).results.map((r: { target: string }) => r.target)).toEqual([
      'load-test',
      'face-search',
    ]);
  });

  it('a dry run needs no secrets and calls nothing', async () => {
    const before = sim.requests.length;
    const result = await runCli([
      'run',
      '--config',
      configFile,
      '--action',
      'pause',
      '--schedule',
      'sync',
      '--dry-run',
      '--json',
    ]);
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout).results.map((r: { status: string }) => r.status)).toEqual([
      'dry-run',
      'dry-run',
    ]);
    expect(sim.requests.length).toBe(before);
  });

  it('a dry run’s table says nothing was called, not that anything succeeded', async () => {
    const result = await runCli([
      'run',
      '--config',
      configFile,
      '--action',
      'pause',
      '--schedule',
      'sync',
      '--dry-run',
    ]);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/\n2 of 2 checked; dry run, nothing was called\.\n$/);
    expect(result.stdout).not.toMatch(/succeeded/);
  });

  it.each([
    [['--action', 'start'], /either --target NAME/],
    [['--action', 'start', '--target', 'a', '--schedule', 'b'], /either --target NAME/],
    [['--target', 'face-search'], /--action is required/],
    [['--action', 'restart', '--target', 'face-search'], /must be start, stop, pause or resume/],
    [['--action', 'start', '--target', 'ghost'], /unknown target or group "ghost"/],
    [['--action', 'start', '--schedule', 'ghost'], /unknown schedule "ghost"/],
    [
      ['--action', 'resume', '--schedule', 'nightly'],
      /"load-test" is a cpts-task, which has no action "resume"/,
    ],
    [['--action', 'stop', '--target', 'orders-sync'], /ends DRS job "orders-sync" for good/],
  ])('refuses %j as bad usage, calling nothing', async (args, message) => {
    const before = sim.requests.length;
    const result = await run(...args);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(message);
    expect(sim.requests.length).toBe(before);
  });

  it('needs --secrets unless it is a dry run', async () => {
    const result = await runCli([
      'run',
      '--config',
      configFile,
      '--action',
      'pause',
      '--target',
      'orders-sync',
    ]);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/--secrets FILE \(or NIGHTSHIFT_SECRETS_FILE\) is required/);
  });

  it('never prints a secret value, whatever fails', async () => {
    // Prepare: the token is refused, IAM refuses the password, a body echoes garbage
    sim.revokeToken(SENTINEL_TOKEN);
    // Act
    const outputs = [
      await run('--action', 'pause', '--target', 'replication'),
      await run('--action', 'pause', '--target', 'replication', '--json'),
      await run('--action', 'start', '--target', 'iam-task'),
      await run('--action', 'start', '--target', 'iam-task', '--json'),
    ];
    // Assess
    for (const output of outputs) {
      expect(output.code).toBe(1);
      expect(output.stdout + output.stderr).not.toContain(SENTINEL_TOKEN);
      expect(output.stdout + output.stderr).not.toContain(SENTINEL_PASSWORD);
    }
    expect(outputs[0]!.stdout).toMatch(/APIGW.0301/);
    expect(outputs[2]!.stdout).toMatch(/IAM refused a token for account "iam"/);
  });
});
