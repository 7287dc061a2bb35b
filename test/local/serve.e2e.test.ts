import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { sign } from '../../functions/api/signature.ts';
import { type RawSchedule, rawConfig } from '../helpers/config.ts';
import { type Served, spawnServe } from '../helpers/process.ts';

const exec = promisify(execFile);
const START = '2027-03-29T05:59:57Z';

function workspace(
  schedules: RawSchedule[] = [
    {
      id: 'every-minute',
      targets: ['night-batch'],
      timezone: 'UTC',
      actions: [{ do: 'start', cron: '* * * * *' }],
    },
  ],
) {
  const dir = mkdtempSync(join(tmpdir(), 'nightshift-serve-'));
  const config = join(dir, 'schedule.json');
  writeFileSync(config, JSON.stringify(rawConfig(schedules), null, 2));
  const state = join(dir, 'state');
  /** `serve` against the simulator, on a free port, with this workspace's config and state. */
  const args = ['--simulate', '--port', '0', '--config', config, '--state', state];
  return { dir, config, state, args };
}

/** The webhook key `serve --simulate` generated into the state folder. */
const demoKey = (state: string): string =>
  JSON.parse(readFileSync(join(state, 'demo-secrets.json'), 'utf8'))['nightshift/webhook'].key;

const history = (state: string) =>
  readFileSync(join(state, 'history.jsonl'), 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line));

describe('nightshift serve as a real process', () => {
  const running: Served[] = [];
  afterEach(async () => {
    await Promise.all(running.splice(0).map((s) => s.stop('SIGKILL')));
  });

  it('fires a * * * * * rule once per minute on a scaled clock, answers HTTP, and stops cleanly on SIGTERM', async () => {
    // Prepare: one virtual minute per real second
    const ws = workspace();
    const served = await spawnServe(ws.args, {
      NIGHTSHIFT_CLOCK_START: START,
      NIGHTSHIFT_CLOCK_SPEED: '60',
    });
    running.push(served);
    // Act (readable lines give times in the config's zone, UTC here: one zone per output)
    await served.waitFor(/2027-03-29 06:04 every-minute: start night-batch ok/, 20_000);
    const health = await fetch(`${served.url}/v1/health`);
    const code = await served.stop('SIGTERM');
    running.splice(0);
    // Assess
    expect(health.status).toBe(200);
    expect(await health.json()).toEqual({ ok: true });
    expect(code).toBe(0);
    // Every minute from the first one after start-up, once each, none skipped
    const fired = history(ws.state).map((e) => Date.parse(e.scheduledAt));
    expect(fired.length).toBeGreaterThanOrEqual(4);
    expect(fired).toContain(Date.parse('2027-03-29T06:04:00Z'));
    for (let i = 1; i < fired.length; i++) expect(fired[i]! - fired[i - 1]!).toBe(60_000);
    expect(served.stdout()).toMatch(/stopping: finishing in-flight work/);
    // Logs: JSON lines on stderr, one per action, no secret
    const logs = served
      .stderr()
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l));
    const actions = logs.filter((l) => l.message === 'action');
    expect(actions.length).toBe(fired.length);
    expect(actions[0]).toMatchObject({
      target: 'night-batch',
      action: 'start',
      result: 'succeeded',
      httpStatus: 200,
      trigger: 'tick',
    });
    expect(actions[0].durationMs).toEqual(expect.any(Number));
    const secrets = JSON.parse(readFileSync(join(ws.state, 'demo-secrets.json'), 'utf8'));
    for (const value of Object.values(secrets) as Record<string, string>[]) {
      for (const secret of Object.values(value))
        expect(served.stderr() + served.stdout()).not.toContain(secret);
    }
  }, 40_000);

  it('two processes sharing one state folder fire each minute once', async () => {
    const ws = workspace();
    const env = { NIGHTSHIFT_CLOCK_START: START, NIGHTSHIFT_CLOCK_SPEED: '60' };
    const args = ws.args;
    const [a, b] = await Promise.all([spawnServe(args, env), spawnServe(args, env)]);
    running.push(a, b);
    await Promise.race([a.waitFor(/ 06:05 every-minute/, 25_000), b.waitFor(/ 06:05 every-minute/, 25_000)]);
    const fired = history(ws.state).map((e) => e.scheduledAt);
    expect(fired).toContain('2027-03-29T06:05:00Z');
    expect(new Set(fired).size).toBe(fired.length);
  }, 40_000);

  it('after being away, brings targets to the state their schedules say at once, marked late', async () => {
    // Prepare: the last evaluation was 90 minutes ago; the window opened at 08:00 meanwhile
    const ws = workspace([
      { id: 'office', targets: ['face-search'], timezone: 'UTC', window: 'Mon-Fri 08:00-20:00' },
    ]);
    const { mkdirSync } = await import('node:fs');
    mkdirSync(ws.state, { recursive: true });
    writeFileSync(join(ws.state, 'cursor.json'), JSON.stringify({ evaluatedTo: '2027-03-29T07:00:00Z' }));
    // Act
    const served = await spawnServe(ws.args, {
      NIGHTSHIFT_CLOCK_START: '2027-03-29T08:30:57Z',
      NIGHTSHIFT_CLOCK_SPEED: '1',
    });
    running.push(served);
    await served.waitFor(/ 08:00 office: start face-search ok.*\(late\)/, 20_000);
    // Assess
    const [entry, ...rest] = history(ws.state);
    expect(rest).toHaveLength(0);
    expect(entry).toMatchObject({
      schedule: 'office',
      scheduledAt: '2027-03-29T08:00:00Z',
      late: true,
      result: { target: 'face-search', status: 'succeeded', verified: true, desired: 'running' },
    });
    expect(served.stderr()).toMatch(/"message":"catching up"/);
  }, 40_000);

  it('re-reads the config when it changes and refuses an invalid edit, keeping the last good one', async () => {
    const ws = workspace([]);
    const served = await spawnServe(ws.args, {
      NIGHTSHIFT_CLOCK_START: START,
      NIGHTSHIFT_CLOCK_SPEED: '1',
    });
    running.push(served);
    writeFileSync(ws.config, '{"version": 1, "accounts": {}, "targets": {}, "schedules": [{"id": "x"}]}');
    await served.waitFor(
      /config change refused, the last good config stays in force:[\s\S]*schedules\[0\]/,
      15_000,
    );
    expect(served.stderr()).toMatch(/"message":"config change refused; the last good config stays in force"/);
    writeFileSync(
      ws.config,
      JSON.stringify(
        rawConfig([{ id: 'new', targets: ['night-batch'], actions: [{ do: 'start', cron: '0 9 * * *' }] }]),
      ),
    );
    await served.waitFor(/config reloaded: 1 schedules/, 15_000);
  }, 40_000);

  it('answers hundreds of concurrent requests correctly', async () => {
    // Prepare
    const ws = workspace();
    const served = await spawnServe(ws.args);
    running.push(served);
    const key = demoKey(ws.state);
    const signed = (body: string, valid: boolean) => {
      const timestamp = String(Math.floor(Date.now() / 1000));
      return fetch(`${served.url}/v1/actions`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'x-nightshift-timestamp': timestamp,
          'x-nightshift-signature': sign(
            valid ? key : 'wrong-key-0123456789abcdef',
            timestamp,
            'POST',
            '/v1/actions',
            body,
          ),
        },
        body,
      });
    };
    // Act
    const answers = await Promise.all(
      Array.from({ length: 300 }, async (_, i) => {
        const kind = i % 3;
        const response =
          kind === 0
            ? await fetch(`${served.url}/v1/health`)
            : await signed(
                // A distinct reason per request: one signature is good for one request.
                JSON.stringify({ action: 'start', targets: ['night-batch'], dryRun: true, reason: `r${i}` }),
                kind === 1,
              );
        return { kind, status: response.status, body: await response.json() };
      }),
    );
    // Assess
    for (const answer of answers) {
      if (answer.kind === 0) expect(answer).toMatchObject({ status: 200, body: { ok: true } });
      if (answer.kind === 1)
        expect(answer).toMatchObject({
          status: 200,
          body: { results: [{ target: 'night-batch', status: 'dry-run' }] },
        });
      if (answer.kind === 2)
        expect(answer).toMatchObject({ status: 401, body: { error: { code: 'unauthorized' } } });
    }
  }, 40_000);

  it('real-time smoke: at real speed, the minute fires when the wall clock reaches it', async () => {
    // Prepare: the clock runs at real speed, starting two seconds before a minute
    const ws = workspace();
    const served = await spawnServe(ws.args, {
      NIGHTSHIFT_CLOCK_START: '2027-03-29T06:59:58Z',
    });
    running.push(served);
    // Act / Assess
    await served.waitFor(/2027-03-29 07:00 every-minute: start night-batch ok/, 10_000);
    expect(history(ws.state).map((e) => e.scheduledAt)).toEqual(['2027-03-29T07:00:00Z']);
  }, 30_000);

  it('nightshift trigger signs a request and prints the answer', async () => {
    // Prepare
    const ws = workspace();
    const served = await spawnServe(ws.args);
    running.push(served);
    const key = demoKey(ws.state);
    const trigger = (args: string[], envKey = key) =>
      exec(process.execPath, ['bin/nightshift.mjs', 'trigger', '--url', served.url, ...args], {
        env: { ...process.env, NIGHTSHIFT_WEBHOOK_KEY: envKey },
      }).then(
        (r) => ({ code: 0, ...r }),
        (e: { code: number; stdout: string; stderr: string }) => e,
      );
    // Act
    const table = await trigger(['--action', 'pause', '--target', 'replication', '--reason', 'e2e']);
    const json = await trigger(['--action', 'start', '--target', 'night-batch', '--json']);
    // Refused ones change nothing, so they may run side by side.
    const [refused, unknown, malformed, badKey] = await Promise.all([
      trigger(['--action', 'pause', '--target', 'face-search']),
      trigger(['--action', 'start', '--target', 'nobody']),
      trigger(['--action', 'start', '--target', 'night-batch', '--reason', 'x'.repeat(1001)]),
      trigger(['--action', 'start', '--target', 'night-batch'], 'not-the-key-0123456789'),
    ]);
    // Assess
    expect(table.code).toBe(0);
    expect(table.stdout).toMatch(/orders-sync\s+drs-job\s+pause\s+succeeded/);
    expect(JSON.parse(json.stdout).results[0]).toMatchObject({ target: 'night-batch', ok: true });
    // The mistakes `run` calls bad usage are bad usage here too: exit 2, as the contract says.
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/422 unsupported_action: target "face-search" is a vias-task/);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/404 not_found: .*nobody/);
    expect(malformed.code).toBe(2);
    expect(malformed.stderr).toMatch(/400 bad_request/);
    expect(badKey.code).toBe(1);
    expect(badKey.stderr).toMatch(/401 unauthorized/);
    const entries = history(ws.state).filter((e) => e.trigger === 'http');
    expect(entries.map((e) => [e.result.target, e.reason ?? null])).toEqual([
      ['orders-sync', 'e2e'],
      ['billing-sync', 'e2e'],
      ['night-batch', null],
    ]);
  }, 60_000);

  it('answers 413 to an oversized body over the wire', async () => {
    const ws = workspace();
    const served = await spawnServe(ws.args);
    running.push(served);
    const response = await fetch(`${served.url}/v1/actions`, {
      method: 'POST',
      body: 'x'.repeat(200 * 1024),
    });
    expect(response.status).toBe(413);
    expect(((await response.json()) as { error: { code: string } }).error.code).toBe('payload_too_large');
  }, 40_000);
});
