import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.ts';
import { rawConfig } from '../helpers/config.ts';
import { type Served, spawnServe } from '../helpers/process.ts';

const dirs: string[] = [];
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

/** A config with the office window on orders-sync, in UTC, and a state folder. */
function workspace() {
  const dir = mkdtempSync(join(tmpdir(), 'nightshift-overrides-e2e-'));
  dirs.push(dir);
  const config = join(dir, 'schedule.json');
  writeFileSync(
    config,
    JSON.stringify(
      rawConfig(
        [{ id: 'office', targets: ['orders-sync'], timezone: 'UTC', window: 'Mon-Fri 08:00-20:00' }],
        {
          timezone: 'UTC',
        },
      ),
    ),
  );
  const state = join(dir, 'state');
  return { config, state, args: ['--simulate', '--port', '0', '--config', config, '--state', state] };
}

const demoKey = (state: string): string =>
  JSON.parse(readFileSync(join(state, 'demo-secrets.json'), 'utf8'))['nightshift/webhook'].key;

const history = (state: string) =>
  readFileSync(join(state, 'history.jsonl'), 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line));

/** The scaled clock a `serve` started now with START and SPEED shows, for signing requests to it. */
function clockOf(start: string, speed: number): () => Date {
  const realStart = Date.now();
  const startMs = Date.parse(start);
  return () => new Date(startMs + (Date.now() - realStart) * speed);
}

describe('overrides with real serve processes on a scaled clock', () => {
  const running: Served[] = [];
  afterEach(async () => {
    await Promise.all(running.splice(0).map((s) => s.stop('SIGKILL')));
  });

  it('a running override over 20:00 holds the DRS job; when it ends at 23:00 the job is paused within a minute, one history entry naming the schedule', async () => {
    // Prepare: the override is put into the state folder by the CLI before serve starts.
    const ws = workspace();
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
        '23:00',
        '--reason',
        'release tonight',
        '--config',
        ws.config,
        '--state-dir',
        ws.state,
        '--json',
      ],
      { now: () => new Date('2027-03-29T19:00:00Z') },
    );
    expect(added.code).toBe(0);
    const override = JSON.parse(added.stdout);
    expect(override.until).toBe('2027-03-29T23:00:00.000Z');
    // Act: ten virtual minutes a second, from 19:50 to past 23:00.
    const served = await spawnServe(ws.args, {
      NIGHTSHIFT_CLOCK_START: '2027-03-29T19:50:00Z',
      NIGHTSHIFT_CLOCK_SPEED: '600',
    });
    running.push(served);
    // Readable lines show times in the config's zone (UTC here), one zone per output.
    await served.waitFor(new RegExp(`override ${override.id} .* ends at 2027-03-29 23:00`), 30_000);
    await served.waitFor(/2027-03-29 20:00 office: pause orders-sync ok/, 30_000);
    // Assess
    const pauses = history(ws.state).filter((e) => e.result.action === 'pause');
    expect(pauses).toEqual([
      expect.objectContaining({
        schedule: 'office',
        scheduledAt: '2027-03-29T20:00:00Z',
        result: expect.objectContaining({ target: 'orders-sync', ok: true, status: 'succeeded' }),
      }),
    ]);
    const recorded = Date.parse(pauses[0].recordedAt);
    expect(recorded).toBeGreaterThanOrEqual(Date.parse('2027-03-29T23:00:00Z'));
    expect(recorded).toBeLessThanOrEqual(Date.parse('2027-03-29T23:01:00Z'));
    expect(pauses[0]).not.toHaveProperty('override');
    const log = served
      .stderr()
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l));
    expect(log).toContainEqual(
      expect.objectContaining({
        message: expect.stringMatching(/^override ending in 30 minutes/),
        override: override.id,
      }),
    );
  }, 60_000);

  it('two serve processes sharing --state see the same overrides, added and removed through either API', async () => {
    const ws = workspace();
    const start = '2027-03-29T10:00:00Z';
    const env = { NIGHTSHIFT_CLOCK_START: start, NIGHTSHIFT_CLOCK_SPEED: '1' };
    // Each --simulate process writes its own webhook key: read each after its start.
    const a = await spawnServe(ws.args, env);
    running.push(a);
    const keyA = demoKey(ws.state);
    const b = await spawnServe(ws.args, env);
    running.push(b);
    const keyB = demoKey(ws.state);
    const now = clockOf(start, 1);
    const via = (served: Served, key: string, args: string[]) =>
      runCli([...args, '--config', ws.config, '--url', served.url], {
        now,
        env: { NIGHTSHIFT_WEBHOOK_KEY: key },
      });

    // Act: add through A, list through B.
    const added = await via(a, keyA, [
      'override',
      'add',
      '--target',
      'orders-sync',
      '--state',
      'paused',
      // B's clock started a moment after A's: a start in the past holds on both.
      '--from',
      'today 09:59',
      '--until',
      '12:00',
      '--reason',
      'DBA at work',
      '--json',
    ]);
    expect(added.stderr).toBe('');
    const override = JSON.parse(added.stdout);
    const listed = await via(b, keyB, ['override', 'list', '--json']);
    // Assess
    expect(JSON.parse(listed.stdout)).toEqual({ overrides: [override] });
    const status = JSON.parse((await via(b, keyB, ['status', '--target', 'orders-sync', '--json'])).stdout);
    expect(status.targets[0]).toMatchObject({
      desired: 'paused',
      because: override.id,
      override: override.id,
    });
    // Removed through B: gone for A too; a second removal is unknown (404, exit 2).
    expect((await via(b, keyB, ['override', 'remove', override.id])).code).toBe(0);
    expect(JSON.parse((await via(a, keyA, ['override', 'list', '--json'])).stdout)).toEqual({
      overrides: [],
    });
    expect((await via(a, keyA, ['override', 'remove', override.id])).code).toBe(2);
  }, 60_000);
});
