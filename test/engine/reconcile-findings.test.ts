import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Router } from '../../functions/api/router.ts';
import type { Config } from '../../functions/engine/config/schema.ts';
import type { OverrideRule } from '../../functions/engine/decision.ts';
import { ErrorCode } from '../../functions/engine/error-codes.ts';
import type { HistoryEntry, Ledger } from '../../functions/engine/ledger.ts';
import { type ReconcileOptions, reconcile } from '../../functions/engine/reconcile.ts';
import type { HttpClientOptions } from '../../functions/huawei/http.ts';
import { HuaweiUpstream } from '../../functions/huawei/upstream.ts';
import { FileLedger } from '../../functions/stores/local-ledger.ts';
import { signedRequest, WEBHOOK_KEY } from '../helpers/api.ts';
import type { RawSchedule } from '../helpers/config.ts';
import { isActionCall, Killable } from '../helpers/crash.ts';
import { PROJECT, type Rig, startRig } from '../helpers/simulator.ts';

/**
 * Issue 17's findings, each as the scenario it was found in: the engine's pass (`reconcile`)
 * over real HTTP against the simulator, a local state folder, minutes passed by hand.
 */

const MINUTE = 60_000;
const at = (iso: string) => Date.parse(iso);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const until = async (check: () => boolean, timeoutMs = 10_000) => {
  const end = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > end) throw new Error('timed out');
    await sleep(2);
  }
};
const names = (prefix: string, n: number) =>
  Array.from({ length: n }, (_, i) => `${prefix}${String(i).padStart(3, '0')}`);
const viasTargets = (tasks: string[]) =>
  Object.fromEntries(tasks.map((t) => [t, { account: 'prod', kind: 'vias-task', taskId: t }]));
/** DRS jobs as the console names them: the id ends in `jb` and three characters. */
const drsTargets = (n: number) =>
  Object.fromEntries(
    Array.from({ length: n }, (_, i) => [
      `sync-${i}`,
      {
        account: 'prod',
        kind: 'drs-job',
        jobId: `8d0e8e36-a618-490d-8a46-8c61ac9jb5${String(i).padStart(2, '0')}`,
        allowStop: true,
      },
    ]),
  );
const jobOf = (config: Config, target: string) => (config.targets[target] as { jobId: string }).jobId;
const office = (targets: string[], window = 'Mon-Fri 08:00-20:00'): RawSchedule => ({
  id: 'office',
  targets,
  timezone: 'UTC',
  window,
});
const startsOf = (rig: Rig, task: string) => rig.sim.requestsTo(`/tasks/${task}/action/start`);
const entriesOf = (history: HistoryEntry[], target: string, action?: string) =>
  history.filter((e) => e.result.target === target && (!action || e.result.action === action));
/** The entries of calls made (not of a look that found the state already reached, say). */
const callsIn = (history: HistoryEntry[], target: string, action: string) =>
  entriesOf(history, target, action).filter((e) => e.result.attempts > 0);

describe('issue 17 findings, reconciled against the simulator', () => {
  let rig: Rig;
  const cleanup: (() => Promise<void> | void)[] = [];
  afterEach(async () => {
    for (const step of cleanup.splice(0).reverse()) await step();
  });

  const setUp = async (schedules: RawSchedule[], rigOptions: Parameters<typeof startRig>[0] = {}) => {
    rig = await startRig({ schedules, ...rigOptions });
    const r = rig;
    cleanup.push(() => r.close());
    const dir = mkdtempSync(join(tmpdir(), 'nightshift-findings-'));
    cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
    const ledger = new FileLedger(dir);
    const pass = (now: string, more: Partial<ReconcileOptions> = {}) =>
      reconcile({
        config: rig.config,
        from: at(now) - MINUTE,
        now: at(now),
        ledger,
        upstream: rig.upstream,
        owner: 'tick-a',
        maxLatenessMs: 15 * MINUTE,
        ...more,
      });
    return { dir, ledger, pass };
  };

  /** A second process on the same state folder: its own upstream and owner. */
  const restarted = (ledgerDir: string) => {
    const upstream = new HuaweiUpstream({
      secrets: rig.secrets,
      http: { sleep: async () => {}, random: () => 1, timeoutMs: 2_000 },
    });
    cleanup.push(() => upstream.close());
    return { upstream, ledger: new FileLedger(ledgerDir) };
  };

  /** A process that dies at a chosen request: its upstream and its view of the ledger. */
  const killable = (ledger: Ledger, http: HttpClientOptions = {}) => {
    const process = new Killable();
    cleanup.push(() => process.close());
    const upstream = new HuaweiUpstream({
      secrets: rig.secrets,
      http: {
        dispatcher: process.dispatcher,
        sleep: async () => {},
        random: () => 1,
        timeoutMs: 2_000,
        ...http,
      },
    });
    return { process, upstream, ledger: process.ledger(ledger) };
  };

  it('finding 3: hands-off acknowledged (201) mid-tick stops the tick: far fewer than 300 calls, none a second after', async () => {
    const tasks = names('t', 300);
    const { ledger, pass } = await setUp([office(tasks)], { targets: viasTargets(tasks) });
    rig.sim.script({ path: '/action/start' }, [{ kind: 'latency', ms: 100 }], { repeat: true });
    rig.secrets.set('nightshift/webhook', { key: WEBHOOK_KEY });
    // The clock of serve: 08:00 when the pass starts, running on in real time.
    const realStart = Date.now();
    const clock = () => at('2027-03-29T08:00:00Z') + (Date.now() - realStart);
    let overridesVersion = 0;
    const router = new Router({
      config: async () => rig.config,
      secrets: rig.secrets,
      upstream: rig.upstream,
      ledger,
      now: clock,
      onOverridesChanged: () => {
        overridesVersion += 1;
      },
    });
    const running = pass('2027-03-29T08:00:00Z', {
      refreshOverrides: () => ledger.overrides(clock()),
      overridesVersion: () => overridesVersion,
      clock,
    });
    await until(() => rig.sim.requestsTo('/action/start').length >= 20);
    const body = JSON.stringify({
      targets: tasks,
      state: 'hands-off',
      until: new Date(clock() + 3_600_000).toISOString(),
      reason: 'release',
    });
    const answer = await router.handle(
      signedRequest('POST', '/v1/overrides', body, { now: clock(), query: { n: '1' } }),
    );
    const acknowledged = Date.now();
    expect(answer.status).toBe(201);
    await running;
    const starts = rig.sim.requestsTo('/action/start');
    expect(starts.length).toBeLessThan(100);
    // No request of any kind (calls, status reads) starts more than a second after the 201.
    const late = rig.sim.requests.filter((r) => r.at > acknowledged + 1_000);
    expect(late.map((r) => `${r.method} ${r.path}`)).toEqual([]);
  }, 30_000);

  it('finding 4: no queued call is sent after the deadline; the next tick calls no target twice', async () => {
    const tasks = names('t', 100);
    const { ledger, pass } = await setUp([office(tasks)], { targets: viasTargets(tasks) });
    // 16 calls at a time, 250 ms each: the 100 starts need 1.75 s; the tick may send for 0.5 s.
    rig.sim.script({ path: '/action/start' }, [{ kind: 'latency', ms: 250 }], { repeat: true });
    const started = Date.now();
    const left = 2_500;
    await pass('2027-03-29T08:00:00Z', { remainingMs: () => left - (Date.now() - started) });
    const returned = Date.now();
    expect(returned - started).toBeLessThan(left);
    await sleep(300);
    expect(rig.sim.requestsTo('/action/start').filter((r) => r.at > returned)).toEqual([]);
    // The next ticks finish the work, and call no target a second time.
    await pass('2027-03-29T08:01:00Z');
    await pass('2027-03-29T08:02:00Z');
    for (const t of tasks) expect(startsOf(rig, t).length, t).toBe(1);
    expect(tasks.every((t) => rig.sim.viasState(PROJECT, t) === 'RUNNING')).toBe(true);
    const history = await ledger.history();
    expect(history.filter((e) => !e.result.ok)).toEqual([]);
    for (const t of tasks) expect(callsIn(history, t, 'start'), t).toHaveLength(1);
  }, 30_000);

  it('finding 5: status read refused (403): one start per target per desired state over hours of ticks, CPTS and VIAS', async () => {
    const { ledger, pass } = await setUp([
      {
        id: 'nightly',
        targets: ['face-search', 'load-test'],
        timezone: 'UTC',
        actions: [
          { do: 'start', cron: '0 1 * * *' },
          { do: 'stop', cron: '0 3 * * *' },
        ],
      },
    ]);
    rig.sim.script(
      { method: 'GET' },
      [{ kind: 'respond', status: 403, body: { error_code: 'APIGW.0302', error_msg: 'no read permission' } }],
      { repeat: true },
    );
    const warnings: { code: string; target: string; message: string }[] = [];
    for (let t = at('2027-03-29T01:00:00Z'); t <= at('2027-03-29T04:00:00Z'); t += MINUTE)
      await pass(new Date(t).toISOString(), { onWarning: (w) => warnings.push(w) });
    const cpts = rig.sim.requestsTo('/test-suites/1/tasks/1', 'POST');
    // One start (one load-test run) and one stop for CPTS; one start and one stop for VIAS.
    expect(cpts.map((r) => (r.body as { status: number }).status)).toEqual([9, 2]);
    expect(rig.sim.requestsTo('/tasks/task-1/action/start')).toHaveLength(1);
    expect(rig.sim.requestsTo('/tasks/task-1/action/stop')).toHaveLength(1);
    const history = await ledger.history();
    expect(entriesOf(history, 'load-test').map((e) => [e.result.action, e.result.ok])).toEqual([
      ['start', true],
      ['stop', true],
    ]);
    expect(entriesOf(history, 'face-search', 'start')[0]!.result).toMatchObject({
      ok: true,
      verified: false,
      observed: null,
    });
    expect(warnings.find((w) => w.target === 'load-test')).toMatchObject({ code: 'status.unreadable' });
    expect(warnings.find((w) => w.target === 'load-test')!.message).toMatch(/permission/);
  }, 60_000);

  it('finding 6: killed mid-slice: no OUTCOME_UNKNOWN entry for a call never made; every target started once', async () => {
    const tasks = names('t', 100);
    const { dir, ledger, pass } = await setUp([office(tasks)], { targets: viasTargets(tasks) });
    rig.sim.script({ path: '/action/start' }, [{ kind: 'latency', ms: 300 }], { repeat: true });
    // The process is killed right after its 16th start left: 84 were never sent.
    const first = killable(ledger);
    first.process.killAfter(isActionCall, 16);
    void pass('2027-03-29T08:00:00Z', { ledger: first.ledger, upstream: first.upstream });
    await until(() => first.process.dead);
    await sleep(400); // the calls that left land
    const made = new Set(rig.sim.requestsTo('/action/start').map((r) => /tasks\/(t\d+)\//.exec(r.path)![1]!));
    expect(made.size).toBe(16);
    // Restarted: a new process on the same folder; the dead one's leases are void.
    const second = restarted(dir);
    for (const minute of ['08:01', '08:02'])
      await pass(`2027-03-29T${minute}:00Z`, {
        ledger: second.ledger,
        upstream: second.upstream,
        owner: 'tick-b',
        isOwnerGone: (owner) => owner === 'tick-a',
      });
    for (const t of tasks) expect(startsOf(rig, t).length, t).toBe(1);
    const history = await second.ledger.history();
    const unknown = history.filter((e) => e.result.errorCode === ErrorCode.outcomeUnknown);
    expect(unknown.filter((e) => !made.has(e.result.target)).map((e) => e.result.target)).toEqual([]);
    for (const t of tasks) expect(callsIn(history, t, 'start'), t).toHaveLength(1);
    expect(history.filter((e) => !e.result.ok)).toEqual([]);
  }, 30_000);

  it('finding 7: the end of hands-off is reconciled: a task stopped by hand during it runs again at its end', async () => {
    const { pass } = await setUp([office(['face-search'])]);
    const overrides: OverrideRule[] = [
      {
        id: 'ovr-release',
        targets: ['face-search'],
        state: 'hands-off',
        from: '2027-03-29T10:00:00Z',
        until: '2027-03-29T11:00:00Z',
      },
    ];
    await pass('2027-03-29T08:00:00Z', { overrides });
    expect(rig.sim.viasState(PROJECT, 'task-1')).toBe('RUNNING');
    const before = rig.sim.requests.length;
    for (let t = at('2027-03-29T10:00:00Z'); t < at('2027-03-29T11:00:00Z'); t += 5 * MINUTE) {
      if (t === at('2027-03-29T10:30:00Z')) rig.sim.addViasTask(PROJECT, 'task-1', 'STOPPED'); // by hand
      await pass(new Date(t).toISOString(), { overrides });
    }
    expect(rig.sim.requests.length).toBe(before); // hands-off: nothing at all
    await pass('2027-03-29T11:00:00Z', { overrides });
    await pass('2027-03-29T11:01:00Z', { overrides });
    expect(rig.sim.viasState(PROJECT, 'task-1')).toBe('RUNNING');
  });

  it('finding 8: backoff belongs to its edge: a task pending all night is looked at again minutes after 08:00, not at 08:30', async () => {
    const { pass } = await setUp([office(['face-search'])]);
    rig.sim.addViasTask(PROJECT, 'task-1', 'RUNNING');
    rig.sim.settleMs = 24 * 3600_000; // stopping takes all night
    for (let t = at('2027-03-29T20:00:00Z'); t <= at('2027-03-30T08:01:00Z'); t += MINUTE)
      await pass(new Date(t).toISOString());
    expect(rig.sim.viasState(PROJECT, 'task-1')).toBe('STOPPING');
    // Done at 08:02: from now on the task can be started.
    rig.sim.settleMs = 0;
    rig.sim.addViasTask(PROJECT, 'task-1', 'STOPPED');
    for (let t = at('2027-03-30T08:02:00Z'); t <= at('2027-03-30T08:05:00Z'); t += MINUTE)
      await pass(new Date(t).toISOString());
    expect(rig.sim.requestsTo('/tasks/task-1/action/start')).toHaveLength(1);
    expect(rig.sim.viasState(PROJECT, 'task-1')).toBe('RUNNING');
  }, 30_000);

  it('finding 9: a crashed start is judged against what it wanted (running), not the newer desired state', async () => {
    const { dir, ledger, pass } = await setUp([
      {
        id: 'evening',
        targets: ['face-search'],
        timezone: 'UTC',
        actions: [
          { do: 'start', cron: '59 19 * * *' },
          { do: 'stop', cron: '0 20 * * *' },
        ],
      },
    ]);
    // The start reaches Huawei, is not applied, and the process dies before any answer.
    rig.sim.script({ path: '/action/start' }, [{ kind: 'hang' }]);
    const first = killable(ledger);
    first.process.killAfter(isActionCall);
    void pass('2027-03-29T19:59:00Z', { ledger: first.ledger, upstream: first.upstream });
    await until(() => first.process.dead);
    // Restarted at 20:05: the desired state is now stopped, and the task is stopped.
    const second = restarted(dir);
    await pass('2027-03-29T20:05:00Z', {
      from: at('2027-03-29T19:59:00Z'),
      ledger: second.ledger,
      upstream: second.upstream,
      owner: 'tick-b',
      isOwnerGone: (owner) => owner === 'tick-a',
    });
    const starts = entriesOf(await second.ledger.history(), 'face-search', 'start');
    expect(starts).toHaveLength(1);
    expect(starts[0]!.result).toMatchObject({
      desired: 'running',
      ok: false,
      errorCode: ErrorCode.outcomeUnknown,
      observed: 'STOPPED',
    });
  });

  it('finding 9: a crashed start whose resolution meets one ENOSPC still gets exactly one outcome', async () => {
    const { dir, ledger, pass } = await setUp([office(['face-search'])]);
    const first = killable(ledger);
    first.process.killAfter(isActionCall);
    void pass('2027-03-29T08:00:00Z', { ledger: first.ledger, upstream: first.upstream });
    await until(() => first.process.dead);
    await sleep(100);
    expect(rig.sim.viasState(PROJECT, 'task-1')).toBe('RUNNING');
    // Restarted on a full disk: the first history write after it fails once.
    const second = restarted(dir);
    let failed = false;
    const record = second.ledger.record.bind(second.ledger);
    second.ledger.record = async (entries) => {
      if (!failed && entries.some((e) => e.result.action === 'start')) {
        failed = true;
        throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
      }
      return record(entries);
    };
    const gone = { isOwnerGone: (owner: string) => owner !== 'tick-b', owner: 'tick-b' };
    for (const minute of ['08:01', '08:02', '08:03'])
      await pass(`2027-03-29T${minute}:00Z`, { ...gone, ledger: second.ledger, upstream: second.upstream });
    expect(failed).toBe(true);
    expect(rig.sim.requestsTo('/tasks/task-1/action/start')).toHaveLength(1);
    const starts = callsIn(await second.ledger.history(), 'face-search', 'start');
    expect(starts).toHaveLength(1);
    expect(starts[0]!.result).toMatchObject({ ok: true, observed: 'RUNNING' });
  });

  it('a call whose record write failed after its entry landed is settled from that entry when a hands-off begins (found by the simulation)', async () => {
    const { ledger, pass } = await setUp([office(['face-search'])]);
    // The outcome's record cannot be written (a full disk, once): the record stays in flight,
    // the history already holds the call's entry.
    let refused = false;
    const putTarget = ledger.putTarget.bind(ledger);
    ledger.putTarget = async (record) => {
      if (!refused && record.target === 'face-search' && !record.inFlight && record.lastOutcome) {
        refused = true;
        throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
      }
      return putTarget(record);
    };
    await pass('2027-03-29T08:00:00Z');
    expect(refused).toBe(true);
    expect((await ledger.targets(['face-search'])).get('face-search')?.inFlight).toBeDefined();
    // A hands-off begins: the status may not be read, but the outcome is known from the history.
    const overrides: OverrideRule[] = [
      {
        id: 'ovr-hands',
        targets: ['face-search'],
        state: 'hands-off',
        from: '2027-03-29T08:01:00Z',
        until: '2027-03-29T09:00:00Z',
      },
    ];
    await pass('2027-03-29T08:01:00Z', { overrides });
    await pass('2027-03-29T08:02:00Z', { overrides });
    const record = (await ledger.targets(['face-search'])).get('face-search');
    expect(record?.inFlight).toBeUndefined();
    const starts = entriesOf(await ledger.history(), 'face-search', 'start');
    expect(starts).toHaveLength(1);
    expect(starts[0]!.result).toMatchObject({ ok: true, status: 'succeeded' });
  });

  it('a call taken back as never sent gets no entry from a pass that read its record before the take-back (found by the simulation)', async () => {
    const { ledger, pass } = await setUp([office(['face-search'])]);
    await pass('2027-03-29T08:00:00Z');
    const reached = (await ledger.targets(['face-search'])).get('face-search')!;
    // Another actor (an on-demand request) records its call in flight, then takes it back: its
    // deadline came before it was sent. It is done, so its lease counts for nothing.
    const inFlight = {
      ...reached,
      version: reached.version + 1,
      lease: { owner: 'req-gone', until: '2027-03-29T08:06:00.000Z' },
      inFlight: {
        id: 'call-l2a_7xJ87GDxFGe5XwCw22',
        action: 'stop' as const,
        want: 'stopped' as const,
        trigger: 'http' as const,
        attempt: 1,
        startedAt: '2027-03-29T08:01:00.000Z',
        owner: 'req-gone',
        ref: rig.config.targets['face-search']!,
        requestId: 'req-5-1-face-search',
      },
    };
    expect(await ledger.putTarget(inFlight)).toBe(true);
    expect(await ledger.putTarget({ ...reached, version: reached.version + 2 })).toBe(true);
    // The pass read the record between the two writes (a stale read): it sees the call in flight.
    const targets = ledger.targets.bind(ledger);
    let stale = true;
    ledger.targets = async (names) => {
      const found = await targets(names);
      if (stale && names.includes('face-search')) {
        stale = false;
        found.set('face-search', inFlight);
      }
      return found;
    };
    await pass('2027-03-29T08:02:00Z', { isOwnerGone: (owner) => owner === 'req-gone' });
    expect(stale).toBe(false);
    const history = await ledger.history();
    expect(history.filter((e) => e.id === 'call-l2a_7xJ87GDxFGe5XwCw22')).toEqual([]);
    expect(rig.sim.requestsTo('/tasks/task-1/action/stop')).toHaveLength(0);
  });

  it('finding 10: a 0-byte target record is moved aside; every target, that one too, is still stopped at 10:10', async () => {
    const tasks = names('t', 20);
    const { dir, ledger, pass } = await setUp([office(tasks, 'Mon-Fri 08:00-10:10')], {
      targets: viasTargets(tasks),
    });
    await pass('2027-03-29T08:00:00Z');
    expect(tasks.every((t) => rig.sim.viasState(PROJECT, t) === 'RUNNING')).toBe(true);
    // A crash on a full disk left the latest version of one record empty.
    const records = join(dir, 'targets', 't007');
    const latest = latestVersionFile(records);
    writeFileSync(join(records, latest), '');
    const summary = await pass('2027-03-29T10:10:00Z');
    expect(tasks.filter((t) => rig.sim.viasState(PROJECT, t) !== 'STOPPED')).toEqual([]);
    expect(summary.ledgerErrors).toBe(0);
    expect(readdirSync(join(dir, 'damaged')).some((f) => f.startsWith(`t007~${latest}`))).toBe(true);
    const history = await ledger.history();
    for (const t of tasks) expect(callsIn(history, t, 'stop'), t).toHaveLength(1);
  });

  // Found attacking a running `serve`: a record holding other JSON (`null` made the read loop
  // forever, a number was taken for a record) or replaced by a folder (EISDIR failed every tick).
  it.each([
    ['null', 'null'],
    ['a number', '42'],
    ['an array', '[]'],
    ['a folder', undefined],
  ])(
    'a target record that is %s is moved aside; every target is still stopped at 10:10',
    async (_, content) => {
      const tasks = names('t', 4);
      const { dir, ledger, pass } = await setUp([office(tasks, 'Mon-Fri 08:00-10:10')], {
        targets: viasTargets(tasks),
      });
      await pass('2027-03-29T08:00:00Z');
      const records = join(dir, 'targets', 't002');
      const latest = latestVersionFile(records);
      rmSync(join(records, latest));
      if (content === undefined) mkdirSync(join(records, latest));
      else writeFileSync(join(records, latest), content);
      const summary = await pass('2027-03-29T10:10:00Z');
      expect(tasks.filter((t) => rig.sim.viasState(PROJECT, t) !== 'STOPPED')).toEqual([]);
      expect(summary.ledgerErrors).toBe(0);
      expect(readdirSync(join(dir, 'damaged')).some((f) => f.startsWith(`t002~${latest}`))).toBe(true);
      const history = await ledger.history();
      for (const t of tasks) expect(callsIn(history, t, 'stop'), t).toHaveLength(1);
    },
    10_000,
  );

  // Found attacking a running `serve`: a target's folder replaced by a file (ENOTDIR) failed every
  // tick for every target.
  it('a record folder replaced by a file is moved aside; every target is still stopped at 10:10', async () => {
    const tasks = names('t', 4);
    const { dir, ledger, pass } = await setUp([office(tasks, 'Mon-Fri 08:00-10:10')], {
      targets: viasTargets(tasks),
    });
    await pass('2027-03-29T08:00:00Z');
    rmSync(join(dir, 'targets', 't002'), { recursive: true });
    writeFileSync(join(dir, 'targets', 't002'), 'not a folder');
    const summary = await pass('2027-03-29T10:10:00Z');
    expect(tasks.filter((t) => rig.sim.viasState(PROJECT, t) !== 'STOPPED')).toEqual([]);
    expect(summary.ledgerErrors).toBe(0);
    expect(readdirSync(join(dir, 'damaged')).some((f) => f.startsWith('targets~t002~'))).toBe(true);
    const history = await ledger.history();
    for (const t of tasks) expect(callsIn(history, t, 'stop'), t).toHaveLength(1);
  }, 10_000);

  // Found attacking a running `serve` as a user other than root: `chmod 000` on one target's
  // record folder (or its latest version) fails `ledger.targets()` with EACCES, so every tick
  // fails for every target (an 18:00 edge missed for all five). It cannot be moved aside (a
  // folder needs its own write permission to be renamed), and a ledger that answered "no
  // record" would let the engine write version 1 where the versions before were pruned and call
  // again. The fix belongs to reconcile.ts: `targets()` reports the names it could not read, and
  // the pass leaves those alone (a ledger error each) while the others go on. Root ignores
  // permissions, so this runs only where the tests do not run as root.
  it.todo('a target record folder that cannot be read (EACCES) holds up that target only');

  it('finding 13: a config pointing a target at another task id is a new target: the new task is acted on', async () => {
    const { pass } = await setUp([office(['face-search'])]);
    await pass('2027-03-29T08:00:00Z');
    expect(rig.sim.viasState(PROJECT, 'task-1')).toBe('RUNNING');
    // Hot reload: face-search is now task-2 (stopped).
    rig.sim.addViasTask(PROJECT, 'task-2', 'STOPPED');
    const reloaded: Config = {
      ...rig.config,
      targets: {
        ...rig.config.targets,
        'face-search': { ...rig.config.targets['face-search']!, taskId: 'task-2' },
      },
    } as Config;
    await pass('2027-03-29T08:05:00Z', { config: reloaded });
    expect(rig.sim.requestsTo('/tasks/task-2/action/start')).toHaveLength(1);
    expect(rig.sim.viasState(PROJECT, 'task-2')).toBe('RUNNING');
  });

  describe('a pass behind a later one (found while proving the findings)', () => {
    const flips: RawSchedule[] = [
      office(['face-search']),
      {
        id: 'late',
        targets: ['face-search'],
        timezone: 'UTC',
        actions: [{ do: 'start', cron: '2 20 * * *' }],
      },
    ];

    it('a tick for an earlier minute (a slower process, a redelivered tick) undoes nothing a later one did', async () => {
      const { pass } = await setUp(flips);
      rig.sim.addViasTask(PROJECT, 'task-1', 'RUNNING');
      await pass('2027-03-29T20:00:00Z');
      await pass('2027-03-29T20:02:00Z');
      expect(rig.sim.viasState(PROJECT, 'task-1')).toBe('RUNNING');
      const calls = rig.sim.requests.filter(isActionCall).length;
      // Another process, still on 20:00 (its clock a little behind, or its tick slow).
      await pass('2027-03-29T20:00:00Z', { owner: 'tick-b' });
      expect(rig.sim.requests.filter(isActionCall).length).toBe(calls);
      expect(rig.sim.viasState(PROJECT, 'task-1')).toBe('RUNNING');
    });

    it('a clock gone back behind the state folder (serve says so) still reconciles levels by its own minute', async () => {
      const { pass } = await setUp([office(['face-search'], 'Mon-Fri 08:00-12:00')]);
      rig.sim.addViasTask(PROJECT, 'task-1', 'RUNNING');
      await pass('2027-03-29T13:09:00Z', { from: at('2027-03-29T11:59:00Z') });
      expect(rig.sim.viasState(PROJECT, 'task-1')).toBe('STOPPED');
      // The host clock went back to 11:00: the window is open by this clock.
      const at11 = at('2027-03-29T11:00:00Z');
      await pass('2027-03-29T11:00:00Z', { from: at11, clockBehind: true });
      expect(rig.sim.viasState(PROJECT, 'task-1')).toBe('RUNNING');
    });
  });

  describe('finding 14: the DRS end keeps the protocol', () => {
    const retire: RawSchedule = {
      id: 'retire',
      targets: ['sync-0', 'sync-1', 'sync-2'],
      timezone: 'UTC',
      actions: [{ do: 'stop', cron: '0 20 * * *' }],
    };

    it('killed right after an end call left: every ended job has exactly one history entry', async () => {
      const { dir, ledger, pass } = await setUp([retire], { targets: drsTargets(3) });
      rig.sim.script({ path: /\/stop$/ }, [{ kind: 'latency', ms: 300 }], { repeat: true });
      // One call at a time, as the ends were carried out when this was found.
      const first = killable(ledger, { maxInFlightPerAccount: 1 });
      first.process.killAfter(isActionCall);
      void pass('2027-03-29T20:00:00Z', { ledger: first.ledger, upstream: first.upstream });
      await until(() => first.process.dead);
      await sleep(400);
      // Restarted at 20:01; the tick that died never moved the cursor, so 20:00 is looked at again.
      const second = restarted(dir);
      await pass('2027-03-29T20:01:00Z', {
        from: at('2027-03-29T19:59:00Z'),
        ledger: second.ledger,
        upstream: second.upstream,
        owner: 'tick-b',
        isOwnerGone: (owner) => owner === 'tick-a',
      });
      const history = await second.ledger.history();
      for (const t of retire.targets as string[]) {
        expect(rig.sim.drsStatus(PROJECT, jobOf(rig.config, t)), t).toBe('RELEASE_RESOURCE_COMPLETE');
        expect(rig.sim.requestsTo(`${jobOf(rig.config, t)}/stop`), t).toHaveLength(1);
        expect(callsIn(history, t, 'stop'), t).toHaveLength(1);
      }
    });

    it('an end owed since an earlier pass is skipped if an override covers its minute, acknowledged later and ended since (found by the simulation)', async () => {
      const { ledger, pass } = await setUp([retire], { targets: drsTargets(3) });
      // The 20:00 pass notes the ends and runs out of time before any call.
      await pass('2027-03-29T20:00:00Z', { remainingMs: () => 0 });
      const records = await ledger.targets(retire.targets as string[]);
      for (const t of retire.targets as string[])
        expect(records.get(t)?.endDue?.at, t).toBe('2027-03-29T20:00:00Z');
      // At 20:05 someone says: hands-off 19:55-20:04 (over already, but it covers the ends' minute).
      const handsOff: OverrideRule = {
        id: 'ovr-freeze',
        targets: retire.targets as string[],
        state: 'hands-off',
        from: '2027-03-29T19:55:00Z',
        until: '2027-03-29T20:04:00Z',
      };
      await pass('2027-03-29T20:06:00Z', { from: at('2027-03-29T20:05:00Z'), overrides: [handsOff] });
      expect(rig.sim.requestsTo(/\/stop$/)).toEqual([]);
      const history = await ledger.history();
      for (const t of retire.targets as string[]) {
        expect(rig.sim.drsStatus(PROJECT, jobOf(rig.config, t)), t).not.toBe('RELEASE_RESOURCE_COMPLETE');
        expect(
          entriesOf(history, t, 'stop').map((e) => e.result.status),
          t,
        ).toEqual(['skipped']);
      }
    });

    it('past the deadline: no end call is sent late; the next tick finishes; one entry per ended job', async () => {
      const { ledger, pass } = await setUp([retire], {
        targets: drsTargets(3),
        http: { maxInFlightPerAccount: 1 },
      });
      rig.sim.script({ path: /\/stop$/ }, [{ kind: 'latency', ms: 1_200 }], { repeat: true });
      const started = Date.now();
      const left = 2_500;
      await pass('2027-03-29T20:00:00Z', { remainingMs: () => left - (Date.now() - started) });
      const returned = Date.now();
      expect(returned - started).toBeLessThan(left);
      await sleep(1_500);
      expect(rig.sim.requestsTo(/\/stop$/).filter((r) => r.at > started + left)).toEqual([]);
      // The next ticks (the cursor moved on: 20:00 is behind them).
      await pass('2027-03-29T20:01:00Z');
      await pass('2027-03-29T20:02:00Z');
      const history = await ledger.history();
      for (const t of retire.targets as string[]) {
        expect(rig.sim.drsStatus(PROJECT, jobOf(rig.config, t)), t).toBe('RELEASE_RESOURCE_COMPLETE');
        expect(rig.sim.requestsTo(`${jobOf(rig.config, t)}/stop`), t).toHaveLength(1);
        expect(callsIn(history, t, 'stop'), t).toHaveLength(1);
      }
    }, 20_000);
  });
});

/** The newest version file of a target's record folder in a state folder (`0000000003.json`). */
function latestVersionFile(records: string): string {
  return readdirSync(records)
    .filter((f) => /^\d+\.json$/.test(f))
    .sort((a, b) => Number.parseInt(b, 10) - Number.parseInt(a, 10))[0]!;
}
