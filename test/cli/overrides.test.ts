import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UsageError } from '../../functions/cli/io.ts';
import { parseTime } from '../../functions/cli/time.ts';
import { parseConfig } from '../../functions/engine/config/validate.ts';
import { reconcile } from '../../functions/engine/reconcile.ts';
import { HuaweiUpstream } from '../../functions/huawei/upstream.ts';
import { HuaweiSimulator } from '../../functions/local/simulator.ts';
import { FileLedger } from '../../functions/stores/local-ledger.ts';
import { MemorySecretSource } from '../../functions/stores/secrets.ts';
import { runCli } from '../helpers/cli.ts';
import { rawConfig } from '../helpers/config.ts';
import { PROJECT, TOKEN } from '../helpers/simulator.ts';

const JOB = 'c7debc9c-8e09-4a5d-8dd6-cc44f78jb20r';

describe('TIME options', () => {
  // Monday 2027-03-29 19:10 UTC = 21:10 CEST in Berlin.
  const now = Date.parse('2027-03-29T19:10:00Z');
  const berlin = (text: string, direction?: 'future' | 'past') =>
    new Date(parseTime(text, '--until', 'Europe/Berlin', now, direction)).toISOString();

  it('reads ISO instants and local wall times in the zone', () => {
    expect(berlin('2027-03-29T23:00:00Z')).toBe('2027-03-29T23:00:00.000Z');
    expect(berlin('23:00')).toBe('2027-03-29T21:00:00.000Z');
    expect(berlin('08:00')).toBe('2027-03-30T06:00:00.000Z');
    expect(berlin('08:00', 'past')).toBe('2027-03-29T06:00:00.000Z');
    expect(berlin('tomorrow 08:00')).toBe('2027-03-30T06:00:00.000Z');
    expect(berlin('today 23:00')).toBe('2027-03-29T21:00:00.000Z');
    expect(berlin('2027-10-31 02:30')).toBe('2027-10-31T00:30:00.000Z');
  });

  it('refuses a local time the clocks skip, and nonsense', () => {
    expect(() => berlin('2027-03-28 02:30')).toThrowError(UsageError);
    expect(() => berlin('25:00')).toThrowError(/not a time of day/);
    expect(() => berlin('tonight')).toThrowError(/ISO 8601 instant/);
  });
});

describe('nightshift override, status and history (local state folder, simulator)', () => {
  let sim: HuaweiSimulator;
  let dir: string;
  let configFile: string;
  let secretsFile: string;
  let state: string;
  const NOW = new Date('2027-03-29T19:10:00Z');
  const cli = (args: string[]) => runCli([...args, '--config', configFile], { now: () => NOW, env: {} });

  beforeAll(async () => {
    sim = new HuaweiSimulator();
    const url = await sim.start();
    dir = mkdtempSync(join(tmpdir(), 'nightshift-override-cli-'));
    state = join(dir, 'state');
    const raw = rawConfig(
      [{ id: 'office', targets: ['replication', 'face-search'], window: 'Mon-Fri 08:00-20:00' }],
      {
        timezone: 'Europe/Berlin',
        accounts: {
          prod: { region: 'cn-north-4', projectId: PROJECT, secret: 'nightshift/prod', endpoint: url },
        },
      },
    );
    configFile = join(dir, 'schedule.json');
    writeFileSync(configFile, JSON.stringify(raw));
    secretsFile = join(dir, 'secrets.json');
    writeFileSync(secretsFile, JSON.stringify({ 'nightshift/prod': { token: TOKEN } }));
    sim.seed(parseConfig(raw));
    sim.addToken(TOKEN, PROJECT);
  });
  afterAll(async () => {
    await sim.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('override add echoes the times local and UTC; list shows it; remove takes it away', async () => {
    // Act
    const added = await cli([
      'override',
      'add',
      '--target',
      'orders-sync',
      '--state',
      'running',
      '--until',
      '23:00',
      '--reason',
      'release tonight',
      '--state-dir',
      state,
    ]);
    // Assess
    expect(added.stderr).toBe('');
    expect(added.code).toBe(0);
    expect(added.stdout).toContain('until 2027-03-29 23:00 Europe/Berlin (2027-03-29T21:00:00Z)');
    const id = /override (ovr-[0-9a-f]{8})/.exec(added.stdout)![1]!;
    const listed = await cli(['override', 'list', '--state-dir', state, '--json']);
    expect(JSON.parse(listed.stdout)).toEqual({
      overrides: [
        expect.objectContaining({
          id,
          targets: ['orders-sync'],
          state: 'running',
          until: '2027-03-29T21:00:00.000Z',
        }),
      ],
    });
    expect((await cli(['override', 'list', '--state-dir', state])).stdout).toContain(`${id} (active)`);
    expect((await cli(['override', 'remove', id, '--state-dir', state])).code).toBe(0);
    expect((await cli(['override', 'remove', id, '--state-dir', state])).code).toBe(2);
    expect(JSON.parse((await cli(['override', 'list', '--state-dir', state, '--json'])).stdout)).toEqual({
      overrides: [],
    });
  });

  it('bad usage exits 2: a state the kind cannot have, an unknown target, no until, too long', async () => {
    const base = ['override', 'add', '--reason', 'r', '--state-dir', state];
    expect(
      (await cli([...base, '--target', 'orders-sync', '--state', 'stopped', '--until', '23:00'])).code,
    ).toBe(2);
    expect((await cli([...base, '--target', 'nope', '--state', 'running', '--until', '23:00'])).code).toBe(2);
    expect((await cli([...base, '--target', 'orders-sync', '--state', 'running'])).code).toBe(2);
    expect(
      (
        await cli([
          ...base,
          '--target',
          'orders-sync',
          '--state',
          'running',
          '--until',
          '2027-04-10T00:00:00Z',
        ])
      ).code,
    ).toBe(2);
    expect((await cli(['override', 'frobnicate'])).code).toBe(2);
  });

  it('status shows a manual change as out of sync, and an override as the reason', async () => {
    // Prepare: 21:10 in Berlin, the window closed at 20:00, so the jobs should be paused; someone
    // resumed orders-sync by hand (it runs) while billing-sync is paused.
    sim.addDrsJob(PROJECT, JOB, 'INCRE_TRANSFER_STARTED');
    sim.addDrsJob(PROJECT, '8d0e8e36-a618-490d-8a46-8c61ac9jb502', 'PAUSING');
    const stateDir = join(dir, 'status-state');
    // Act
    const json = await cli([
      'status',
      '--target',
      'orders-sync',
      '--target',
      'billing-sync',
      '--json',
      '--state',
      stateDir,
      '--secrets',
      secretsFile,
    ]);
    // Assess
    expect(json.stderr).toBe('');
    expect(JSON.parse(json.stdout).targets).toEqual([
      expect.objectContaining({
        target: 'orders-sync',
        desired: 'paused',
        because: 'office',
        observed: 'INCRE_TRANSFER_STARTED',
        inSync: false,
      }),
      expect.objectContaining({
        target: 'billing-sync',
        desired: 'paused',
        observed: 'PAUSING',
        inSync: true,
      }),
    ]);
    const table = await cli([
      'status',
      '--target',
      'orders-sync',
      '--state',
      stateDir,
      '--secrets',
      secretsFile,
    ]);
    // One zone per output, named above the table (finding 8): "since" used to be UTC beside a
    // next edge in the config zone.
    expect(table.stdout).toMatch(/^Times in Europe\/Berlin \(UTC\+02:00 now\)\.$/m);
    expect(table.stdout).toMatch(
      /orders-sync\s+drs-job\s+paused since 2027-03-29 20:00\s+INCRE_TRANSFER_STARTED\s+NO\s+office/,
    );
    expect(table.stdout).toContain('running at 2027-03-30 08:00 (office)');
    expect(table.stdout).not.toMatch(/\d{2}:\d{2}(:\d{2})?Z/);
    expect(table.stdout).toContain('1 out of sync');

    await cli([
      'override',
      'add',
      '--target',
      'orders-sync',
      '--state',
      'running',
      '--until',
      'tomorrow 01:00',
      '--reason',
      'load test',
      '--state-dir',
      stateDir,
    ]);
    const overridden = JSON.parse(
      (
        await cli([
          'status',
          '--target',
          'orders-sync',
          '--json',
          '--state',
          stateDir,
          '--secrets',
          secretsFile,
        ])
      ).stdout,
    );
    expect(overridden.targets[0]).toMatchObject({
      desired: 'running',
      inSync: true,
      override: expect.stringMatching(/^ovr-/),
    });
    expect(
      (await cli(['status', '--target', 'nope', '--state', stateDir, '--secrets', secretsFile])).code,
    ).toBe(2);
    expect((await cli(['status', '--state', stateDir])).code).toBe(2);
  });

  it('history --target X --limit 5: newest first, from the ledger the tick writes', async () => {
    // Prepare: a week of ticks at each edge of the window, recorded by reconcile itself.
    const stateDir = join(dir, 'history-state');
    const ledger = new FileLedger(stateDir);
    const raw = JSON.parse(readFileSync(configFile, 'utf8'));
    const config = parseConfig(raw);
    const upstream = new HuaweiUpstream({
      secrets: new MemorySecretSource({ 'nightshift/prod': { token: TOKEN } }),
    });
    try {
      for (const edge of [
        '2027-03-22T07:00Z',
        '2027-03-22T19:00Z',
        '2027-03-23T07:00Z',
        '2027-03-23T19:00Z',
        '2027-03-24T07:00Z',
        '2027-03-24T19:00Z',
        '2027-03-25T07:00Z',
        '2027-03-25T19:00Z',
      ]) {
        const t = Date.parse(edge);
        await reconcile({
          config,
          from: t - 60_000,
          now: t,
          ledger,
          upstream,
          owner: 'test',
          maxLatenessMs: 900_000,
        });
      }
    } finally {
      await upstream.close();
    }
    // Act
    const answer = await cli([
      'history',
      '--target',
      'orders-sync',
      '--limit',
      '5',
      '--json',
      '--state',
      stateDir,
    ]);
    // Assess
    const { entries } = JSON.parse(answer.stdout);
    expect(entries).toHaveLength(5);
    const times = entries.map((e: { recordedAt: string }) => e.recordedAt);
    expect(times).toEqual([...times].sort().reverse());
    expect(times[0]).toBe('2027-03-25T19:00:00.000Z');
    expect(entries.every((e: { result: { target: string } }) => e.result.target === 'orders-sync')).toBe(
      true,
    );
    const table = await cli(['history', '--target', 'orders-sync', '--limit', '2', '--state', stateDir]);
    // In the config zone (Berlin, UTC+1 before 28 March), named on the first line.
    expect(table.stdout.split('\n')[0]).toMatch(/^Times in Europe\/Berlin/);
    expect(table.stdout.split('\n')[3]).toMatch(
      /^2027-03-25 20:00:00\s+orders-sync\s+pause\s+succeeded\s+schedule office/,
    );
    const since = JSON.parse(
      (await cli(['history', '--since', '2027-03-25 00:00', '--json', '--state', stateDir])).stdout,
    );
    expect(
      since.entries.every((e: { recordedAt: string }) => e.recordedAt >= '2027-03-24T23:00:00.000Z'),
    ).toBe(true);
    expect((await cli(['history', '--limit', '0', '--state', stateDir])).code).toBe(2);
  });
});
