import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'csv-parse/sync';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Router } from '../../functions/api/router.ts';
import type { Config } from '../../functions/engine/config/schema.ts';
import { makeOverride } from '../../functions/engine/overrides.ts';
import { reconcile } from '../../functions/engine/reconcile.ts';
import { type SavingsReport, savingsReport } from '../../functions/engine/savings-report.ts';
import { DynamoLedger } from '../../functions/stores/dynamodb-ledger.ts';
import { FileLedger } from '../../functions/stores/local-ledger.ts';
import { signedRequest, WEBHOOK_KEY } from '../helpers/api.ts';
import { runCli } from '../helpers/cli.ts';
import { type LocalDynamo, startDynalite } from '../helpers/dynalite.ts';
import { PROJECT, type Rig, startRig, TOKEN } from '../helpers/simulator.ts';

const MINUTE = 60_000;
/** A local time in Asia/Shanghai (UTC+8, no DST), the config's zone. */
const local = (text: string) => Date.parse(`${text}:00+08:00`);
const FROM = local('2027-03-01T00:00'); // a Monday
const TO = local('2027-03-15T00:00'); // two weeks later
const h = (hours: number, minutes = 0) => hours + minutes / 60;

/**
 * Hand-computed, in hours, over Mon 2027-03-01 00:00 to Mon 2027-03-15 00:00 (336 h). The window
 * Mon-Fri 08:00-20:00 leaves 108 h off a week: Mon 00-08 (8), four nights of 12 (48), and Fri
 * 20:00 to Mon 00:00 (52); two weeks: 216 h.
 */
const EXPECTED = {
  // Override "running" Wed 19:00 to Thu 01:00: five hours of the Wednesday night run.
  'orders-sync': { planned: 216 - 5, held: 216 - 5, cost: { perHour: 3, currency: 'CNY' } },
  // Started behind Nightshift's back Tue 02:07 (enforce, hourly): seen at the 03:00 check and
  // stopped at once, so held off is unchanged (held off counts what was observed).
  'face-search': { planned: 216, held: 216, cost: { perHour: 1.5, currency: 'CNY' } },
  // Started by hand through the API Wed 23:30 (transitions: left running until the 08:00 edge):
  // 8.5 h less. The Thu 20:00 stop fails (and its retries), retried by hand at 20:20: 20 min less.
  // Override "stopped" Tue 03-09 12:00-18:00, removed at 15:00: 3 h more, planned and held.
  'video-index': {
    planned: 216 + 3,
    held: 216 - h(8, 30) - h(0, 20) + 3,
    cost: { perHour: 2, currency: 'USD' },
  },
  // A nightly load test 01:00-05:00: off 20 h a day.
  'load-test': { planned: 14 * 20, held: 14 * 20 },
} as const;

describe('savings over a simulated fortnight', () => {
  let rig: Rig;
  let dir: string;
  let ledger: FileLedger;
  let dynamo: LocalDynamo;
  let now = FROM;
  let report: SavingsReport;
  let config: Config;

  beforeAll(async () => {
    rig = await startRig({
      now: () => now,
      targets: {
        'orders-sync': {
          account: 'prod',
          kind: 'drs-job',
          jobId: 'c7debc9c-8e09-4a5d-8dd6-cc44f78jb20r',
          description: 'Orders replication, "prod" to the warehouse',
          cost: EXPECTED['orders-sync'].cost,
        },
        'face-search': {
          account: 'prod',
          kind: 'vias-task',
          taskId: 'face-1',
          reconcile: 'enforce',
          enforceEveryMinutes: 60,
          cost: EXPECTED['face-search'].cost,
        },
        'video-index': {
          account: 'prod',
          kind: 'vias-task',
          taskId: 'video-1',
          cost: EXPECTED['video-index'].cost,
        },
        'load-test': { account: 'prod', kind: 'cpts-task', testSuiteId: 1, taskId: 1 },
      },
      schedules: [
        {
          id: 'office',
          targets: ['orders-sync', 'face-search', 'video-index'],
          timezone: 'Asia/Shanghai',
          window: 'Mon-Fri 08:00-20:00',
        },
        {
          id: 'nightly-load',
          targets: ['load-test'],
          timezone: 'Asia/Shanghai',
          actions: [
            { do: 'start', cron: '0 1 * * *' },
            { do: 'stop', cron: '0 5 * * *' },
          ],
        },
      ],
    });
    config = { ...rig.config, timezone: 'Asia/Shanghai' };
    // A static token that outlives the fortnight (IAM tokens last a day; not what this is about).
    rig.sim.addToken(TOKEN, PROJECT, 30 * 86_400_000);
    rig.secrets.set('nightshift/webhook', { key: WEBHOOK_KEY });
    dir = mkdtempSync(join(tmpdir(), 'nightshift-savings-'));
    ledger = new FileLedger(join(dir, 'state'), () => now);
    const router = new Router({
      config: async () => config,
      secrets: rig.secrets,
      upstream: rig.upstream,
      ledger,
      now: () => now,
    });
    const action = async (action: string, target: string) => {
      const body = JSON.stringify({ action, targets: [target], reason: 'by hand' });
      const answer = await router.handle(signedRequest('POST', '/v1/actions', body, { now }));
      expect(answer.status, answer.body).toBe(200);
    };
    /** An override made at the event's instant, as `override add` makes it. */
    const override = async (target: string, state: string, from: string, until: string) => {
      const made = makeOverride(
        config,
        {
          targets: [target],
          state,
          from: new Date(local(from)).toISOString(),
          until: new Date(local(until)).toISOString(),
          reason: 'for the fortnight',
        },
        now,
      );
      await ledger.putOverride(made);
      return made.id;
    };
    let temporary = '';
    const events = new Map<number, () => Promise<void>>([
      [local('2027-03-02T02:07'), async () => rig.sim.addViasTask(PROJECT, 'face-1', 'RUNNING')],
      [
        local('2027-03-03T18:30'),
        async () => void (await override('orders-sync', 'running', '2027-03-03T19:00', '2027-03-04T01:00')),
      ],
      [local('2027-03-03T23:30'), () => action('start', 'video-index')],
      [
        local('2027-03-04T20:00'),
        async () =>
          rig.sim.script(
            { path: '/tasks/video-1/action/stop' },
            [{ kind: 'respond', status: 400, body: { error_code: 'VIAS.100011', error_msg: 'busy' } }],
            { repeat: true },
          ),
      ],
      [
        local('2027-03-04T20:20'),
        async () => {
          rig.sim.clearScripts();
          await action('stop', 'video-index');
        },
      ],
      [
        local('2027-03-09T11:00'),
        async () => {
          temporary = await override('video-index', 'stopped', '2027-03-09T12:00', '2027-03-09T18:00');
        },
      ],
      [local('2027-03-09T15:00'), async () => void (await ledger.removeOverride(temporary))],
    ]);

    // The engine on the virtual clock, against the simulator over loopback: a tick every hour
    // (every edge and override bound here falls on one; the enforce checks are an hour apart),
    // at each event, and every minute while the failed stop backs off (1, 2, 4, 8, 16 min).
    // Desired states are levels: a quiet minute skipped changes nothing, as when a process
    // pauses; a retry or check falling in a skipped minute would show in the figures.
    const busy = new Set<number>(events.keys());
    for (let m = 0; m <= 35; m++) busy.add(local('2027-03-04T20:00') + m * MINUTE);
    let previous = FROM - MINUTE;

    for (; now < TO; now += MINUTE) {
      if (!busy.has(now) && now % (60 * MINUTE) !== 0) continue;
      await events.get(now)?.();
      await reconcile({
        config,
        from: previous,
        to: now,
        now,
        overrides: await ledger.overrides(now),
        ledger,
        upstream: rig.upstream,
        owner: 'fortnight',
        maxLatenessMs: 15 * MINUTE,
      });
      previous = now;
    }
    report = await savingsReport({ config, ledger, from: FROM, to: TO, now });
    dynamo = await startDynalite();
    await dynamo.createTable('ledger');
  }, 120_000);

  afterAll(async () => {
    await rig?.close();
    await dynamo?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('gives hours within a minute of the hand-computed figures, per target and in total', () => {
    const byTarget = Object.fromEntries(report.targets.map((t) => [t.target, t]));
    for (const [target, expected] of Object.entries(EXPECTED)) {
      expect(byTarget[target]!.plannedOffHours, `${target} planned`).toBeCloseTo(expected.planned, 1);
      expect(Math.abs(byTarget[target]!.plannedOffHours - expected.planned)).toBeLessThanOrEqual(1 / 60);
      expect(Math.abs(byTarget[target]!.heldOffHours - expected.held), `${target} held`).toBeLessThanOrEqual(
        1 / 60,
      );
    }
    const held = Object.values(EXPECTED).reduce((sum, e) => sum + e.held, 0);
    const planned = Object.values(EXPECTED).reduce((sum, e) => sum + e.planned, 0);
    expect(Math.abs(report.totals.heldOffHours - held)).toBeLessThanOrEqual(1 / 60);
    expect(Math.abs(report.totals.plannedOffHours - planned)).toBeLessThanOrEqual(1 / 60);
    expect(report.totals.currencies).toEqual([
      expect.objectContaining({
        currency: 'CNY',
        targets: 2,
        avoided: expect.closeTo(211 * 3 + 216 * 1.5, 0),
      }),
      expect.objectContaining({
        currency: 'USD',
        targets: 1,
        avoided: expect.closeTo(EXPECTED['video-index'].held * 2, 0),
      }),
    ]);
    expect(byTarget['load-test']!.cost).toBeUndefined();
  });

  it('played what it says: the manual start seen and undone, the failed stop retried by hand', async () => {
    const history = await ledger.history();
    const of = (target: string) => history.filter((e) => e.result.target === target);
    expect(of('face-search').find((e) => e.drift)).toMatchObject({
      recordedAt: new Date(local('2027-03-02T03:00')).toISOString(),
      result: { action: 'stop', ok: true, observed: 'STOPPED' },
    });
    const thursday = of('video-index').filter(
      (e) => e.recordedAt >= new Date(local('2027-03-04T20:00')).toISOString() && e.result.action === 'stop',
    );
    expect(thursday.slice(0, 5).map((e) => [e.recordedAt.slice(11, 16), e.result.ok])).toEqual([
      ['12:00', false],
      ['12:01', false],
      ['12:03', false],
      ['12:07', false],
      ['12:15', false],
    ]);
    expect(thursday[5]).toMatchObject({ trigger: 'http', result: { ok: true, observed: 'STOPPED' } });
    expect(thursday[5]!.recordedAt).toBe(new Date(local('2027-03-04T20:20')).toISOString());
  });

  it('gives the same figures from the DynamoDB ledger (dynalite) holding the same history', async () => {
    let clock = FROM;
    const other = new DynamoLedger(dynamo.client, { tableName: 'ledger', now: () => clock });
    // Every outcome as the engine recorded it (a batch per instant), and every override as
    // created and removed, at the instants they were.
    const history = await ledger.history();
    for (let i = 0; i < history.length; ) {
      let j = i;
      while (j < history.length && history[j]!.recordedAt === history[i]!.recordedAt) j++;
      await other.record(history.slice(i, j));
      i = j;
    }
    for (const span of await ledger.overridesBetween(FROM, TO)) {
      clock = Date.parse(span.createdAt!);
      await other.putOverride({
        ...span,
        targets: [...span.targets],
        reason: 'replayed',
        createdAt: span.createdAt!,
      });
      if (span.removedAt) {
        clock = Date.parse(span.removedAt);
        expect(await other.removeOverride(span.id)).toBeDefined();
      }
    }
    expect(await savingsReport({ config, ledger: other, from: FROM, to: TO, now })).toEqual(report);
  });

  it('nightshift savings prints the same report as JSON, and as CSV a spreadsheet reads', async () => {
    const file = join(dir, 'schedule.json');
    writeFileSync(file, JSON.stringify(config));
    const args = [
      'savings',
      '--config',
      file,
      '--state',
      join(dir, 'state'),
      '--from',
      '2027-03-01',
      '--to',
      '2027-03-15',
    ];
    const io = { now: () => new Date(now) };
    const json = await runCli([...args, '--json'], io);
    expect(json.stderr).toBe('');
    expect(JSON.parse(json.stdout)).toEqual(report);

    const { code, stdout } = await runCli([...args, '--csv'], io);
    expect(code).toBe(0);
    expect(stdout.endsWith('\r\n')).toBe(true);
    expect(
      stdout
        .split('\r\n')
        .slice(0, -1)
        .every((line) => !line.includes('\n')),
    ).toBe(true);
    const records = parse(stdout, { columns: true, record_delimiter: '\r\n' }) as Record<string, string>[];
    expect(records.map((r) => r.target)).toEqual([
      'orders-sync',
      'face-search',
      'video-index',
      'load-test',
      '(total)',
      '(total CNY)',
      '(total USD)',
    ]);
    const orders = records[0]!;
    // A description with a comma and quotes comes back whole.
    expect(orders.description).toBe('Orders replication, "prod" to the warehouse');
    expect(stdout).toContain('"Orders replication, ""prod"" to the warehouse"');
    for (const [i, row] of report.targets.entries()) {
      expect(Number(records[i]!.held_off_hours)).toBe(row.heldOffHours);
      expect(Number(records[i]!.planned_off_hours)).toBe(row.plannedOffHours);
      expect(records[i]!.cost_avoided).toBe(row.cost ? String(row.cost.avoided) : '');
    }
    expect(records[6]).toMatchObject({
      currency: 'USD',
      cost_avoided: String(report.totals.currencies[1]!.avoided),
    });

    const text = await runCli(args, io);
    expect(text.stdout).toContain('Savings from 2027-03-01 00:00 to 2027-03-15 00:00 Asia/Shanghai');
    expect(text.stdout).toMatch(/Total\s+917\.17 h\s+926\.00 h\s+957\.00 CNY, 420\.33 USD/);
  });
});
