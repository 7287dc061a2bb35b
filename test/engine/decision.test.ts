import { describe, expect, it } from 'vitest';
import {
  type Decision,
  type DecisionInput,
  type Desired,
  decide,
  desiredOf,
  retryDelayMs,
} from '../../functions/engine/decision.ts';
import type { TargetRecord } from '../../functions/engine/ledger.ts';
import type { StatusRead } from '../../functions/engine/states.ts';

const NOW = Date.parse('2027-03-29T20:05:00Z');
const MIN = 60_000;
const iso = (ms: number) => new Date(ms).toISOString();

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
const record = (more: Partial<TargetRecord> = {}): TargetRecord => ({
  target: 'orders-sync',
  version: 3,
  desired: 'paused',
  since: '2027-03-29T20:00:00Z',
  because: 'office-hours',
  reached: true,
  tries: 0,
  lastCheckAt: iso(NOW - 2 * MIN),
  ...more,
});
const seen = (state: string, text = state.toUpperCase()): StatusRead =>
  ({ observation: { state, text } }) as StatusRead;
const unreadable: StatusRead = { observation: null, error: { code: 'APIGW.0302', message: 'denied' } };

const input = (more: Partial<DecisionInput>): DecisionInput => ({
  target: 'orders-sync',
  kind: 'drs-job',
  desired: paused,
  policy: { mode: 'transitions', enforceEveryMinutes: 15 },
  record: undefined,
  now: NOW,
  owner: 'me',
  ...more,
});

type Row = [string, Partial<DecisionInput>, Partial<Decision>];

describe('decide: the scheduling decision as a table', () => {
  it.each<Row>([
    // Before the status read: look or not
    ['no edge in the look-back', { desired: undefined }, { outcome: 'idle', fresh: false }],
    ['a new edge, never seen', {}, { outcome: 'look', fresh: true }],
    [
      'a new edge replaces a reached state',
      { record: record({ desired: 'running', since: running.since }) },
      { outcome: 'look', fresh: true },
    ],
    ['reached, transitions mode', { record: record() }, { outcome: 'idle', fresh: false }],
    [
      'reached, enforce, checked 2 min ago',
      { record: record(), policy: { mode: 'enforce', enforceEveryMinutes: 15 } },
      { outcome: 'idle' },
    ],
    [
      'reached, enforce, checked 15 min ago',
      {
        record: record({ lastCheckAt: iso(NOW - 15 * MIN) }),
        policy: { mode: 'enforce', enforceEveryMinutes: 15 },
      },
      { outcome: 'look', drift: true },
    ],
    [
      'not reached, retry due',
      { record: record({ reached: false, tries: 2, nextCheckAt: iso(NOW) }) },
      { outcome: 'look' },
    ],
    [
      'not reached, backing off',
      { record: record({ reached: false, tries: 2, nextCheckAt: iso(NOW + MIN) }) },
      { outcome: 'idle' },
    ],
    [
      'cannot be reached, same edge',
      { record: record({ reached: false, final: true }) },
      { outcome: 'idle' },
    ],
    [
      'leased by another live owner',
      { record: record({ reached: false, lease: { owner: 'other', until: iso(NOW + MIN) } }) },
      { outcome: 'idle' },
    ],
    [
      'a lease that ran out',
      { record: record({ reached: false, lease: { owner: 'other', until: iso(NOW - 1) } }) },
      { outcome: 'look' },
    ],
    [
      'a call in flight whose owner is gone',
      {
        record: record({
          reached: false,
          inFlight: { action: 'pause', attempt: 1, startedAt: iso(NOW - MIN), owner: 'other' },
        }),
      },
      { outcome: 'look', resolve: true },
    ],
    [
      'hands-off override',
      { desired: { state: 'hands-off', since: iso(NOW), because: 'o1', override: 'o1' } },
      { outcome: 'idle' },
    ],
    [
      'a DRS end is never held',
      { desired: { state: 'ended', since: iso(NOW), because: 'retire', action: 'stop' } },
      { outcome: 'idle' },
    ],
    // After the status read: one action or none
    ['already paused', { read: seen('paused', 'PAUSING') }, { outcome: 'unchanged' }],
    [
      'running, should be paused',
      { read: seen('running', 'INCRE_TRANSFER_STARTED') },
      { outcome: 'act', action: 'pause' },
    ],
    ['transition under way', { read: seen('pending', 'STARTJOBING') }, { outcome: 'pending' }],
    ['the job has ended', { read: seen('ended', 'RELEASE_RESOURCE_COMPLETE') }, { outcome: 'impossible' }],
    [
      'failed job counts as paused',
      { read: seen('failed', 'INCRE_TRANSFER_FAILED') },
      { outcome: 'unchanged' },
    ],
    [
      'failed task, should run',
      { kind: 'vias-task', desired: { ...running, action: 'start' }, read: seen('failed', 'START_FAILED') },
      { outcome: 'act', action: 'start' },
    ],
    ['status read failed: act anyway', { read: unreadable }, { outcome: 'act', action: 'pause' }],
    [
      'no status query: act on the edge',
      { kind: 'vias-batch-task', desired: { state: 'stopped', since: iso(NOW), because: 's' }, read: null },
      { outcome: 'act', action: 'stop' },
    ],
    [
      'VIAS task to be stopped',
      {
        kind: 'vias-task',
        desired: { state: 'stopped', since: iso(NOW), because: 's' },
        read: seen('running', 'RUNNING'),
      },
      { outcome: 'act', action: 'stop' },
    ],
    [
      'CPTS task to be started',
      {
        kind: 'cpts-task',
        desired: { state: 'running', since: iso(NOW), because: 's' },
        read: seen('stopped', 'run_status 2 (ended)'),
      },
      { outcome: 'act', action: 'start' },
    ],
    [
      'drift found by enforce',
      {
        record: record(),
        policy: { mode: 'enforce', enforceEveryMinutes: 15 },
        read: seen('running', 'INCRE_TRANSFER_STARTED'),
      },
      { outcome: 'act', action: 'pause', drift: true },
    ],
  ])('%s', (_name, given, expected) => {
    const decision = decide(input(given));
    expect(decision).toMatchObject(expected);
    expect(decision.reason).toMatch(/\S/);
  });

  it('names the schedule or override in its reason', () => {
    expect(decide(input({})).reason).toContain('schedule office-hours');
    expect(
      decide(
        input({ desired: { state: 'running', since: iso(NOW), because: 'keep-up', override: 'keep-up' } }),
      ).reason,
    ).toContain('override keep-up');
  });
});

describe('desired state from edges and overrides', () => {
  const edge = {
    at: '2027-03-29T20:00:00Z',
    schedule: 'office-hours',
    action: 'pause' as const,
    state: 'paused' as const,
  };
  const override = {
    id: 'keep-up',
    targets: ['orders-sync'],
    state: 'running' as const,
    from: '2027-03-29T19:00:00Z',
    until: '2027-03-29T23:00:00Z',
  };

  it('an active override beats the schedule, and the schedule applies again at until', () => {
    expect(desiredOf('orders-sync', edge, [override], NOW)).toMatchObject({
      state: 'running',
      override: 'keep-up',
    });
    expect(desiredOf('orders-sync', edge, [override], Date.parse('2027-03-29T23:00:00Z'))).toMatchObject({
      state: 'paused',
      because: 'office-hours',
    });
    expect(desiredOf('billing-sync', edge, [override], NOW)).toMatchObject({ state: 'paused' });
  });

  it('backs off 1, 2, 4 ... up to 30 minutes', () => {
    expect([1, 2, 3, 4, 5, 6, 7, 20].map((n) => retryDelayMs(n) / MIN)).toEqual([1, 2, 4, 8, 16, 30, 30, 30]);
  });
});
