import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { runTick, type TickOptions } from '../../functions/engine/tick.ts';
import { FileLedger } from '../../functions/stores/local-ledger.ts';
import type { RawSchedule } from '../helpers/config.ts';
import { type Rig, startRig } from '../helpers/simulator.ts';

const MINUTE = 60_000;
const at = (iso: string) => Date.parse(iso);
const nightly = (target: string, action: string): RawSchedule => ({
  id: 'night',
  targets: [target],
  timezone: 'UTC',
  actions: [{ do: action, cron: '0 22 * * *' }],
});

describe('runTick', () => {
  let rig: Rig;
  afterEach(async () => {
    await rig.close();
  });

  /** A rig with these schedules, a fresh ledger, and tick options for (from, to] seen at `now`. */
  const setUp = async (schedules: RawSchedule[]) => {
    rig = await startRig({ schedules });
    const ledger = new FileLedger(mkdtempSync(join(tmpdir(), 'nightshift-tick-')));
    const window = (from: string, to: string, now: string): TickOptions => ({
      config: rig.config,
      from: at(from),
      to: at(to),
      now: at(now),
      ledger,
      upstream: rig.upstream,
      maxLatenessMs: 15 * MINUTE,
    });
    return { ledger, window };
  };

  it('carries out what is due in (from, to] and records it', async () => {
    // Prepare
    const { ledger, window } = await setUp([nightly('replication', 'pause')]);
    // Act
    const summary = await runTick(
      window('2027-03-28T21:59:00Z', '2027-03-28T22:00:00Z', '2027-03-28T22:00:01Z'),
    );
    // Assess
    expect(summary).toMatchObject({
      due: 2,
      fired: 2,
      succeeded: 2,
      failed: 0,
      missed: 0,
      alreadyClaimed: 0,
      late: 0,
    });
    expect(rig.sim.requestsTo('batch-pause-task')).toHaveLength(1);
    const history = await ledger.history();
    expect(
      history.map((e) => [e.trigger, e.schedule, e.scheduledAt, e.result.target, e.result.status]),
    ).toEqual([
      ['tick', 'night', '2027-03-28T22:00:00Z', 'orders-sync', 'succeeded'],
      ['tick', 'night', '2027-03-28T22:00:00Z', 'billing-sync', 'succeeded'],
    ]);
  });

  it('the same window delivered twice calls upstream once', async () => {
    const { window } = await setUp([nightly('face-search', 'start')]);
    const options = window('2027-03-28T21:59:00Z', '2027-03-28T22:00:00Z', '2027-03-28T22:00:01Z');
    const [first, second] = await Promise.all([runTick(options), runTick(options)]);
    const third = await runTick(options);
    expect(first.fired + second.fired + third.fired).toBe(1);
    expect(first.alreadyClaimed + second.alreadyClaimed + third.alreadyClaimed).toBe(2);
    expect(rig.sim.requestsTo('/action/start')).toHaveLength(1);
  });

  it('records actions due beyond the lateness bound as missed and fires nothing', async () => {
    const { ledger, window } = await setUp([nightly('face-search', 'start')]);
    const summary = await runTick(
      window('2027-03-28T21:59:00Z', '2027-03-28T22:00:00Z', '2027-03-28T22:20:00Z'),
    );
    expect(summary).toMatchObject({ due: 1, fired: 0, missed: 1 });
    expect(rig.sim.requests).toHaveLength(0);
    const [entry] = await ledger.history();
    expect(entry).toMatchObject({
      late: true,
      result: { status: 'skipped', errorCode: 'NIGHTSHIFT.MISSED', ok: false },
    });
  });

  it('fires a late action within the bound and marks it late', async () => {
    const { window } = await setUp([nightly('face-search', 'start')]);
    const summary = await runTick(
      window('2027-03-28T21:50:00Z', '2027-03-28T22:05:00Z', '2027-03-28T22:05:00Z'),
    );
    expect(summary).toMatchObject({ fired: 1, late: 1 });
  });

  it('one call when two schedules want the same action on the same target at once', async () => {
    const { window } = await setUp([
      nightly('face-search', 'start'),
      { ...nightly('face-search', 'start'), id: 'b' },
    ]);
    const summary = await runTick(
      window('2027-03-28T21:59:00Z', '2027-03-28T22:00:00Z', '2027-03-28T22:00:00Z'),
    );
    expect(summary).toMatchObject({ due: 2, fired: 2, succeeded: 2 });
    expect(rig.sim.requestsTo('/action/start')).toHaveLength(1);
  });

  it('counts upstream failures instead of throwing, and throws when the ledger fails', async () => {
    const { ledger, window } = await setUp([nightly('face-search', 'stop')]);
    const summary = await runTick(
      window('2027-03-28T21:59:00Z', '2027-03-28T22:00:00Z', '2027-03-28T22:00:00Z'),
    );
    expect(summary).toMatchObject({ fired: 1, failed: 1 });
    ledger.claim = async () => {
      throw new Error('disk full');
    };
    await expect(
      runTick(window('2027-03-28T22:00:00Z', '2027-03-28T22:01:00Z', '2027-03-28T22:01:00Z')),
    ).resolves.toMatchObject({ due: 0 });
    await expect(
      runTick(window('2027-03-29T21:59:00Z', '2027-03-29T22:00:00Z', '2027-03-29T22:00:00Z')),
    ).rejects.toThrow('disk full');
  });
});
