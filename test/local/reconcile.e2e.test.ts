import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { HuaweiSimulator } from '../../functions/local/simulator.ts';
import { rawConfig } from '../helpers/config.ts';
import { type Served, spawnServe } from '../helpers/process.ts';
import { PROJECT, TOKEN } from '../helpers/simulator.ts';

const TASKS = ['t1', 't2', 't3', 't4', 't5', 't6'];

/**
 * `serve` processes against a simulator in this process (so the test can slow it down, count its
 * calls and read its state), all sharing one state folder.
 */
async function world() {
  const sim = new HuaweiSimulator();
  const url = await sim.start();
  const dir = mkdtempSync(join(tmpdir(), 'nightshift-reconcile-e2e-'));
  const targets = Object.fromEntries(
    TASKS.map((t) => [t, { account: 'prod', kind: 'vias-task', taskId: t }]),
  );
  const document = rawConfig(
    [{ id: 'office', targets: TASKS, timezone: 'UTC', window: 'Mon-Fri 08:00-20:00' }],
    {
      accounts: {
        prod: { region: 'cn-north-4', projectId: PROJECT, secret: 'nightshift/prod', endpoint: url },
      },
      targets,
      groups: {},
    },
  );
  for (const t of TASKS) sim.addViasTask(PROJECT, t, 'STOPPED');
  sim.addToken(TOKEN, PROJECT);
  const config = join(dir, 'schedule.json');
  writeFileSync(config, JSON.stringify(document));
  const secrets = join(dir, 'secrets.json');
  writeFileSync(secrets, JSON.stringify({ 'nightshift/prod': { token: TOKEN } }));
  const state = join(dir, 'state');
  const args = ['--port', '0', '--config', config, '--secrets', secrets, '--state', state];
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
  return { sim, dir, args, history };
}

const until = async (check: () => boolean, timeoutMs: number, what: string) => {
  const end = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
};

describe('reconciliation in real serve processes', () => {
  const running: Served[] = [];
  const cleanup: (() => Promise<void>)[] = [];
  afterEach(async () => {
    await Promise.all(running.splice(0).map((s) => s.stop('SIGKILL')));
    for (const step of cleanup.splice(0)) await step();
  });

  it('serve killed with SIGKILL mid-batch and restarted: every target reaches its state, each with its outcome in history', async () => {
    const w = await world();
    cleanup.push(async () => {
      await w.sim.stop();
      rmSync(w.dir, { recursive: true, force: true });
    });
    // Two calls at a time, each slow: the kill lands with some calls made and others not sent.
    w.sim.script({ method: 'PUT' }, [{ kind: 'latency', ms: 1_500 }], { repeat: true });
    const env = { NIGHTSHIFT_UPSTREAM_MAX_IN_FLIGHT: '2', NIGHTSHIFT_CLOCK_SPEED: '6' };
    const first = await spawnServe(w.args, { ...env, NIGHTSHIFT_CLOCK_START: '2027-03-29T07:59:54Z' });
    running.push(first);
    await until(() => w.sim.requestsTo('/action/start').length >= 2, 20_000, 'the first calls');
    first.child.kill('SIGKILL');
    await first.stop('SIGKILL');
    running.splice(0);
    const sentBeforeKill = w.sim.requestsTo('/action/start').length;
    expect(sentBeforeKill).toBeLessThan(TASKS.length);
    w.sim.clearScripts();

    const second = await spawnServe(w.args, { ...env, NIGHTSHIFT_CLOCK_START: '2027-03-29T08:00:40Z' });
    running.push(second);
    await until(
      () =>
        TASKS.every((t) => w.sim.viasState(PROJECT, t) === 'RUNNING') && w.history().length >= TASKS.length,
      30_000,
      'every task running, with history',
    );
    await until(
      () => TASKS.every((t) => w.history().some((e) => e.result.target === t && e.result.ok)),
      15_000,
      'outcomes',
    );
    const history = w.history();
    for (const t of TASKS) {
      const outcomes = history.filter((e) => e.result.target === t);
      expect(outcomes.length).toBeGreaterThanOrEqual(1);
      expect(outcomes.at(-1).result).toMatchObject({ ok: true, desired: 'running', observed: 'RUNNING' });
    }
    // No task was started twice: a call made before the kill is resolved by status, not repeated.
    for (const t of TASKS) expect(w.sim.requestsTo(`/tasks/${t}/action/start`).length).toBeLessThanOrEqual(1);
  }, 60_000);

  it('two serve processes sharing --state make one call per target per edge', async () => {
    const w = await world();
    cleanup.push(async () => {
      await w.sim.stop();
      rmSync(w.dir, { recursive: true, force: true });
    });
    w.sim.latencyMs = 30;
    const env = { NIGHTSHIFT_CLOCK_SPEED: '6', NIGHTSHIFT_CLOCK_START: '2027-03-29T07:59:57Z' };
    const [a, b] = await Promise.all([spawnServe(w.args, env), spawnServe(w.args, env)]);
    running.push(a, b);
    await until(() => TASKS.every((t) => w.sim.viasState(PROJECT, t) === 'RUNNING'), 20_000, 'all running');
    // Let both processes run a few more minutes: nothing more to do.
    await new Promise((resolve) => setTimeout(resolve, 7_000));
    for (const t of TASKS) expect(w.sim.requestsTo(`/tasks/${t}/action/start`)).toHaveLength(1);
    const history = w.history();
    expect(history.filter((e) => e.result.status === 'succeeded')).toHaveLength(TASKS.length);
  }, 60_000);
});
