import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { HuaweiSimulator } from '../../functions/local/simulator.ts';
import { runCli } from '../helpers/cli.ts';
import { type RawSchedule, rawConfig } from '../helpers/config.ts';
import { type Served, spawnServe } from '../helpers/process.ts';
import { PROJECT, TOKEN } from '../helpers/simulator.ts';

/**
 * Issue 17's findings about the `serve` process itself: what it does when it comes back after
 * being away, or with a clock behind its state folder. A simulator in this process (so the test
 * counts the calls that reach Huawei), `serve` as a real process on a scaled clock.
 */

const JOB = '8d0e8e36-a618-490d-8a46-8c61ac9jb502';

async function workspace(schedules: RawSchedule[], targets: Record<string, unknown>) {
  const sim = new HuaweiSimulator();
  const url = await sim.start();
  sim.addToken(TOKEN, PROJECT);
  const dir = mkdtempSync(join(tmpdir(), 'nightshift-findings-e2e-'));
  const config = join(dir, 'schedule.json');
  writeFileSync(
    config,
    JSON.stringify(
      rawConfig(schedules, {
        accounts: {
          prod: { region: 'cn-north-4', projectId: PROJECT, secret: 'nightshift/prod', endpoint: url },
        },
        targets,
        groups: {},
        timezone: 'UTC',
      }),
    ),
  );
  const secrets = join(dir, 'secrets.json');
  writeFileSync(secrets, JSON.stringify({ 'nightshift/prod': { token: TOKEN } }));
  const state = join(dir, 'state');
  mkdirSync(state, { recursive: true });
  const history = () => {
    try {
      return readFileSync(join(state, 'history.jsonl'), 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((line) => JSON.parse(line));
    } catch {
      return [];
    }
  };
  /** The minute the last run evaluated up to, as a stopped `serve` leaves it. */
  const cursorAt = (iso: string) =>
    writeFileSync(join(state, 'cursor.json'), JSON.stringify({ evaluatedTo: iso }));
  return {
    sim,
    dir,
    config,
    state,
    history,
    cursorAt,
    args: ['--port', '0', '--config', config, '--secrets', secrets, '--state', state],
  };
}

const until = async (check: () => boolean, timeoutMs: number, what: string) => {
  const end = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
};

describe('issue 17 findings in real serve processes', () => {
  const running: Served[] = [];
  const cleanup: (() => Promise<void>)[] = [];
  afterEach(async () => {
    await Promise.all(running.splice(0).map((s) => s.stop('SIGKILL')));
    for (const step of cleanup.splice(0)) await step();
  });

  it('finding 1: serve away 19:55-20:40 over a 20:00 DRS end an override covered: the catch-up does not end the job', async () => {
    const ws = await workspace(
      [
        {
          id: 'teardown',
          targets: ['orders-sync'],
          timezone: 'UTC',
          actions: [{ do: 'stop', cron: '0 20 * * *' }],
        },
      ],
      { 'orders-sync': { account: 'prod', kind: 'drs-job', jobId: JOB, allowStop: true } },
    );
    cleanup.push(async () => {
      await ws.sim.stop();
      rmSync(ws.dir, { recursive: true, force: true });
    });
    ws.sim.addDrsJob(PROJECT, JOB);
    const added = await runCli(
      [
        'override',
        'add',
        '--target',
        'orders-sync',
        '--state',
        'running',
        '--from',
        '2027-03-29T19:00:00Z',
        '--until',
        '2027-03-29T20:30:00Z',
        '--reason',
        'migration check',
        '--config',
        ws.config,
        '--state-dir',
        ws.state,
        '--json',
      ],
      { now: () => new Date('2027-03-29T19:00:00Z') },
    );
    expect(added.code).toBe(0);
    const override = JSON.parse(added.stdout).id as string;
    // serve ran until 19:55 and comes back at 20:40, ten minutes after the override ended.
    ws.cursorAt('2027-03-29T19:55:00Z');
    const served = await spawnServe(ws.args, {
      NIGHTSHIFT_CLOCK_START: '2027-03-29T20:40:57Z',
      NIGHTSHIFT_CLOCK_SPEED: '1',
    });
    running.push(served);
    await until(() => ws.history().some((e) => e.result.action === 'stop'), 15_000, 'the 20:00 end handled');
    expect(ws.sim.requestsTo(/\/stop$/)).toHaveLength(0);
    expect(ws.sim.drsStatus(PROJECT, JOB)).toBe('INCRE_TRANSFER_STARTED');
    expect(ws.history().filter((e) => e.result.action === 'stop')).toEqual([
      expect.objectContaining({
        scheduledAt: '2027-03-29T20:00:00Z',
        override,
        result: expect.objectContaining({ target: 'orders-sync', status: 'skipped' }),
      }),
    ]);
  }, 30_000);

  it('finding 13: restarted with a clock two hours behind its state folder: it warns, and keeps held states', async () => {
    const ws = await workspace(
      [{ id: 'office', targets: ['face-search'], timezone: 'UTC', window: 'Mon-Fri 08:00-20:00' }],
      { 'face-search': { account: 'prod', kind: 'vias-task', taskId: 'task-1' } },
    );
    cleanup.push(async () => {
      await ws.sim.stop();
      rmSync(ws.dir, { recursive: true, force: true });
    });
    ws.sim.addViasTask(PROJECT, 'task-1', 'STOPPED'); // stopped by hand meanwhile
    // It ran until 13:09; the host clock now says 11:00.
    ws.cursorAt('2027-03-29T13:09:00Z');
    const served = await spawnServe(ws.args, {
      NIGHTSHIFT_CLOCK_START: '2027-03-29T10:59:55Z',
      NIGHTSHIFT_CLOCK_SPEED: '60',
    });
    running.push(served);
    await served.waitFor(/warning: the clock .* is behind/, 15_000);
    await until(() => ws.sim.viasState(PROJECT, 'task-1') === 'RUNNING', 15_000, 'face-search started');
    expect(ws.sim.requestsTo('/tasks/task-1/action/start')).toHaveLength(1);
  }, 40_000);
});
