import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { rawConfig } from '../helpers/config.ts';
import { type Served, spawnServe } from '../helpers/process.ts';

/** Short server timeouts so the slow-client paths run in seconds, not minutes. */
const FAST = {
  NIGHTSHIFT_HTTP_REQUEST_TIMEOUT_MS: '1500',
  NIGHTSHIFT_SHUTDOWN_GRACE_MS: '1000',
};

function workspace(schedules: Record<string, unknown>[] = []) {
  const dir = mkdtempSync(join(tmpdir(), 'nightshift-robust-'));
  const config = join(dir, 'schedule.json');
  writeFileSync(config, JSON.stringify(rawConfig(schedules as never), null, 2));
  const state = join(dir, 'state');
  return { dir, config, state, args: ['--simulate', '--port', '0', '--config', config, '--state', state] };
}

/** Sends raw bytes on a fresh connection; resolves with whatever the server wrote before closing. */
function raw(url: string, bytes: string, options: { keepOpenMs?: number; destroyAfterMs?: number } = {}) {
  const { hostname, port } = new URL(url);
  return new Promise<string>((resolve) => {
    const socket = connect(Number(port), hostname);
    let answer = '';
    socket.on('data', (chunk) => {
      answer += chunk;
    });
    socket.on('error', () => resolve(answer));
    socket.on('close', () => resolve(answer));
    socket.write(bytes);
    if (options.destroyAfterMs !== undefined)
      setTimeout(() => {
        socket.destroy();
        resolve(answer);
      }, options.destroyAfterMs);
  });
}

const alive = async (served: Served) => (await fetch(`${served.url}/v1/health`)).status === 200;

describe('serve survives clients and stops in bounded time', () => {
  const running: Served[] = [];
  const sockets: Socket[] = [];
  afterEach(async () => {
    for (const s of sockets.splice(0)) s.destroy();
    await Promise.all(running.splice(0).map((s) => s.stop('SIGKILL')));
  });

  it('a request target like //[ is answered with a JSON error and the process keeps serving', async () => {
    const ws = workspace();
    const served = await spawnServe(ws.args, FAST);
    running.push(served);
    const answer = await raw(served.url, 'GET //[ HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    expect(answer).toMatch(/^HTTP\/1\.1 4\d\d/);
    expect(answer).toMatch(/\{"error":\{"code":/);
    expect(await alive(served)).toBe(true);
    expect(served.child.exitCode).toBeNull();
  }, 30_000);

  it('a client that disconnects mid-body, or never finishes its body, does not end the process', async () => {
    const ws = workspace();
    const served = await spawnServe(ws.args, FAST);
    running.push(served);
    const head =
      'POST /v1/actions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 60000\r\n\r\n';
    // Disconnects after a part of the body
    await raw(served.url, `${head}${'x'.repeat(1000)}`, { destroyAfterMs: 200 });
    // Leaves its body unfinished until the server's request timeout
    const unfinished = await raw(served.url, `${head}${'x'.repeat(1000)}`);
    expect(unfinished === '' || /^HTTP\/1\.1 408/.test(unfinished)).toBe(true);
    await new Promise((r) => setTimeout(r, 300));
    expect(served.child.exitCode).toBeNull();
    expect(await alive(served)).toBe(true);
    expect(served.stderr()).not.toMatch(/Unhandled|ERR_UNHANDLED|aborted/i);
  }, 30_000);

  it('SIGTERM with an idle keep-alive connection and a slow client: exits 0 within the grace period', async () => {
    const ws = workspace();
    const served = await spawnServe(ws.args, FAST);
    running.push(served);
    const { hostname, port } = new URL(served.url);
    // An idle keep-alive connection
    const idle = connect(Number(port), hostname);
    // The server closing these connections on shutdown is the point: a reset is expected.
    idle.on('error', () => undefined);
    sockets.push(idle);
    idle.write('GET /v1/health HTTP/1.1\r\nHost: x\r\n\r\n');
    await new Promise((r) => idle.once('data', r));
    // A client trickling a body
    const slow = connect(Number(port), hostname);
    slow.on('error', () => undefined);
    sockets.push(slow);
    slow.write('POST /v1/actions HTTP/1.1\r\nHost: x\r\nContent-Length: 60000\r\n\r\nxx');
    const trickle = setInterval(() => slow.writable && slow.write('x'), 100);
    await new Promise((r) => setTimeout(r, 300));
    const started = Date.now();
    const code = await served.stop('SIGTERM');
    clearInterval(trickle);
    running.splice(0);
    expect(code).toBe(0);
    expect(Date.now() - started).toBeLessThan(5_000);
  }, 30_000);

  it('a busy port: exits 1 with a clear message and leaves no simulator behind', async () => {
    const blocker: Server = createServer();
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', r));
    const port = (blocker.address() as { port: number }).port;
    try {
      const ws = workspace();
      const args = ws.args.map((a) => (a === '0' ? String(port) : a));
      const child: ChildProcess = spawn(process.execPath, ['bin/nightshift.mjs', 'serve', ...args], {
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let err = '';
      child.stderr!.on('data', (c) => {
        err += c;
      });
      const code = await new Promise<number | null>((resolve) => {
        const timer = setTimeout(() => {
          child.kill('SIGKILL');
          resolve(-1);
        }, 15_000);
        child.on('exit', (c) => {
          clearTimeout(timer);
          resolve(c);
        });
      });
      expect(code).toBe(1);
      expect(err).toMatch(new RegExp(`127\\.0\\.0\\.1:${port} is already in use`));
      expect(err).not.toMatch(/\n\s+at /);
    } finally {
      blocker.close();
    }
  }, 30_000);

  it('--host: binds where asked and warns when that is not loopback', async () => {
    const ws = workspace();
    const served = await spawnServe([...ws.args, '--host', '0.0.0.0'], FAST);
    running.push(served);
    await served.waitFor(/warning: .*0\.0\.0\.0.*reachable from other hosts/);
    const port = new URL(served.url).port;
    expect((await fetch(`http://127.0.0.1:${port}/v1/health`)).status).toBe(200);
    const local = await spawnServe(workspace().args, FAST);
    running.push(local);
    expect(local.url).toMatch(/^http:\/\/127\.0\.0\.1:/);
    await local.waitFor(/Next actions|No actions/);
    expect(local.stdout()).not.toMatch(/warning/);
  }, 30_000);

  it('warns at start, naming the secret, when the webhook secret is missing', async () => {
    const ws = workspace();
    const secrets = join(ws.dir, 'secrets.json');
    writeFileSync(secrets, JSON.stringify({ 'nightshift/prod': { token: 'not-used-here-0123' } }));
    const served = await spawnServe(
      ['--secrets', secrets, '--port', '0', '--config', ws.config, '--state', ws.state],
      FAST,
    );
    running.push(served);
    await served.waitFor(/warning: the webhook secret "nightshift\/webhook" is missing/);
    for (let i = 0; i < 50 && !served.stderr().includes('"secret":"nightshift/webhook"'); i++)
      await new Promise((r) => setTimeout(r, 100));
    expect(served.stderr()).toMatch(/"secret":"nightshift\/webhook"/);
  }, 30_000);

  it('a ledger that keeps failing: backs off, stays responsive, stops on SIGTERM, recovers when fixed', async () => {
    const ws = workspace([
      {
        id: 'every-minute',
        targets: ['night-batch'],
        timezone: 'UTC',
        actions: [{ do: 'start', cron: '* * * * *' }],
      },
    ]);
    // Files where the ledger's folders belong: every read and claim fails
    mkdirSync(ws.state, { recursive: true });
    for (const folder of ['claims', 'targets']) writeFileSync(join(ws.state, folder), 'not a folder');
    const served = await spawnServe(ws.args, {
      ...FAST,
      NIGHTSHIFT_CLOCK_START: '2027-03-29T05:59:58Z',
      NIGHTSHIFT_CLOCK_SPEED: '60',
    });
    running.push(served);
    await new Promise((r) => setTimeout(r, 3_000));
    const failures = served.stderr().match(/"message":"tick failed"/g)?.length ?? 0;
    expect(failures).toBeGreaterThan(0);
    expect(failures).toBeLessThan(10);
    expect(await alive(served)).toBe(true);
    // Fixed: the next attempt claims and fires
    for (const folder of ['claims', 'targets']) rmSync(join(ws.state, folder));
    await served.waitFor(/every-minute: start night-batch ok/, 20_000);
    const started = Date.now();
    expect(await served.stop('SIGTERM')).toBe(0);
    running.splice(0);
    expect(Date.now() - started).toBeLessThan(5_000);
  }, 40_000);
});
