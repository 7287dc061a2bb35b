import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { TargetConfig } from '../../functions/engine/config/schema.ts';
import type { Desired } from '../../functions/engine/decision.ts';
import { ErrorCode } from '../../functions/engine/error-codes.ts';
import type { ActionResult } from '../../functions/engine/executor.ts';
import type { InFlight, TargetRecord } from '../../functions/engine/ledger.ts';
import type { StatusRead } from '../../functions/engine/states.ts';
import {
  concluded,
  configHashOf,
  identityOf,
  inFlightRecord,
  notSent,
  type Observed,
  observed,
  onDemand,
  type Plan,
  plan,
  resolvedUnread,
  type TargetContext,
  usableVerify,
} from '../../functions/engine/transition.ts';

const NOW = Date.parse('2027-03-29T20:05:00Z');
const MIN = 60_000;
const iso = (ms: number) => new Date(ms).toISOString();
const PROJECT = '054ba152d480d55b2f5dc0069e7ddef0';
const JOB = 'c7debc9c-8e09-4a5d-8dd6-cc44f78jb20r';

const drs: TargetConfig = {
  account: 'prod',
  kind: 'drs-job',
  jobId: JOB,
  pauseMode: 'target',
  forceStop: false,
} as TargetConfig;
const vias: TargetConfig = { account: 'prod', kind: 'vias-task', taskId: 'task-1' } as TargetConfig;
const batch: TargetConfig = {
  account: 'prod',
  kind: 'vias-batch-task',
  batchTaskId: 'batch-1',
} as TargetConfig;
const cpts = {
  account: 'prod',
  kind: 'cpts-task',
  testSuiteId: 1,
  taskId: 1,
  clusterType: 'shared-cluster-internet',
  clusterId: 0,
} as TargetConfig;

const paused: Desired = {
  state: 'paused',
  since: '2027-03-29T20:00:00Z',
  because: 'office-hours',
  action: 'pause',
};
const running: Desired = {
  state: 'running',
  since: '2027-03-29T08:00:00Z',
  because: 'office-hours',
  action: 'resume',
};

const ctx = (more: Partial<TargetContext> = {}): TargetContext => ({
  target: 'orders-sync',
  config: drs,
  desired: paused,
  policy: { mode: 'transitions', enforceEveryMinutes: 15 },
  now: NOW,
  owner: 'me',
  trigger: 'tick',
  maxLatenessMs: 15 * MIN,
  ...more,
});
const record = (more: Partial<TargetRecord> = {}, config: TargetConfig = drs): TargetRecord => ({
  target: 'orders-sync',
  version: 3,
  identity: identityOf(config, PROJECT),
  configHash: configHashOf(config),
  desired: 'paused',
  since: '2027-03-29T20:00:00Z',
  because: 'office-hours',
  reached: true,
  tries: 0,
  calls: 0,
  lastCheckAt: iso(NOW - 2 * MIN),
  ...more,
});
const seen = (state: string, text = state.toUpperCase()): StatusRead =>
  ({ observation: { state, text } }) as StatusRead;
const denied: StatusRead = { observation: null, error: { code: 'APIGW.0302', message: 'denied' } };
const flight = (more: Partial<InFlight> = {}): InFlight => ({
  id: 'call-1',
  action: 'pause',
  want: 'paused',
  trigger: 'tick',
  since: paused.since,
  because: 'office-hours',
  attempt: 1,
  startedAt: iso(NOW - MIN),
  owner: 'other',
  ref: drs,
  ...more,
});

type PlanRow = [string, TargetRecord | undefined, Partial<TargetContext>, Plan['step']];

describe('plan: whether to read the status this pass', () => {
  it.each<PlanRow>([
    ['no edge in the look-back', undefined, { desired: undefined }, 'idle'],
    ['a new edge, never seen', undefined, {}, 'look'],
    ['a new edge replaces a reached state', record({ desired: 'running', since: running.since }), {}, 'look'],
    ['reached, transitions mode', record(), {}, 'idle'],
    [
      'reached, enforce, checked 2 min ago',
      record(),
      { policy: { mode: 'enforce', enforceEveryMinutes: 15 } },
      'idle',
    ],
    [
      'reached, enforce, checked 15 min ago',
      record({ lastCheckAt: iso(NOW - 15 * MIN) }),
      { policy: { mode: 'enforce', enforceEveryMinutes: 15 } },
      'look',
    ],
    [
      'reached blind (status unreadable), enforce: no drift checks',
      record({ blind: true, lastCheckAt: iso(NOW - 60 * MIN) }),
      { policy: { mode: 'enforce', enforceEveryMinutes: 15 } },
      'idle',
    ],
    ['not reached, retry due', record({ reached: false, tries: 2, nextCheckAt: iso(NOW) }), {}, 'look'],
    [
      'not reached, backing off',
      record({ reached: false, tries: 2, nextCheckAt: iso(NOW + MIN) }),
      {},
      'idle',
    ],
    ['cannot be reached, same edge', record({ reached: false, final: true }), {}, 'idle'],
    [
      'leased by another live owner',
      record({ reached: false, lease: { owner: 'other', until: iso(NOW + MIN) } }),
      {},
      'idle',
    ],
    [
      'a lease that ran out',
      record({ reached: false, lease: { owner: 'other', until: iso(NOW - 1) } }),
      {},
      'look',
    ],
    ['a call in flight, lease ran out', record({ reached: false, inFlight: flight() }), {}, 'look'],
    [
      'a DRS end is never held',
      undefined,
      { desired: { state: 'ended', since: iso(NOW), because: 'retire', action: 'stop' } },
      'idle',
    ],
    [
      'the task id changed in the config (finding 13): a new target',
      record({ identity: 'drs-job:other:8d0e8e36-a618-490d-8a46-8c61ac9jb502' }),
      {},
      'look',
    ],
    [
      'the target config changed: the desired state starts afresh',
      record({ configHash: 'older' }),
      {},
      'look',
    ],
    [
      'a DRS end due, not covered, in time',
      record(),
      { end: { at: '2027-03-29T20:00:00Z', schedule: 'retire' } },
      'look',
    ],
    [
      'a DRS end already handled',
      record({ lastEnd: '2027-03-29T20:00:00Z' }),
      { end: { at: '2027-03-29T20:00:00Z', schedule: 'retire' } },
      'idle',
    ],
  ])('%s', (_name, stored, given, step) => {
    const decided = plan(stored, ctx(given), PROJECT);
    expect(decided.step).toBe(step);
    expect(decided.reason).toMatch(/\S/);
  });

  it('hands-off: no read, and the record notes it, so its end is a new desired state (finding 7)', () => {
    const handsOff: Desired = {
      state: 'hands-off',
      since: iso(NOW - 5 * MIN),
      because: 'ovr-1',
      override: 'ovr-1',
    };
    const decided = plan(record(), ctx({ desired: handsOff }), PROJECT);
    expect(decided.step).toBe('idle');
    const written = decided.step === 'idle' ? decided.write!.record : undefined;
    expect(written).toMatchObject({ desired: 'hands-off', because: 'ovr-1', override: true });
    // The hour after: the schedule's state, reached before hands-off, must be looked at again.
    expect(plan(written, ctx({ desired: paused, now: NOW + 60 * MIN }), PROJECT).step).toBe('look');
    // Noted once: the next minutes write nothing.
    const again = plan(written, ctx({ desired: handsOff, now: NOW + MIN }), PROJECT);
    expect(again.step === 'idle' ? again.write : 'look').toBeUndefined();
  });

  it('a DRS end covered by an override at its minute is recorded skipped without any read (finding 1)', () => {
    const decided = plan(
      record(),
      ctx({
        end: { at: '2027-03-29T20:00:00Z', schedule: 'retire', coveredBy: { id: 'ovr-9', state: 'running' } },
      }),
      PROJECT,
    );
    expect(decided.step).toBe('idle');
    if (decided.step !== 'idle') return;
    expect(decided.write!.record.lastEnd).toBe('2027-03-29T20:00:00Z');
    expect(decided.write!.entries[0]).toMatchObject({
      override: 'ovr-9',
      result: { action: 'stop', status: 'skipped', ok: true },
    });
  });

  it('a DRS end past the lateness bound is missed without any read', () => {
    const decided = plan(record(), ctx({ end: { at: iso(NOW - 20 * MIN), schedule: 'retire' } }), PROJECT);
    expect(decided.step === 'idle' && decided.write!.entries[0]!.result.errorCode).toBe(ErrorCode.missed);
  });

  it('a DRS end a pass could not send is kept in the record and carried out by the next pass (finding 14)', () => {
    const end = { at: '2027-03-29T20:00:00Z', schedule: 'retire' };
    // Seen due: noted before the status is read.
    const first = plan(record(), ctx({ end }), PROJECT);
    expect(first.step === 'look' && first.note).toMatchObject({ version: 4, endDue: end });
    const noted = first.step === 'look' ? first.note! : record();
    // Its call decided, written in flight, then the deadline came before it was sent.
    const decided = observed(noted, ctx({ end }), seen('running', 'INCRE_TRANSFER_STARTED'), PROJECT);
    if (decided.kind !== 'act') throw new Error('expected the end call');
    const inflight = inFlightRecord(decided.act.record, decided.act.call, ctx({ end }), {
      owner: 'me',
      until: NOW + 5 * MIN,
    });
    const unsent: ActionResult = {
      target: 'orders-sync',
      kind: 'drs-job',
      action: 'stop',
      ok: false,
      status: 'failed',
      errorCode: ErrorCode.deadline,
      attempts: 0,
      durationMs: 1,
    };
    expect(concluded(inflight, ctx({ end }), unsent, undefined)).toBe('not-sent');
    const after = notSent(inflight);
    // The next minute's pass has no end in its window; the record still owes it.
    const later = ctx({ now: NOW + MIN });
    expect(plan(after, later, PROJECT).step).toBe('look');
    const again = observed(after, later, seen('running', 'INCRE_TRANSFER_STARTED'), PROJECT);
    expect(again.kind === 'act' && again.act.call).toMatchObject({ action: 'stop', occurrence: end.at });
    // An override in force by then holds it: skipped, naming the override.
    const overridden = ctx({
      now: NOW + MIN,
      desired: { state: 'running', since: iso(NOW + 30_000), because: 'ovr-5', override: 'ovr-5' },
    });
    const held = observed(after, overridden, seen('running', 'INCRE_TRANSFER_STARTED'), PROJECT);
    expect(held.kind === 'settle' && held.settle.entries[0]).toMatchObject({
      override: 'ovr-5',
      result: { action: 'stop', status: 'skipped' },
    });
    // Sent: the edge is handled, whatever the answer; never a second end call.
    const sent = concluded(
      inflight,
      ctx({ end }),
      { ...unsent, ok: true, status: 'succeeded', errorCode: undefined, attempts: 1 },
      seen('ended', 'RELEASE_RESOURCE_COMPLETE'),
    );
    if (typeof sent === 'string') throw new Error('expected an outcome');
    expect(sent.record.lastEnd).toBe(end.at);
    expect(plan(sent.record, later, PROJECT).step).toBe('idle');
  });
});

type ObservedRow = [
  string,
  TargetRecord | undefined,
  Partial<TargetContext>,
  StatusRead | null,
  Partial<{ kind: Observed['kind']; outcome: string; action: string; drift: boolean; blind: boolean }>,
];

describe('observed: settle, or one call', () => {
  it.each<ObservedRow>([
    ['already paused', undefined, {}, seen('paused', 'PAUSING'), { kind: 'settle', outcome: 'unchanged' }],
    [
      'running, should be paused',
      undefined,
      {},
      seen('running', 'INCRE_TRANSFER_STARTED'),
      { kind: 'act', action: 'pause' },
    ],
    [
      'transition under way',
      undefined,
      {},
      seen('pending', 'STARTJOBING'),
      { kind: 'settle', outcome: 'pending' },
    ],
    [
      'the job has ended',
      undefined,
      {},
      seen('ended', 'RELEASE_RESOURCE_COMPLETE'),
      { kind: 'settle', outcome: 'impossible' },
    ],
    [
      'failed job counts as paused',
      undefined,
      {},
      seen('failed', 'INCRE_TRANSFER_FAILED'),
      { kind: 'settle', outcome: 'unchanged' },
    ],
    [
      'failed task, should run',
      undefined,
      { config: vias, desired: { ...running, action: 'start' } },
      seen('failed', 'START_FAILED'),
      { kind: 'act', action: 'start' },
    ],
    [
      'status unreadable: one call, blind',
      undefined,
      {},
      denied,
      { kind: 'act', action: 'pause', blind: true },
    ],
    [
      'no status query: act on the edge',
      undefined,
      { config: batch, desired: { state: 'stopped', since: iso(NOW), because: 's' } },
      null,
      { kind: 'act', action: 'stop' },
    ],
    [
      'CPTS task to be started',
      undefined,
      { config: cpts, desired: { state: 'running', since: iso(NOW), because: 's' } },
      seen('stopped', 'run_status 2 (ended)'),
      { kind: 'act', action: 'start' },
    ],
    [
      'drift found by enforce',
      record(),
      { policy: { mode: 'enforce', enforceEveryMinutes: 15 } },
      seen('running', 'INCRE_TRANSFER_STARTED'),
      { kind: 'act', action: 'pause', drift: true },
    ],
    [
      'a DRS end due, the job running: the end call',
      record(),
      { end: { at: '2027-03-29T20:00:00Z', schedule: 'retire' } },
      seen('running', 'INCRE_TRANSFER_STARTED'),
      { kind: 'act', action: 'stop' },
    ],
  ])('%s', (_name, stored, given, read, expected) => {
    const next = observed(stored, ctx(given), read, PROJECT);
    expect(next.kind).toBe(expected.kind);
    if (next.kind === 'settle') expect(next.settle.outcome).toBe(expected.outcome);
    else {
      expect(next.act.call.action).toBe(expected.action);
      expect(next.act.call.drift ?? false).toBe(expected.drift ?? false);
      expect(next.act.call.blind ?? false).toBe(expected.blind ?? false);
    }
  });

  it('a new edge resets the backoff of the one before (finding 8)', () => {
    // Stopped overnight and UPGRADING: looked at with growing backoff, 30 min by morning.
    const night = record(
      {
        desired: 'stopped',
        since: '2027-03-29T20:00:00Z',
        reached: false,
        tries: 9,
        nextCheckAt: iso(NOW + 30 * MIN),
      },
      vias,
    );
    const morning = Date.parse('2027-03-30T08:00:00Z');
    const start: Desired = {
      state: 'running',
      since: iso(morning),
      because: 'office-hours',
      action: 'start',
    };
    const next = observed(
      night,
      ctx({ config: vias, desired: start, now: morning }),
      seen('pending', 'UPGRADING'),
      PROJECT,
    );
    expect(next.kind === 'settle' && next.settle.record).toMatchObject({
      tries: 1,
      nextCheckAt: iso(morning + MIN),
    });
  });

  /** A start sent for 08:00 by a process that died before recording it; by now it is 20:05, stopped. */
  const crashedStart = () => {
    const start = flight({ action: 'start', want: 'running', since: '2027-03-29T08:00:00Z', ref: vias });
    const stored = record(
      { desired: 'running', since: '2027-03-29T08:00:00Z', reached: false, inFlight: start },
      vias,
    );
    const stopped: Desired = {
      state: 'stopped',
      since: '2027-03-29T20:00:00Z',
      because: 'office-hours',
      action: 'stop',
    };
    return { stored, stopped };
  };

  it('a crashed call is judged against what that call wanted, not the newer desired state (finding 9)', () => {
    const { stored, stopped } = crashedStart();
    const next = observed(
      stored,
      ctx({ config: vias, desired: stopped }),
      seen('stopped', 'STOPPED'),
      PROJECT,
    );
    const resolution = (next.kind === 'settle' ? next.settle.entries : next.act.entries).find(
      (e) => e.id === 'call-1',
    )!;
    expect(resolution.result).toMatchObject({
      action: 'start',
      desired: 'running',
      ok: false,
      errorCode: ErrorCode.outcomeUnknown,
    });
    expect(resolution.reason).toMatch(/never recorded/);
  });

  it('a crashed call of the previous desired state is resolved and the new one gets its call in the same look', () => {
    // Found by the two-processes-SIGKILLed test: the start sent for 08:00 reached RUNNING, its
    // process died before recording it, and by the next look the desired state is stopped. The
    // look resolved the start and then waited a tick ("did not reach stopped; next try at
    // undefined") instead of stopping: that start's backoff is not the stop's.
    const { stored, stopped } = crashedStart();
    const next = observed(
      stored,
      ctx({ config: vias, desired: stopped }),
      seen('running', 'RUNNING'),
      PROJECT,
    );
    expect(next.kind).toBe('act');
    if (next.kind !== 'act') return;
    expect(next.act.call).toMatchObject({ action: 'stop', want: 'stopped' });
    expect(next.act.entries.map((e) => [e.id, e.result.status])).toEqual([['call-1', 'succeeded']]);
    // Already in the new state instead: its own "unchanged" entry, beside the resolution.
    const already = observed(
      stored,
      ctx({ config: vias, desired: stopped }),
      seen('stopped', 'STOPPED'),
      PROJECT,
    );
    expect(already.kind === 'settle' && already.settle.entries.map((e) => e.result.status)).toEqual([
      'failed',
      'unchanged',
    ]);
  });

  it('a resolved call that did not reach the state is not called again in the same look', () => {
    const stored = record({ reached: false, inFlight: flight() });
    const next = observed(stored, ctx(), seen('running', 'INCRE_TRANSFER_STARTED'), PROJECT);
    expect(next.kind).toBe('settle');
    expect(next.kind === 'settle' && next.settle.record.nextCheckAt).toBe(iso(NOW + MIN));
  });

  it('after a blind call answered ok, the state counts as reached: not repeated (finding 5)', () => {
    const decided = observed(undefined, ctx({ config: cpts, desired: running }), denied, PROJECT);
    expect(decided.kind).toBe('act');
    if (decided.kind !== 'act') return;
    expect(decided.act.warning).toMatchObject({ code: 'status.unreadable' });
    expect(decided.act.warning!.message).toMatch(/permission/);
    const inflight = inFlightRecord(
      decided.act.record,
      decided.act.call,
      ctx({ config: cpts, desired: running }),
      { owner: 'me', until: NOW + 5 * MIN },
    );
    const ok: ActionResult = {
      target: 'orders-sync',
      kind: 'cpts-task',
      action: 'start',
      ok: true,
      status: 'succeeded',
      attempts: 1,
      durationMs: 5,
    };
    const done = concluded(inflight, ctx({ config: cpts, desired: running }), ok, denied);
    expect(done).not.toBe('in-flight');
    if (typeof done === 'string') return;
    expect(done.record).toMatchObject({ reached: true, blind: true });
    expect(done.entries[0]!.result).toMatchObject({ ok: true, verified: false, observed: null });
    // Later minutes: nothing to look at, in either mode.
    expect(
      plan(done.record, ctx({ config: cpts, desired: running, now: NOW + 30 * MIN }), PROJECT).step,
    ).toBe('idle');
    expect(
      plan(
        done.record,
        ctx({
          config: cpts,
          desired: running,
          now: NOW + 30 * MIN,
          policy: { mode: 'enforce', enforceEveryMinutes: 15 },
        }),
        PROJECT,
      ).step,
    ).toBe('idle');
  });

  it('a blind call with no answer is never repeated for its desired state', () => {
    const decided = observed(undefined, ctx({ config: vias, desired: running }), denied, PROJECT);
    if (decided.kind !== 'act') throw new Error('expected a call');
    const inflight = inFlightRecord(
      decided.act.record,
      decided.act.call,
      ctx({ config: vias, desired: running }),
      { owner: 'me', until: NOW + 5 * MIN },
    );
    const timeout: ActionResult = {
      target: 'face-search',
      kind: 'vias-task',
      action: 'start',
      ok: false,
      status: 'failed',
      errorCode: ErrorCode.timeout,
      attempts: 1,
      durationMs: 10_000,
    };
    const done = concluded(inflight, ctx({ config: vias, desired: running }), timeout, denied);
    if (typeof done === 'string') throw new Error('expected an outcome');
    expect(done.record).toMatchObject({ final: true });
  });

  it('the deadline: a call cut off after sending stays in flight; one never sent leaves nothing', () => {
    const decided = observed(undefined, ctx(), seen('running', 'INCRE_TRANSFER_STARTED'), PROJECT);
    if (decided.kind !== 'act') throw new Error('expected a call');
    const inflight = inFlightRecord(decided.act.record, decided.act.call, ctx(), {
      owner: 'me',
      until: NOW + 5 * MIN,
    });
    const cut = (attempts: number): ActionResult => ({
      target: 'orders-sync',
      kind: 'drs-job',
      action: 'pause',
      ok: false,
      status: 'failed',
      errorCode: ErrorCode.deadline,
      attempts,
      durationMs: 1,
    });
    expect(concluded(inflight, ctx(), cut(1), undefined)).toBe('in-flight');
    expect(concluded(inflight, ctx(), cut(0), undefined)).toBe('not-sent');
  });
});

describe('found by the simulation', () => {
  const entriesOf = (next: Observed) => (next.kind === 'settle' ? next.settle.entries : next.act.entries);

  it('a call whose outcome the history already holds is settled from that entry: no second entry, no call', () => {
    // A batch task (no status query): the stop was answered ok and recorded, the record write failed.
    const stop = flight({ action: 'stop', want: 'stopped', ref: batch });
    const stored = record({ desired: 'stopped', reached: false, inFlight: stop }, batch);
    const stopped: Desired = {
      state: 'stopped',
      since: paused.since,
      because: 'office-hours',
      action: 'stop',
    };
    const recordedEntry = {
      id: 'call-1',
      recordedAt: iso(NOW - MIN),
      trigger: 'tick' as const,
      result: {
        target: 'orders-sync',
        kind: 'vias-batch-task' as const,
        action: 'stop' as const,
        ok: true,
        status: 'succeeded' as const,
        attempts: 1,
        durationMs: 90,
      },
    };
    const base = ctx({ config: batch, desired: { ...stopped, since: stop.since! } });
    // Without the entry the outcome is unknown and the stop is tried again later.
    const guessed = observed(stored, base, null, PROJECT);
    expect(entriesOf(guessed).map((e) => e.result.errorCode)).toContain(ErrorCode.outcomeUnknown);
    const known = observed(stored, { ...base, recorded: recordedEntry }, null, PROJECT);
    expect(known.kind).toBe('settle');
    expect(entriesOf(known)).toEqual([]);
    expect(known.kind === 'settle' && known.settle.record).toMatchObject({ reached: true, tries: 0 });
  });

  it('enforce on a kind without a status query: no look each minute (a record was rewritten every tick)', () => {
    const stored = record({ desired: 'stopped', reached: true, lastCheckAt: undefined }, batch);
    const stopped: Desired = {
      state: 'stopped',
      since: paused.since,
      because: 'office-hours',
      action: 'stop',
    };
    const decided = plan(
      stored,
      ctx({ config: batch, desired: stopped, policy: { mode: 'enforce', enforceEveryMinutes: 4 } }),
      PROJECT,
    );
    expect(decided.step).toBe('idle');
  });

  it('a reached target whose drift-check read fails gets no blind call', () => {
    const stored = record({ reached: true, desired: 'running', since: running.since });
    const failed: StatusRead = { observation: null, error: { code: ErrorCode.httpStatus, message: '503' } };
    const next = observed(
      stored,
      ctx({ config: drs, desired: running, policy: { mode: 'enforce', enforceEveryMinutes: 5 } }),
      failed,
      PROJECT,
    );
    expect(next.kind).toBe('settle');
    // A new desired state with an unreadable status still gets its one call.
    const fresh = observed(record({ reached: true }), ctx({ desired: running }), failed, PROJECT);
    expect(fresh.kind).toBe('act');
  });

  it('a call left in flight whose read ran out of time is resolved as unknown and retried after backoff, not blind', () => {
    const stored = record({ reached: false, inFlight: flight() });
    const cut: StatusRead = { observation: null, error: { code: ErrorCode.deadline, message: 'cut' } };
    const settle = resolvedUnread(stored, ctx(), cut, PROJECT);
    expect(settle.entries.map((e) => [e.id, e.result.errorCode])).toEqual([
      ['call-1', ErrorCode.outcomeUnknown],
    ]);
    expect(settle.record).toMatchObject({ reached: false, tries: 1, nextCheckAt: iso(NOW + MIN) });
    expect(settle.record.final).toBeFalsy();
    expect(settle.record.inFlight).toBeUndefined();
    // A refused read (403) is final for the desired state: never repeated blind.
    const refused = resolvedUnread(stored, ctx(), denied, PROJECT);
    expect(refused.record.final).toBe(true);
  });

  it('a hands-off beginning resolves a call left in flight as unknown: no record stays in flight through it', () => {
    const handsOff: Desired = { state: 'hands-off', since: iso(NOW), because: 'ovr-9', override: 'ovr-9' };
    const decided = plan(record({ reached: false, inFlight: flight() }), ctx({ desired: handsOff }), PROJECT);
    expect(decided.step).toBe('idle');
    const write = decided.step === 'idle' ? decided.write! : undefined;
    expect(write?.record.inFlight).toBeUndefined();
    expect(write?.entries.map((e) => [e.id, e.result.errorCode])).toEqual([
      ['call-1', ErrorCode.outcomeUnknown],
    ]);
    // Still leased by a live process: left alone.
    const leased = plan(
      record({ inFlight: flight(), lease: { owner: 'other', until: iso(NOW + MIN) } }),
      ctx({ desired: handsOff }),
      PROJECT,
    );
    expect(leased.step === 'idle' && leased.write).toBeFalsy();
  });

  it('a verify cut by the deadline or called off (hands-off) says nothing', () => {
    expect(
      usableVerify({ observation: null, error: { code: ErrorCode.notSent, message: '' } }),
    ).toBeUndefined();
    expect(
      usableVerify({ observation: null, error: { code: ErrorCode.deadline, message: '' } }),
    ).toBeUndefined();
    expect(usableVerify(denied)).toBe(denied);
  });
});

describe('on demand', () => {
  it('already in the requested state: unchanged, no call; forced: a call', () => {
    const want = { action: 'pause' as const, want: 'paused' as const };
    const request = { id: 'req-1' };
    expect(
      onDemand(
        record(),
        { ...ctx({ trigger: 'http', request }), ...want },
        seen('paused', 'PAUSING'),
        PROJECT,
      ).unchanged,
    ).toBeDefined();
    const forced = onDemand(
      record(),
      { ...ctx({ trigger: 'http', request: { ...request, force: true } }), ...want },
      seen('paused', 'PAUSING'),
      PROJECT,
    );
    expect(forced.call).toMatchObject({ action: 'pause', want: 'paused' });
  });

  it('leaves the held state alone: an on-demand outcome is a manual change', () => {
    const want = { action: 'resume' as const, want: 'running' as const };
    const c = { ...ctx({ trigger: 'http', request: { id: 'req-2' } }), ...want };
    const decided = onDemand(record(), c, seen('paused', 'PAUSING'), PROJECT);
    const inflight = inFlightRecord(decided.record, decided.call!, c, { owner: 'me', until: NOW + MIN });
    const ok: ActionResult = {
      target: 'orders-sync',
      kind: 'drs-job',
      action: 'resume',
      ok: true,
      status: 'succeeded',
      attempts: 1,
      durationMs: 5,
    };
    const done = concluded(inflight, c, ok, seen('running', 'INCRE_TRANSFER_STARTED'));
    if (typeof done === 'string') throw new Error('expected an outcome');
    expect(done.record).toMatchObject({
      desired: 'paused',
      reached: true,
      calls: 0,
      observed: 'INCRE_TRANSFER_STARTED',
    });
    expect(done.entries[0]).toMatchObject({ id: decided.call!.id, trigger: 'http', requestId: 'req-2' });
  });
});

describe('properties of the transition function', () => {
  const states = ['running', 'paused'] as const;
  const observations = fc.constantFrom<StatusRead | null>(
    seen('running', 'INCRE_TRANSFER_STARTED'),
    seen('paused', 'PAUSING'),
    seen('pending', 'STARTJOBING'),
    seen('ended', 'RELEASE_RESOURCE_COMPLETE'),
    seen('failed', 'INCRE_TRANSFER_FAILED'),
    denied,
  );
  const records = fc.option(
    fc.record({
      desired: fc.constantFrom(...states),
      since: fc.constantFrom(paused.since, running.since),
      reached: fc.boolean(),
      final: fc.boolean(),
      tries: fc.integer({ min: 0, max: 12 }),
      calls: fc.integer({ min: 0, max: 3 }),
      blind: fc.boolean(),
      withFlight: fc.boolean(),
    }),
    { nil: undefined },
  );
  const toRecord = (r: NonNullable<typeof records extends fc.Arbitrary<infer T> ? T : never>): TargetRecord =>
    record({
      desired: r.desired,
      since: r.since,
      reached: r.reached,
      final: r.final,
      tries: r.tries,
      calls: r.calls,
      blind: r.blind,
      ...(r.withFlight ? { inFlight: flight({ want: r.desired, since: r.since }) } : {}),
    });

  it('a new desired state always starts with no tries, no calls and no backoff', () => {
    fc.assert(
      fc.property(records, observations, fc.constantFrom(paused, running), (r, read, desired) => {
        const stored = r ? toRecord(r) : undefined;
        if (stored && stored.desired === desired.state && stored.since === desired.since) return;
        const next = observed(stored, ctx({ desired }), read, PROJECT);
        const rec = next.kind === 'settle' ? next.settle.record : next.act.record;
        expect(rec.since).toBe(desired.since);
        expect(rec.calls).toBe(0);
        expect(rec.tries).toBeLessThanOrEqual(1);
      }),
    );
  });

  it('never calls on a resolved-but-unreached call of the same desired state, and every entry id is unique', () => {
    fc.assert(
      fc.property(records, observations, (r, read) => {
        const stored = r ? toRecord(r) : undefined;
        const next = observed(
          stored,
          ctx({ desired: r ? { ...paused, state: r.desired, since: r.since } : paused }),
          read,
          PROJECT,
        );
        const entries = next.kind === 'settle' ? next.settle.entries : next.act.entries;
        expect(new Set(entries.map((e) => e.id)).size).toBe(entries.length);
        if (stored?.inFlight && read?.observation?.state !== stored.desired) expect(next.kind).toBe('settle');
      }),
    );
  });

  it('is pure: the same inputs give the same outputs, ids included', () => {
    fc.assert(
      fc.property(records, observations, (r, read) => {
        const stored = r ? toRecord(r) : undefined;
        expect(observed(stored, ctx(), read, PROJECT)).toEqual(observed(stored, ctx(), read, PROJECT));
      }),
    );
  });
});
