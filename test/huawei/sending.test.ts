import { afterEach, describe, expect, it } from 'vitest';
import type { UpstreamItem } from '../../functions/engine/executor.ts';
import { type Rig, startRig } from '../helpers/simulator.ts';

/**
 * `onSending`: the engine marks a call's sending in the same synchronous run as the write of its
 * request to the connection, so a process killed at any instant has either not sent the call or
 * left its mark (engine/sending.ts).
 */
describe('the upstream tells each request just before it is written', () => {
  let rig: Rig;
  afterEach(() => rig.close());

  const items = (names: [string, UpstreamItem['action']][]): UpstreamItem[] =>
    names.map(([target, action]) => {
      const config = rig.config.targets[target]!;
      return {
        target,
        config,
        action,
        account: { name: config.account, config: rig.config.accounts[config.account]! },
      };
    });
  const actionCalls = () =>
    rig.sim.requests.filter((r) => r.method === 'PUT' || /batch-(pause|retry)-task|test-suites/.test(r.path));

  it('told for the admitted calls only, each before the simulator has its request; a DRS batch at once', async () => {
    rig = await startRig();
    rig.sim.addViasTask('054ba152d480d55b2f5dc0069e7ddef0', 'task-1', 'STOPPED');
    const work = items([
      ['face-search', 'start'],
      ['load-test', 'start'],
      ['orders-sync', 'pause'],
      ['billing-sync', 'pause'],
      ['night-batch', 'start'],
    ]);
    const pathOf = [
      /tasks\/task-1\/action/,
      /test-suites/,
      /batch-pause-task/,
      /batch-pause-task/,
      /batch-tasks/,
    ];
    const told: { indexes: number[]; requestsSeen: number }[] = [];
    const outcomes = await rig.upstream.perform(work, undefined, {
      // billing-sync is called off at the last moment: it leaves the batch, and is never told.
      admit: async (i) => i !== 3,
      onSending: (indexes) =>
        told.push({ indexes: [...indexes], requestsSeen: rig.sim.requestsTo(pathOf[indexes[0]!]!).length }),
    });
    expect(outcomes.map((o) => o.ok)).toEqual([true, true, true, false, true]);
    expect(outcomes[3]).toMatchObject({ errorCode: 'NIGHTSHIFT.NOT_SENT', attempts: 0 });
    expect(told.map((t) => t.indexes).sort()).toEqual([[0], [1], [2], [4]]);
    // Each was told before its own request arrived.
    for (const t of told) expect(t.requestsSeen).toBe(0);
    expect(actionCalls()).toHaveLength(4);
    const batch = rig.sim.requestsTo('batch-pause-task')[0]!;
    expect((batch.body as { jobs: { job_id: string }[] }).jobs.map((j) => j.job_id)).toEqual([
      'c7debc9c-8e09-4a5d-8dd6-cc44f78jb20r',
    ]);
  });

  it('told again for a retry of the same request', async () => {
    rig = await startRig();
    rig.sim.script({ path: '/action/start' }, [{ kind: 'respond', status: 503 }]);
    const told: number[][] = [];
    const [outcome] = await rig.upstream.perform(items([['face-search', 'start']]), undefined, {
      admit: async () => true,
      onSending: (indexes) => told.push([...indexes]),
    });
    expect(outcome).toMatchObject({ ok: true, attempts: 2 });
    expect(told).toEqual([[0], [0]]);
  });

  it('a mark that cannot be made keeps the request from the connection: NOT_SENT, nothing sent', async () => {
    rig = await startRig();
    const [vias, drs] = await rig.upstream.perform(
      items([
        ['face-search', 'start'],
        ['orders-sync', 'pause'],
      ]),
      undefined,
      {
        admit: async () => true,
        onSending: () => {
          throw new Error('ENOSPC: no space left on device');
        },
      },
    );
    for (const outcome of [vias, drs]) {
      expect(outcome).toMatchObject({ ok: false, errorCode: 'NIGHTSHIFT.NOT_SENT', attempts: 0 });
      expect(outcome!.errorMessage).toMatch(/not sent: .*ENOSPC/);
    }
    expect(actionCalls()).toHaveLength(0);
  });
});
