import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { OverrideRule } from '../../functions/engine/decision.ts';
import type { PerformOptions, Upstream, UpstreamItem } from '../../functions/engine/executor.ts';
import { carryOut } from '../../functions/engine/on-demand.ts';
import { type ReconcileOptions, reconcile } from '../../functions/engine/reconcile.ts';
import { FileLedger } from '../../functions/stores/local-ledger.ts';
import type { RawSchedule } from '../helpers/config.ts';
import { PROJECT, type Rig, startRig } from '../helpers/simulator.ts';

const MINUTE = 60_000;
const at = (iso: string) => Date.parse(iso);
const JOB = 'c7debc9c-8e09-4a5d-8dd6-cc44f78jb20r';
const office = (targets: string[], more: Partial<RawSchedule> = {}): RawSchedule => ({
  id: 'office',
  targets,
  timezone: 'UTC',
  window: 'Mon-Fri 08:00-20:00',
  ...more,
});
// Monday 2027-03-29
const MON_0800 = '2027-03-29T08:00:00Z';
const MON_2000 = '2027-03-29T20:00:00Z';

describe('reconcile against the simulator', () => {
  let rig: Rig;
  const dirs: string[] = [];
  afterEach(async () => {
    await rig.close();
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  });

  const setUp = async (schedules: RawSchedule[], rigOptions: Parameters<typeof startRig>[0] = {}) => {
    rig = await startRig({ schedules, ...rigOptions });
    const dir = mkdtempSync(join(tmpdir(), 'nightshift-reconcile-'));
    dirs.push(dir);
    const ledger = new FileLedger(dir);
    const pass = (now: string, more: Partial<ReconcileOptions> = {}) =>
      reconcile({
        config: rig.config,
        from: at(now) - MINUTE,
        now: at(now),
        ledger,
        upstream: rig.upstream,
        owner: 'test-a',
        maxLatenessMs: 15 * MINUTE,
        ...more,
      });
    return { ledger, pass };
  };
  const actionCalls = () =>
    rig.sim.requests.filter(
      (r) => r.method === 'PUT' || /batch-(pause|retry)-task|\/stop$|test-suites/.test(r.path),
    );

  it('a target already in its desired state gets no action call: unchanged, ok', async () => {
    const { pass, ledger } = await setUp([office(['face-search', 'orders-sync'])]);
    rig.sim.addViasTask(PROJECT, 'task-1', 'RUNNING');
    const summary = await pass(MON_0800);
    expect(actionCalls()).toHaveLength(0);
    expect(summary).toMatchObject({ looked: 2, unchanged: 2, acted: 0, failed: 0 });
    const history = await ledger.history();
    expect(history.map((e) => e.result)).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          target: 'face-search',
          ok: true,
          status: 'unchanged',
          desired: 'running',
          observed: 'RUNNING',
        }),
        expect.objectContaining({
          target: 'orders-sync',
          ok: true,
          status: 'unchanged',
          observed: 'INCRE_TRANSFER_STARTED',
        }),
      ]),
    );
    // Nothing changed since: the next minute looks at nothing.
    expect(await pass('2027-03-29T08:01:00Z')).toMatchObject({ looked: 0 });
  });

  it('pauses at the closing edge with one call, verifies, and records desired and observed', async () => {
    const { pass, ledger } = await setUp([office(['orders-sync'])]);
    const summary = await pass(MON_2000);
    expect(summary).toMatchObject({ acted: 1, succeeded: 1 });
    expect(rig.sim.requestsTo('batch-pause-task')).toHaveLength(1);
    expect(rig.sim.drsStatus(PROJECT, JOB)).toBe('PAUSING');
    const [entry] = await ledger.history();
    expect(entry).toMatchObject({
      schedule: 'office',
      scheduledAt: MON_2000,
      result: {
        action: 'pause',
        status: 'succeeded',
        ok: true,
        verified: true,
        desired: 'paused',
        observed: 'PAUSING',
      },
    });
  });

  it.each([
    ['the stop', /\/action\/stop/],
    ['the start', /\/action\/start/],
  ])(
    'a hand-over at one instant makes one call or none, and ends running, with latency on %s',
    async (_name, slow) => {
      const { pass } = await setUp([
        { id: 'a', targets: ['face-search'], timezone: 'UTC', window: 'Mon-Fri 08:00-12:00' },
        { id: 'b', targets: ['face-search'], timezone: 'UTC', window: 'Mon-Fri 12:00-18:00' },
      ]);
      rig.sim.addViasTask(PROJECT, 'task-1', 'RUNNING');
      rig.sim.script({ path: slow }, [{ kind: 'latency', ms: 80 }], { repeat: true });
      await pass('2027-03-29T12:00:00Z');
      expect(actionCalls().length).toBeLessThanOrEqual(1);
      expect(rig.sim.viasState(PROJECT, 'task-1')).toBe('RUNNING');
    },
  );

  it('applied, but the answer lost: no second action call; the outcome comes from the status', async () => {
    const { pass, ledger } = await setUp([office(['face-search'])], { http: { timeoutMs: 200 } });
    rig.sim.script({ path: '/action/start' }, [{ kind: 'lost' }]);
    const summary = await pass(MON_0800);
    expect(rig.sim.requestsTo('/action/start')).toHaveLength(1);
    expect(rig.sim.viasState(PROJECT, 'task-1')).toBe('RUNNING');
    expect(summary).toMatchObject({ acted: 1, succeeded: 1 });
    const [entry] = await ledger.history();
    expect(entry!.result).toMatchObject({ ok: true, verified: true, observed: 'RUNNING' });
    expect(entry!.reason).toMatch(/answer was lost/);
    // And nothing more to do on the next tick.
    await pass('2027-03-29T08:01:00Z');
    expect(rig.sim.requestsTo('/action/start')).toHaveLength(1);
  });

  it('retries a state not reached, with backoff, until reached; then records it once', async () => {
    const { pass, ledger } = await setUp([office(['face-search'])]);
    rig.sim.script(
      { path: '/action/start' },
      [{ kind: 'respond', status: 403, body: { error_code: 'APIGW.0302', error_msg: 'denied' } }],
      {
        repeat: true,
      },
    );
    await pass(MON_0800);
    await pass('2027-03-29T08:01:00Z'); // retry after 1 min
    await pass('2027-03-29T08:02:00Z'); // backing off: next try at 08:03
    expect(rig.sim.requestsTo('/action/start')).toHaveLength(2);
    rig.sim.clearScripts();
    await pass('2027-03-29T08:03:00Z');
    expect(rig.sim.viasState(PROJECT, 'task-1')).toBe('RUNNING');
    await pass('2027-03-29T08:10:00Z');
    expect(rig.sim.requestsTo('/action/start')).toHaveLength(3);
    const results = (await ledger.history()).map((e) => [e.result.status, e.result.errorCode]);
    expect(results).toEqual([
      ['failed', 'APIGW.0302'],
      ['failed', 'APIGW.0302'],
      ['succeeded', undefined],
    ]);
  });

  it('a state superseded before it was reached is recorded as missed', async () => {
    const { pass, ledger } = await setUp([
      { id: 'up', targets: ['face-search'], timezone: 'UTC', actions: [{ do: 'start', cron: '0 8 * * *' }] },
      { id: 'down', targets: ['face-search'], timezone: 'UTC', actions: [{ do: 'stop', cron: '1 8 * * *' }] },
    ]);
    rig.sim.script({ path: '/action/start' }, [
      { kind: 'respond', status: 403, body: { error_code: 'APIGW.0302' } },
    ]);
    await pass(MON_0800);
    await pass('2027-03-29T08:01:00Z');
    const history = await ledger.history();
    expect(history.map((e) => [e.result.target, e.result.status, e.result.errorCode ?? ''])).toEqual([
      ['face-search', 'failed', 'APIGW.0302'],
      ['face-search', 'skipped', 'NIGHTSHIFT.MISSED'],
      ['face-search', 'unchanged', ''],
    ]);
    expect(history[1]!.reason).toMatch(/superseded by stopped/);
  });

  it('a stop missed while the runtime was down is still reached when it comes back', async () => {
    const { pass } = await setUp([office(['face-search'])]);
    rig.sim.addViasTask(PROJECT, 'task-1', 'RUNNING');
    // Down from 17:39 to 20:30: the first tick after it sees the state the schedule says.
    await pass('2027-03-29T20:30:00Z', { from: at('2027-03-29T17:39:00Z') });
    expect(rig.sim.viasState(PROJECT, 'task-1')).toBe('STOPPED');
  });

  it('enforce corrects a manual start within enforceEveryMinutes; transitions leaves it alone', async () => {
    for (const mode of ['enforce', 'transitions'] as const) {
      const { pass, ledger } = await setUp([
        office(['face-search'], { window: 'Mon-Fri 08:00-09:00', reconcile: mode, enforceEveryMinutes: 5 }),
      ]);
      await pass('2027-03-29T09:00:00Z');
      expect(rig.sim.viasState(PROJECT, 'task-1')).toBe('STOPPED');
      rig.sim.addViasTask(PROJECT, 'task-1', 'RUNNING'); // someone starts it by hand
      for (let m = 1; m <= 5; m++) await pass(`2027-03-29T09:0${m}:00Z`);
      const history = await ledger.history();
      if (mode === 'enforce') {
        expect(rig.sim.viasState(PROJECT, 'task-1')).toBe('STOPPED');
        expect(history.at(-1)).toMatchObject({
          drift: true,
          result: { action: 'stop', ok: true, observed: 'STOPPED' },
        });
      } else {
        expect(rig.sim.viasState(PROJECT, 'task-1')).toBe('RUNNING');
        expect(history).toHaveLength(1);
      }
      await rig.close();
    }
  });

  it('waits for a transition under way instead of calling again, then records the outcome', async () => {
    const { pass, ledger } = await setUp([office(['face-search'])]);
    rig.sim.settleMs = 60_000;
    await pass(MON_0800);
    expect(rig.sim.viasState(PROJECT, 'task-1')).toBe('STARTING');
    await pass('2027-03-29T08:01:00Z');
    expect(rig.sim.requestsTo('/action/start')).toHaveLength(1);
    rig.sim.addViasTask(PROJECT, 'task-1', 'RUNNING'); // settled
    await pass('2027-03-29T08:03:00Z');
    const history = await ledger.history();
    expect(history.map((e) => [e.result.status, e.result.verified, e.result.observed])).toEqual([
      ['succeeded', false, 'STARTING'],
      ['unchanged', undefined, 'RUNNING'],
    ]);
  });

  it('does not act when the ledger cannot record the call first, and says so', async () => {
    const { pass, ledger } = await setUp([office(['face-search'])]);
    const errors: string[] = [];
    ledger.putTarget = async () => {
      throw new Error('ENOSPC: no space left on device');
    };
    const summary = await pass(MON_0800, { onLedgerError: (e) => errors.push(String(e)) });
    expect(actionCalls()).toHaveLength(0);
    expect(summary.ledgerErrors).toBeGreaterThan(0);
    expect(errors[0]).toMatch(/ENOSPC/);
  });

  it('a call whose process died before recording it is resolved by a status read, with one history entry', async () => {
    const { pass, ledger } = await setUp([office(['face-search'])]);
    // A process leased the target, recorded its call in flight, made the call, and died.
    await ledger.putTarget({
      target: 'face-search',
      version: 1,
      desired: 'running',
      since: MON_0800,
      because: 'office',
      reached: false,
      tries: 0,
      lease: { owner: 'dead', until: '2027-03-29T08:05:00Z' },
      inFlight: {
        id: 'call-1',
        action: 'start',
        want: 'running',
        trigger: 'tick',
        since: MON_0800,
        because: 'office',
        attempt: 1,
        startedAt: MON_0800,
        owner: 'dead',
      },
    });
    rig.sim.addViasTask(PROJECT, 'task-1', 'RUNNING');
    expect(await pass('2027-03-29T08:01:00Z')).toMatchObject({ looked: 0 }); // leased
    await pass('2027-03-29T08:05:00Z', { isOwnerGone: (o) => o === 'dead' });
    const history = await ledger.history();
    expect(history).toHaveLength(1);
    expect(history[0]).toMatchObject({
      result: { action: 'start', ok: true, verified: true, observed: 'RUNNING' },
    });
    expect(history[0]!.reason).toMatch(/never recorded; resolved by status: RUNNING/);
    expect(actionCalls()).toHaveLength(0);
  });

  describe('a process that stops (SIGKILL) around sending its calls', () => {
    const ALL = ['face-search', 'orders-sync', 'load-test'];
    const setUpAtEight = async () => {
      const world = await setUp([office(ALL)]);
      rig.sim.addViasTask(PROJECT, 'task-1', 'RUNNING');
      rig.sim.addCptsTask(PROJECT, 1, 1, 0);
      return world;
    };
    /** An upstream whose process "dies" in `perform`: after `upTo` has happened, nothing more. */
    const dying = (upTo: (items: readonly UpstreamItem[], options: PerformOptions) => Promise<void>) =>
      ({
        observe: (items, options) => rig.upstream.observe(items, options),
        perform: async (items, _onOutcome, options = {}) => {
          await upTo(items, options);
          return new Promise<never>(() => undefined);
        },
      }) satisfies Upstream;

    it('after recording its calls in flight, before any request left: no entry for them; the next pass makes each call once', async () => {
      const { pass, ledger } = await setUpAtEight();
      // The first process writes each call's lease and in-flight record, then is killed.
      let admitted = 0;
      void pass(MON_2000, {
        upstream: dying(async (items, options) => {
          for (let i = 0; i < items.length; i++) if (await options.admit!(i)) admitted += 1;
        }),
      });
      await vi.waitFor(async () => {
        const records = await ledger.targets(ALL);
        expect([...records.values()].filter((r) => r.inFlight)).toHaveLength(3);
      });
      expect(admitted).toBe(3);
      expect(actionCalls()).toHaveLength(0);

      await pass('2027-03-29T20:01:00Z', { owner: 'test-b', isOwnerGone: (o) => o === 'test-a' });
      expect(actionCalls().map((r) => r.path.replace(/.*\//, ''))).toEqual(
        expect.arrayContaining(['stop', 'batch-pause-task', '1']),
      );
      expect(actionCalls()).toHaveLength(3);
      const history = await ledger.history();
      // One entry per call made, all succeeded: none for the three calls never made.
      expect(history.map((e) => [e.result.target, e.result.status])).toEqual(
        expect.arrayContaining(ALL.map((t) => [t, 'succeeded'])),
      );
      expect(history).toHaveLength(3);
      expect(history.some((e) => /never recorded/.test(e.reason ?? ''))).toBe(false);
      for (const record of (await ledger.targets(ALL)).values())
        expect(record).toMatchObject({ reached: true, desired: expect.any(String) });
    });

    it('on demand too: a call a killed process recorded but never sent gets no entry; the action makes its own', async () => {
      const { pass, ledger } = await setUpAtEight();
      void pass(MON_2000, {
        upstream: dying(async (items, options) => {
          for (let i = 0; i < items.length; i++) await options.admit!(i);
        }),
      });
      await vi.waitFor(async () =>
        expect((await ledger.targets(['face-search'])).get('face-search')?.inFlight).toBeDefined(),
      );
      const [result] = await carryOut(rig.config, [{ target: 'face-search', action: 'stop' }], {
        upstream: rig.upstream,
        ledger,
        owner: 'http-1',
        trigger: 'http',
        now: () => at('2027-03-29T20:00:30Z'),
        requestId: 'req-1',
        isOwnerGone: (o) => o === 'test-a',
      });
      expect(result).toMatchObject({ ok: true, status: 'succeeded', action: 'stop' });
      expect(rig.sim.requestsTo('/action/stop')).toHaveLength(1);
      const history = await ledger.history();
      expect(history).toHaveLength(1);
      expect(history[0]).toMatchObject({ requestId: 'req-1', result: { target: 'face-search', ok: true } });
    });

    it('after its requests left: each call is resolved by status, with one entry, and not made again', async () => {
      const { pass, ledger } = await setUpAtEight();
      void pass(MON_2000, {
        upstream: dying(async (items, options) => {
          // The requests go out and are applied; the process dies before it hears back.
          void rig.upstream.perform(items, undefined, options);
          await vi.waitFor(() => expect(actionCalls()).toHaveLength(3));
        }),
      });
      await vi.waitFor(() => expect(rig.sim.viasState(PROJECT, 'task-1')).toBe('STOPPED'));
      await vi.waitFor(() => expect(rig.sim.drsStatus(PROJECT, JOB)).toBe('PAUSING'));

      await pass('2027-03-29T20:01:00Z', { owner: 'test-b', isOwnerGone: (o) => o === 'test-a' });
      expect(actionCalls()).toHaveLength(3);
      const history = await ledger.history();
      expect(history).toHaveLength(3);
      for (const entry of history) {
        expect(entry.id).toMatch(/^call-/);
        expect(entry.result).toMatchObject({ ok: true, status: 'succeeded' });
        expect(entry.reason).toMatch(/never recorded; resolved by status/);
      }
    });
  });

  it('two passes at once (two processes sharing the ledger) make one call per target', async () => {
    const { pass } = await setUp([office(['face-search', 'orders-sync', 'load-test'])]);
    const [a, b] = await Promise.all([pass(MON_0800), pass(MON_0800, { owner: 'test-b' })]);
    expect(rig.sim.requestsTo('/action/start')).toHaveLength(1);
    expect(rig.sim.requestsTo('batch-retry-task').length + rig.sim.requestsTo('test-suites').length).toBe(1);
    expect(a.acted + a.unchanged + b.acted + b.unchanged).toBe(3);
  });

  it('never starts work past its deadline, and the next pass finishes it', async () => {
    const { pass, ledger } = await setUp([office(['face-search'])]);
    rig.sim.script({ path: '/tasks/task-1' }, [{ kind: 'hang' }]);
    const started = Date.now();
    const left = 1_500;
    const summary = await pass(MON_0800, { remainingMs: () => left - (Date.now() - started) });
    expect(Date.now() - started).toBeLessThan(left);
    expect(summary.deferred).toBe(1);
    expect(actionCalls()).toHaveLength(0);
    await pass('2027-03-29T08:01:00Z');
    expect(rig.sim.viasState(PROJECT, 'task-1')).toBe('RUNNING');
    expect((await ledger.history()).map((e) => e.result.status)).toEqual(['succeeded']);
  });

  it('a hands-off override: no call of any kind', async () => {
    const { pass } = await setUp([office(['face-search'])]);
    const overrides: OverrideRule[] = [
      {
        id: 'release',
        targets: ['face-search'],
        state: 'hands-off',
        from: '2027-03-29T07:00:00Z',
        until: '2027-03-29T23:00:00Z',
      },
    ];
    await pass(MON_0800, { overrides });
    await pass(MON_2000, { overrides });
    expect(rig.sim.requests).toHaveLength(0);
  });

  it('ends a DRS job once at its stop edge, never again', async () => {
    const { pass, ledger } = await setUp(
      [
        {
          id: 'retire',
          targets: ['retiring'],
          timezone: 'UTC',
          actions: [{ do: 'stop', cron: '0 8 29 3 *' }],
        },
      ],
      {
        targets: {
          retiring: { account: 'prod', kind: 'drs-job', jobId: JOB, allowStop: true },
        },
      },
    );
    await pass(MON_0800);
    await pass(MON_0800);
    await pass('2027-03-29T08:10:00Z');
    expect(rig.sim.requestsTo(/\/stop$/)).toHaveLength(1);
    expect(rig.sim.drsStatus(PROJECT, JOB)).toBe('RELEASE_RESOURCE_COMPLETE');
    expect((await ledger.history()).map((e) => e.result.status)).toEqual(['succeeded']);
  });
});
