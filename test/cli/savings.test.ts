import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ApiRig, startApiRig, WEBHOOK_KEY } from '../helpers/api.ts';
import { runCli } from '../helpers/cli.ts';

describe('nightshift savings', () => {
  let api: ApiRig;
  let server: Server;
  let url: string;
  let configFile: string;
  const cli = (args: string[], env: Record<string, string> = {}) =>
    runCli(['savings', '--config', configFile, ...args], { now: () => new Date(api.now), env });

  beforeAll(async () => {
    api = await startApiRig(); // now: Monday 2027-03-29 05:00 UTC
    await api.ledger.recordObservations([
      { target: 'orders-sync', at: Date.parse('2027-03-26T20:00:00.000Z'), state: 'paused' },
    ]);
    configFile = join(api.ledger.dir, 'schedule.json');
    writeFileSync(configFile, JSON.stringify(api.config));
    // The router behind a plain HTTP server, as serve and API Gateway put it.
    server = createServer(async (req, res) => {
      const chunks: Buffer[] = [];
      for await (const chunk of req) chunks.push(chunk as Buffer);
      const target = req.url ?? '/';
      const parsed = new URL(target, 'http://localhost');
      const answer = await api.router.handle({
        method: req.method ?? 'GET',
        path: parsed.pathname,
        target,
        query: Object.fromEntries(parsed.searchParams),
        headers: req.headers as Record<string, string>,
        body: Buffer.concat(chunks),
      });
      res.writeHead(answer.status, answer.headers).end(answer.body);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
    await api.close();
  });

  it('reads the state folder, or a running API with --url: the same report', async () => {
    const local = await cli(['--state', api.ledger.dir, '--json', '--target', 'orders-sync']);
    expect(local.stderr).toBe('');
    const report = JSON.parse(local.stdout);
    expect(report).toMatchObject({ from: '2027-03-01T00:00:00.000Z', to: '2027-03-29T05:00:00.000Z' });
    expect(report.targets).toEqual([expect.objectContaining({ target: 'orders-sync', heldOffHours: 57 })]);
    const remote = await cli(['--url', url, '--json', '--target', 'orders-sync'], {
      NIGHTSHIFT_WEBHOOK_KEY: WEBHOOK_KEY,
    });
    expect(remote.stderr).toBe('');
    expect(JSON.parse(remote.stdout)).toEqual(report);
  });

  it('counts a target given twice with --target once (one row, one share of the totals)', async () => {
    const args = ['--state', api.ledger.dir, '--csv', '--from', '2027-03-27', '--to', '2027-03-28'];
    const once = await cli([...args, '--target', 'orders-sync']);
    const twice = await cli([...args, '--target', 'orders-sync', '--target', 'orders-sync']);
    expect(twice.stderr).toBe('');
    expect(twice.stdout).toBe(once.stdout);
    expect(twice.stdout).toContain('(total),,1 target(s),24,');
  });

  it('reads a date of the years 0 to 99 as written, not as 1900 and after', async () => {
    const run = await cli([
      '--state',
      api.ledger.dir,
      '--json',
      '--from',
      '0099-12-31',
      '--to',
      '0100-01-02',
    ]);
    expect(run.stderr).toBe('');
    expect(JSON.parse(run.stdout)).toMatchObject({
      from: '0099-12-31T00:00:00.000Z',
      to: '0100-01-02T00:00:00.000Z',
    });
  });

  it.each(['overrides.jsonl', 'observed-2027-03.log'])(
    'names the file when the state folder holds one it cannot read (%s a folder)',
    async (name) => {
      const state = mkdtempSync(join(tmpdir(), 'nightshift-savings-cli-'));
      try {
        mkdirSync(join(state, 'savings', name), { recursive: true });
        const run = await cli(['--state', state, '--from', '2027-03-02', '--to', '2027-03-03']);
        expect(run.code).toBe(1);
        expect(run.stderr).toContain(join(state, 'savings', name));
        expect(run.stderr).toContain('EISDIR');
      } finally {
        rmSync(state, { recursive: true, force: true });
      }
    },
  );

  it.each([
    [['--json', '--csv'], 'give --json or --csv, not both'],
    [['--target', 'nope'], 'unknown target "nope"'],
    [['--from', '2027-03-10', '--to', '2027-03-01'], 'must be later than --from'],
    [['--from', '2025-01-01'], 'at most 400 days'],
    [['--from', 'last week'], '--from must be an ISO 8601 instant'],
  ])('%j is bad usage (exit 2)', async (args, message) => {
    const run = await cli(['--state', api.ledger.dir, ...args]);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain(message);
  });

  it('an API refusal is bad usage too', async () => {
    const run = await cli(['--url', url, '--from', '2025-01-01'], { NIGHTSHIFT_WEBHOOK_KEY: WEBHOOK_KEY });
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('400 bad_request: a savings range may span at most 400 days');
  });
});
