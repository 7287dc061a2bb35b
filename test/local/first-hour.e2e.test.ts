import { spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { runNightshift, type Served, spawnServe } from '../helpers/process.ts';

/**
 * Issue 20, the on-call night, with real processes: `serve --simulate` on the demo clock and the
 * CLI beside it, as the README's walk-throughs run them. The config is the example users start
 * from (zone Asia/Shanghai; office-hours in Europe/Berlin, Mon-Fri 08:00-20:00).
 */

const CLOCK = { NIGHTSHIFT_CLOCK_START: '2027-03-29T19:50:00+02:00', NIGHTSHIFT_CLOCK_SPEED: '60' };

function workspace() {
  const dir = mkdtempSync(join(tmpdir(), 'nightshift-first-hour-'));
  const config = join(dir, 'schedule.json');
  copyFileSync('config/schedule.json', config);
  const state = join(dir, 'state');
  return { dir, config, state, args: ['--simulate', '--port', '0', '--config', config, '--state', state] };
}

const demoSecrets = (state: string) => JSON.parse(readFileSync(join(state, 'demo-secrets.json'), 'utf8'));

describe('the on-call night on the demo clock', () => {
  // One serve for the first three: each looks at other targets.
  let ws: ReturnType<typeof workspace>;
  let served: Served;
  beforeAll(async () => {
    ws = workspace();
    served = await spawnServe(ws.args, CLOCK);
  });
  afterAll(async () => {
    await served?.stop('SIGKILL');
  });

  it('finding 2: every command follows the demo clock, signing included; an override made on another clock is said to be dropped', async () => {
    // Prepare
    const key = demoSecrets(ws.state)['nightshift/webhook'].key as string;
    const cli = (args: string[], env: Record<string, string> = CLOCK) =>
      runNightshift([...args, '--config', ws.config], { env: { ...env, NIGHTSHIFT_WEBHOOK_KEY: key } });
    // Act: a signed request on the demo clock (before: 401, "timestamp is more than 300 s from now")
    const status = await cli(['status', '--url', served.url, '--state', ws.state, '--json']);
    // ... an override made in the state folder on the demo clock (before: on the real clock)
    const onClock = await cli([
      'override',
      'add',
      '--target',
      'billing-sync',
      '--state',
      'running',
      '--until',
      '23:00',
      '--reason',
      'release 4.2',
      '--state-dir',
      ws.state,
      '--json',
    ]);
    // ... and one made without the clock: already over by serve's clock
    const offClock = await cli(
      [
        'override',
        'add',
        '--target',
        'load-test',
        '--state',
        'stopped',
        '--until',
        '23:00',
        '--reason',
        'made on the real clock',
        '--state-dir',
        ws.state,
        '--json',
      ],
      {},
    );
    // Assess
    expect(status.code).toBe(0);
    expect(JSON.parse(status.stdout).targets.map((t: { target: string }) => t.target)).toContain(
      'orders-sync',
    );
    expect(onClock.code).toBe(0);
    const held = JSON.parse(onClock.stdout);
    expect(held.until).toBe('2027-03-29T21:00:00.000Z'); // 23:00 in Berlin, billing-sync's zone
    expect(Date.parse(held.from)).toBeGreaterThanOrEqual(Date.parse('2027-03-29T17:50:00Z'));
    expect(Date.parse(held.from)).toBeLessThan(Date.parse('2027-03-29T18:30:00Z'));
    const dropped = JSON.parse(offClock.stdout);
    await served.waitFor(
      new RegExp(`override ${dropped.id} \\(stopped load-test\\) dropped: it ended at`),
      20_000,
    );
    expect(served.stdout()).not.toMatch(new RegExp(`override ${held.id} .*dropped`));
    expect(served.stderr()).toMatch(/"message":"override dropped: it was already over by this runtime clock/);
  }, 60_000);

  it('finding 8: serve shows its next actions in one named zone; its JSON logs carry the runtime clock', async () => {
    // 20:00 in Berlin is 02:00 the next morning in the config's zone, Asia/Shanghai.
    await served.waitFor(/Next actions \(Asia\/Shanghai\):/);
    expect(served.stdout()).toMatch(/^2027-03-30 02:00\s+office-hours\s+pause\s+orders-sync, billing-sync$/m);
    expect(served.stdout()).not.toMatch(/\d{2}:\d{2}:\d{2}Z/);
    const lines = served
      .stderr()
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as { message: string; timestamp: string; realTime?: string });
    // Before: the real time, whatever clock the runtime was on.
    const serving = lines.find((l) => l.message === 'serving')!;
    expect(serving.timestamp).toMatch(/^2027-03-29T17:5\d:/);
    expect(serving.realTime).toMatch(/^20\d\d-/);
    expect(serving.realTime!.slice(0, 10)).not.toBe('2027-03-29');
  }, 60_000);

  it('finding 9: an action an override asks for names it, in the readable line and the log', async () => {
    const key = demoSecrets(ws.state)['nightshift/webhook'].key as string;
    // load-test runs from 19:00 to 23:00 Berlin (nightly-load-test): stopping it now is the override's doing.
    const added = await runNightshift(
      [
        'override',
        'add',
        '--url',
        served.url,
        '--target',
        'load-test',
        '--state',
        'stopped',
        '--until',
        '23:00',
        '--reason',
        'release soak test',
        '--config',
        ws.config,
        '--state-dir',
        ws.state,
        '--json',
      ],
      { env: { ...CLOCK, NIGHTSHIFT_WEBHOOK_KEY: key } },
    );
    expect(added.code).toBe(0);
    const { id } = JSON.parse(added.stdout);
    // Before: "2027-03-29T… : stop load-test ok", with neither schedule nor override.
    await served.waitFor(
      new RegExp(`^2027-03-30 0[12]:\\d\\d override ${id}: stop load-test ok`, 'm'),
      30_000,
    );
    expect(served.stderr()).toMatch(
      new RegExp(`"message":"action".*"override":"${id}".*"target":"load-test"`),
    );
  }, 60_000);
});

describe('serve on a terminal', () => {
  it('finding 9: on a terminal, serve prints readable lines only; no JSON log lines', async () => {
    // Prepare: a stale cursor, so the first tick catches up and warns
    const ws = workspace();
    mkdirSync(ws.state, { recursive: true });
    writeFileSync(join(ws.state, 'cursor.json'), JSON.stringify({ evaluatedTo: '2027-03-29T17:40:00Z' }));
    // Act: `script` gives the process a real terminal, as `npm start` in a shell has. The shell
    // says its pid and becomes serve (exec), bounded by `timeout` whatever happens to the test.
    const serve = ['node', 'bin/nightshift.mjs', 'serve', ...ws.args].map((a) => `'${a}'`).join(' ');
    const command = `timeout 40 sh -c "echo pid=\\$\\$; exec ${serve}"`;
    const child = spawn('script', ['-qfec', command, '/dev/null'], {
      env: { ...process.env, ...CLOCK },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let screen = '';
    child.stdout.on('data', (chunk) => (screen += chunk));
    const exited = new Promise((resolve) => child.on('exit', resolve));
    const until = Date.now() + 40_000;
    while (!/warning: catching up/.test(screen) && Date.now() < until)
      await new Promise((r) => setTimeout(r, 100));
    const pid = Number(/pid=(\d+)/.exec(screen)?.[1]);
    if (pid > 0) process.kill(pid, 'SIGTERM');
    await exited;
    // Assess
    expect(screen).toMatch(/Nightshift is serving/);
    expect(screen).toMatch(/^\d\d:\d\d:\d\d warning: catching up \(from /m);
    expect(screen).not.toMatch(/\{"level":/);
  }, 60_000);
});

describe('finding 3: access keys, the recommended secret form, work with serve --simulate', () => {
  const running: Served[] = [];
  afterEach(async () => {
    await Promise.all(running.splice(0).map((s) => s.stop('SIGKILL')));
  });
  const AKSK = { aksk: { ak: 'DEMOACCESSKEY0000001', sk: 'demo-secret-access-key-0000' } };

  it('keeps an aksk entry of the demo secrets, signs the runtime calls with it, and accepts `run` with the same file', async () => {
    // Prepare: the demo secrets as a user edited them, before serve starts
    const ws = workspace();
    mkdirSync(ws.state, { recursive: true });
    const secretsFile = join(ws.state, 'demo-secrets.json');
    writeFileSync(
      secretsFile,
      JSON.stringify({ 'nightshift/webhook': { key: 'k'.repeat(48) }, 'nightshift/prod': AKSK }, null, 2),
    );
    // Act
    const served = await spawnServe(ws.args, CLOCK);
    running.push(served);
    // The window is open at 19:50 Berlin: face-search (a VIAS task, stopped) is started, signed with the key.
    await served.waitFor(/office-hours: start face-search ok/, 30_000);
    const run = await runNightshift([
      'run',
      '--config',
      join(ws.state, 'simulator-config.json'),
      '--secrets',
      secretsFile,
      '--action',
      'stop',
      '--target',
      'load-test',
      '--json',
    ]);
    // Assess: before, serve wrote a token over the aksk entry, and run got "the access key does not exist"
    expect(demoSecrets(ws.state)['nightshift/prod']).toEqual(AKSK);
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout).results[0]).toMatchObject({ target: 'load-test', ok: true });
  }, 60_000);

  it('serve --simulate --secrets FILE uses the file as it is, access keys included, and never writes it', async () => {
    const ws = workspace();
    const secretsFile = join(ws.dir, 'secrets.json');
    const text = `${JSON.stringify({ 'nightshift/webhook': { key: 'w'.repeat(48) }, 'nightshift/prod': AKSK })}\n`;
    writeFileSync(secretsFile, text);
    const served = await spawnServe([...ws.args, '--secrets', secretsFile], CLOCK);
    running.push(served);
    // Before: --secrets was ignored under --simulate, and an aksk entry got "signature does not match".
    await served.waitFor(/office-hours: start face-search ok/, 30_000);
    expect(readFileSync(secretsFile, 'utf8')).toBe(text);
    expect(existsSync(join(ws.state, 'demo-secrets.json'))).toBe(false);
    const health = await runNightshift(
      ['status', '--url', served.url, '--config', ws.config, '--state', ws.state, '--json'],
      {
        env: { ...CLOCK, NIGHTSHIFT_WEBHOOK_KEY: 'w'.repeat(48) },
      },
    );
    expect(health.code).toBe(0);
  }, 60_000);
});
