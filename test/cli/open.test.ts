import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { checkSignInToken } from '../../functions/page/sign-in.ts';
import { runCli } from '../helpers/cli.ts';
import { rawConfig } from '../helpers/config.ts';

const KEY = 'open-test-webhook-key-0123456789';
const NOW = new Date('2027-03-26T18:00:00Z');
const dirs: string[] = [];
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});
const workspace = () => {
  const dir = mkdtempSync(join(tmpdir(), 'nightshift-open-'));
  dirs.push(dir);
  writeFileSync(
    join(dir, 'schedule.json'),
    JSON.stringify(rawConfig([], { webhook: { secret: 'team/webhook' } })),
  );
  return dir;
};
const open = (args: string[], env: Record<string, string> = { NIGHTSHIFT_WEBHOOK_KEY: KEY }, cwd?: string) =>
  runCli(['open', ...args], { env, now: () => NOW, ...(cwd ? { cwd } : {}) });
const tokenOf = (url: string) => new URL(url).searchParams.get('token')!;

describe('nightshift open', () => {
  it('prints a one-time write link for the local serve, alone on stdout, signed with the webhook key', async () => {
    const run = await open(['--as', 'alice']);
    expect(run.code).toBe(0);
    const url = run.stdout.trim();
    expect(run.stdout).toBe(`${url}\n`);
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:8787\/signin\?token=v1\./);
    expect(run.stderr).toBe(
      'One use, until 2027-03-26T18:15:00.000Z; can create and remove overrides; signs in as alice.\n',
    );
    expect(checkSignInToken(KEY, tokenOf(url), NOW.getTime())).toMatchObject({
      ok: true,
      claims: { scope: 'write', as: 'alice', exp: Date.parse('2027-03-26T18:15:00Z') },
    });
  });

  it('--read-only, --ttl and --url (a stage path kept); --json', async () => {
    const run = await open([
      '--read-only',
      '--ttl',
      '2h',
      '--url',
      'https://abc.execute-api.eu-central-1.amazonaws.com/prod/',
      '--as',
      'auditor',
      '--json',
    ]);
    expect(run.code).toBe(0);
    const answer = JSON.parse(run.stdout);
    expect(answer).toEqual({
      url: expect.stringMatching(
        /^https:\/\/abc\.execute-api\.eu-central-1\.amazonaws\.com\/prod\/signin\?token=/,
      ),
      expiresAt: '2027-03-26T20:00:00.000Z',
      scope: 'read',
      as: 'auditor',
    });
    expect(checkSignInToken(KEY, tokenOf(answer.url), NOW.getTime())).toMatchObject({
      ok: true,
      claims: { scope: 'read' },
    });
  });

  it('on a scaled clock (NIGHTSHIFT_CLOCK_START) the link expires on that clock, as serve judges it', async () => {
    const run = await open(['--json'], {
      NIGHTSHIFT_WEBHOOK_KEY: KEY,
      NIGHTSHIFT_CLOCK_START: '2030-01-01T00:00:00Z',
    });
    expect(JSON.parse(run.stdout).expiresAt).toBe('2030-01-01T00:15:00.000Z');
  });

  it('finds the key in --secrets FILE under the config’s webhook secret, or in the folder of serve --simulate', async () => {
    const dir = workspace();
    writeFileSync(join(dir, 'secrets.json'), JSON.stringify({ 'team/webhook': { key: KEY } }));
    const fromFile = await open(['--secrets', 'secrets.json', '--config', 'schedule.json'], {}, dir);
    expect(fromFile.code).toBe(0);
    expect(checkSignInToken(KEY, tokenOf(fromFile.stdout.trim()), NOW.getTime()).ok).toBe(true);

    mkdirSync(join(dir, '.nightshift'));
    writeFileSync(
      join(dir, '.nightshift', 'demo-secrets.json'),
      JSON.stringify({ 'team/webhook': { key: `${KEY}-demo` } }),
    );
    const fromDemo = await open(['--config', 'schedule.json'], {}, dir);
    expect(checkSignInToken(`${KEY}-demo`, tokenOf(fromDemo.stdout.trim()), NOW.getTime()).ok).toBe(true);
  });

  it('bad usage: no key anywhere, a bad --ttl, a bad --url; the key never shows', async () => {
    const dir = workspace();
    const none = await open(['--config', 'schedule.json'], {}, dir);
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(
      /no webhook key: set NIGHTSHIFT_WEBHOOK_KEY, give --secrets FILE, or start "serve --simulate" first/,
    );
    for (const ttl of ['0m', '25h', 'soon'])
      expect((await open(['--ttl', ttl])).stderr).toMatch(
        /--ttl must be a duration such as 90s, 15m, 2h or 1h30m, at most 24h/,
      );
    expect((await open(['--url', 'ftp://x'])).code).toBe(2);
    writeFileSync(join(dir, 'bad.json'), JSON.stringify({ 'team/webhook': { key: 'short' } }));
    const bad = await open(['--secrets', 'bad.json', '--config', 'schedule.json'], {}, dir);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('must hold {"key": "<at least 16 characters>"}');
    expect(bad.stderr).not.toContain('short');
  });

  it('is listed in the overview', async () => {
    expect((await runCli(['--help'])).stdout).toMatch(
      / {2}open {2,}print a one-time sign-in link to the page/,
    );
  });
});
