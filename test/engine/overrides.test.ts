import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { activeOverride } from '../../functions/engine/decision.ts';
import {
  currentOverrides,
  EXPIRY_NOTICE_MS,
  expiringOverrides,
  makeOverride,
  type Override,
  OverrideError,
} from '../../functions/engine/overrides.ts';
import { reconcile } from '../../functions/engine/reconcile.ts';
import { outOfSyncTargets } from '../../functions/engine/status.ts';
import { FileLedger } from '../../functions/stores/local-ledger.ts';
import { configWith, type RawSchedule } from '../helpers/config.ts';
import { PROJECT, type Rig, startRig } from '../helpers/simulator.ts';

const MINUTE = 60_000;
const at = (iso: string) => Date.parse(iso);
const JOB = 'c7debc9c-8e09-4a5d-8dd6-cc44f78jb20r';
// Monday 2027-03-29, UTC.
const office: RawSchedule = {
  id: 'office',
  targets: ['orders-sync'],
  timezone: 'UTC',
  window: 'Mon-Fri 08:00-20:00',
};

describe('makeOverride', () => {
  const config = configWith([office]);
  const now = at('2027-03-29T19:00:00Z');
  const ask = (more: Record<string, unknown>) =>
    makeOverride(
      config,
      { targets: ['orders-sync'], state: 'running', until: '2027-03-29T23:00:00Z', reason: 'r', ...more },
      now,
    );

  it('defaults from to now and keeps until, reason and creator', () => {
    expect(ask({ createdBy: 'bob' })).toMatchObject({
      targets: ['orders-sync'],
      from: '2027-03-29T19:00:00.000Z',
      until: '2027-03-29T23:00:00.000Z',
      createdBy: 'bob',
      createdAt: '2027-03-29T19:00:00.000Z',
    });
  });

  it('refuses a state the kind cannot have, naming the kind and its states', () => {
    expect(() => ask({ state: 'stopped' })).toThrowError(
      expect.objectContaining({
        name: 'OverrideError',
        reason: 'unsupported',
        message: expect.stringContaining(
          'drs-job, which cannot be stopped (its states: running, paused, hands-off)',
        ),
      }),
    );
    expect(() => ask({ targets: ['face-search'], state: 'paused' })).toThrowError(OverrideError);
  });

  it('refuses an until in the past or beyond the maximum', () => {
    expect(() => ask({ until: '2027-03-29T18:59:00Z' })).toThrowError(/in the past/);
    expect(() => ask({ until: '2027-04-05T19:01:00Z' })).toThrowError(/at most 168 hours/);
  });
});

describe('expiringOverrides', () => {
  it('announces an override once, in the tick whose minute is 30 minutes before its end', () => {
    const o = {
      id: 'o',
      targets: ['x'],
      state: 'running' as const,
      from: '2027-03-29T19:00:00Z',
      until: '2027-03-29T23:00:00Z',
    };
    const notice = at(o.until) - EXPIRY_NOTICE_MS;
    expect(expiringOverrides([o], notice - MINUTE, notice)).toEqual([o]);
    expect(expiringOverrides([o], notice, notice + MINUTE)).toEqual([]);
    expect(expiringOverrides([o], notice - 2 * MINUTE, notice - MINUTE)).toEqual([]);
  });
});

describe('two overrides on one target', () => {
  const made = (id: string, from: string, createdAt: string, state: Override['state']): Override => ({
    id,
    targets: ['orders-sync'],
    state,
    from,
    until: '2027-03-29T23:00:00Z',
    reason: 'test',
    createdAt,
  });

  it('the latest start wins; of two starting at one instant, the one created last (whatever the ids)', () => {
    const t = at('2027-03-29T06:30:00Z');
    // Found by the simulation: ids sort "ovr-12-…" before "ovr-6-…", and the older one won.
    const older = made('ovr-6-batch-0', '2027-03-29T06:23:00Z', '2027-03-29T06:06:00.000Z', 'running');
    const newer = made('ovr-12-batch-1', '2027-03-29T06:23:00Z', '2027-03-29T06:12:00.000Z', 'hands-off');
    for (const listed of [
      [older, newer],
      [newer, older],
    ])
      expect(activeOverride(currentOverrides(listed, t), 'orders-sync', t)?.id).toBe('ovr-12-batch-1');
    const laterStart = made('ovr-1', '2027-03-29T06:25:00Z', '2027-03-29T06:01:00.000Z', 'stopped');
    expect(activeOverride(currentOverrides([newer, laterStart, older], t), 'orders-sync', t)?.id).toBe(
      'ovr-1',
    );
  });
});

describe('overrides in reconciliation, against the simulator', () => {
  let rig: Rig;
  let dir: string;
  afterEach(async () => {
    await rig.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const setUp = async (schedules: RawSchedule[], targets?: Record<string, unknown>) => {
    rig = await startRig({ schedules, ...(targets ? { targets } : {}) });
    dir = mkdtempSync(join(tmpdir(), 'nightshift-overrides-'));
    const ledger = new FileLedger(dir);
    /** One tick per minute in (from, to], as the tick does, with the overrides the ledger holds. */
    const run = async (fromIso: string, toIso: string) => {
      for (let t = at(fromIso) + MINUTE; t <= at(toIso); t += MINUTE) {
        await reconcile({
          config: rig.config,
          from: t - MINUTE,
          now: t,
          ledger,
          upstream: rig.upstream,
          owner: 'test',
          maxLatenessMs: 15 * MINUTE,
          overrides: await ledger.overrides(t),
        });
      }
    };
    return { ledger, run };
  };
  const override = (more: Partial<Override>): Override => ({
    id: 'ovr-tonight',
    targets: ['orders-sync'],
    state: 'running',
    from: '2027-03-29T19:00:00.000Z',
    until: '2027-03-29T23:00:00.000Z',
    reason: 'release tonight',
    createdAt: '2027-03-29T19:00:00.000Z',
    ...more,
  });
  const drsCalls = () => rig.sim.requests.filter((r) => /batch-(pause|retry)-task|\/stop$/.test(r.path));

  it('a running override over 20:00 prevents the pause; at its end, 23:00, the job is paused within a minute, with one history entry naming the schedule', async () => {
    // Prepare: the window opened at 08:00 and the job runs.
    const { ledger, run } = await setUp([office]);
    await run('2027-03-29T07:59:00Z', '2027-03-29T08:01:00Z');
    await ledger.putOverride(override({}));
    // Act: through 20:00, with the override in force.
    await run('2027-03-29T08:01:00Z', '2027-03-29T22:59:00Z');
    // Assess: no pause, still running.
    expect(drsCalls()).toHaveLength(0);
    expect(rig.sim.drsStatus(PROJECT, JOB)).toBe('INCRE_TRANSFER_STARTED');
    const before = (await ledger.history()).length;

    // Act: the override ends at 23:00.
    await run('2027-03-29T22:59:00Z', '2027-03-29T23:01:00Z');
    // Assess: one pause call, at the 23:00 tick, one entry naming the schedule.
    expect(drsCalls().map((r) => r.path)).toEqual([expect.stringMatching(/batch-pause-task$/)]);
    expect(rig.sim.drsStatus(PROJECT, JOB)).toBe('PAUSING');
    const entries = (await ledger.history()).slice(before);
    expect(entries).toEqual([
      expect.objectContaining({
        recordedAt: '2027-03-29T23:00:00.000Z',
        schedule: 'office',
        scheduledAt: '2027-03-29T20:00:00Z',
        result: expect.objectContaining({ target: 'orders-sync', action: 'pause', ok: true, verified: true }),
      }),
    ]);
    expect(entries[0]).not.toHaveProperty('override');
  });

  it('hands-off: no upstream call of any kind for those targets while active (status reads and DRS stops included), then the schedule again', async () => {
    // Prepare: a window on the VIAS task and a DRS stop at 20:00 on a job that allows it.
    const { ledger, run } = await setUp(
      [
        { id: 'vias', targets: ['face-search'], timezone: 'UTC', window: 'Mon-Fri 08:00-20:00' },
        {
          id: 'end-job',
          targets: ['orders-sync'],
          timezone: 'UTC',
          actions: [{ do: 'stop', cron: '0 20 * * *' }],
        },
      ],
      {
        'face-search': { account: 'prod', kind: 'vias-task', taskId: 'task-1' },
        'orders-sync': { account: 'prod', kind: 'drs-job', jobId: JOB, allowStop: true },
      },
    );
    await ledger.putOverride(
      override({
        id: 'ovr-hands',
        state: 'hands-off',
        targets: ['face-search', 'orders-sync'],
        from: '2027-03-29T07:00:00.000Z',
        until: '2027-03-29T21:00:00.000Z',
      }),
    );
    // Act: the window opens at 08:00 and closes at 20:00; the job's end is due at 20:00.
    await run('2027-03-29T07:30:00Z', '2027-03-29T20:59:00Z');
    // Assess: not one request, status reads and the DRS stop included.
    expect(rig.sim.requests).toEqual([]);
    expect(rig.sim.drsStatus(PROJECT, JOB)).toBe('INCRE_TRANSFER_STARTED');
    const skipped = (await ledger.history()).find((e) => e.result.action === 'stop');
    expect(skipped).toMatchObject({ override: 'ovr-hands', result: { status: 'skipped', ok: true } });

    // Act: at 21:00 the override ends and the schedule's state (VIAS stopped since 20:00) is reconciled.
    rig.sim.addViasTask(PROJECT, 'task-1', 'RUNNING');
    await run('2027-03-29T20:59:00Z', '2027-03-29T21:01:00Z');
    // Assess: the VIAS task is stopped; the ended DRS stop is not made late.
    expect(rig.sim.viasState(PROJECT, 'task-1')).toBe('STOPPED');
    expect(rig.sim.requests.filter((r) => r.path.endsWith('/stop') && r.path.includes('/jobs/'))).toEqual([]);
  });
});

describe('outOfSyncTargets', () => {
  it('counts targets whose desired state the ledger does not know to be reached; hands-off counts as in sync', async () => {
    const config = configWith([{ ...office, targets: ['orders-sync', 'billing-sync'] }]);
    const dir = mkdtempSync(join(tmpdir(), 'nightshift-sync-'));
    try {
      const ledger = new FileLedger(dir);
      const now = at('2027-03-29T09:00:00Z');
      await ledger.putTarget({
        target: 'orders-sync',
        version: 1,
        desired: 'running',
        since: '2027-03-29T08:00:00Z',
        because: 'office',
        reached: true,
        tries: 0,
      });
      expect(await outOfSyncTargets(config, ledger, [], now)).toEqual(['billing-sync']);
      const handsOff = {
        id: 'h',
        targets: ['billing-sync'],
        state: 'hands-off' as const,
        from: '2027-03-29T08:30:00Z',
        until: '2027-03-29T10:00:00Z',
      };
      expect(await outOfSyncTargets(config, ledger, [handsOff], now)).toEqual([]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
