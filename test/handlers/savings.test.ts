import { afterEach, describe, expect, it, vi } from 'vitest';
import { awsContext } from '../../functions/handlers/aws-context.ts';
import { handler, SavingsInputError } from '../../functions/handlers/savings.ts';
import { type AwsRig, startAwsRig } from '../helpers/aws-env.ts';
import { schedulerEvent } from '../helpers/events.ts';

describe('savings Lambda: HoursHeldOff each hour', () => {
  let rig: AwsRig;
  afterEach(async () => {
    vi.restoreAllMocks();
    await rig.stop();
  });

  it('publishes the hour before its scheduled time per target and in total, once per hour', async () => {
    // Prepare: orders-sync paused from 09:20, face-search stopped all along.
    rig = await startAwsRig([
      { id: 'office', targets: ['replication', 'face-search'], window: 'Mon-Fri 08:00-20:00' },
    ]);
    await awsContext().ledger.recordObservations([
      { target: 'face-search', at: Date.parse('2027-03-29T07:00:00.000Z'), state: 'stopped' },
      { target: 'orders-sync', at: Date.parse('2027-03-29T09:20:00.000Z'), state: 'paused' },
      { target: 'orders-sync', at: Date.parse('2027-03-29T10:30:00.000Z'), state: 'running' },
    ]);
    const emf: Record<string, unknown>[] = [];
    vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => {
      for (const line of String(chunk).split('\n')) if (line.includes('"_aws"')) emf.push(JSON.parse(line));
      return true;
    });
    // Act: the schedule fires at 10:05 for 09:00-10:00, and is delivered twice.
    const first = await handler(schedulerEvent('2027-03-29T10:05:00Z'));
    const again = await handler(schedulerEvent('2027-03-29T10:05:00Z'));
    // Assess
    expect(first).toMatchObject({
      from: '2027-03-29T09:00:00.000Z',
      to: '2027-03-29T10:00:00.000Z',
      published: true,
    });
    expect(again.published).toBe(false);
    const perTarget = Object.fromEntries(
      emf.filter((m) => typeof m.target === 'string').map((m) => [m.target, m.HoursHeldOff]),
    );
    expect(perTarget).toEqual({
      'face-search': 1,
      'orders-sync': 0.6667,
      'night-batch': 0,
      'billing-sync': 0,
      'load-test': 0,
    });
    const total = emf.filter((m) => m.target === undefined && m.HoursHeldOff !== undefined);
    expect(total).toHaveLength(1);
    expect(total[0]).toMatchObject({ service: 'nightshift', HoursHeldOff: 1.6667 });
    const metric = (emf[0]!._aws as { CloudWatchMetrics: { Namespace: string; Dimensions: string[][] }[] })
      .CloudWatchMetrics[0]!;
    expect(metric).toMatchObject({ Namespace: 'NightshiftTest', Dimensions: [['service', 'target']] });
  });

  it('refuses an event without a scheduled time', async () => {
    rig = await startAwsRig([]);
    await expect(handler({} as never)).rejects.toBeInstanceOf(SavingsInputError);
  });
});
