import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { validateConfig } from '../../functions/engine/config/validate.ts';
import { desiredSpans } from '../../functions/engine/desired.ts';
import type { ActionResult } from '../../functions/engine/executor.ts';
import type { HistoryEntry } from '../../functions/engine/ledger.ts';
import {
  heldOffMs,
  isoMsAt,
  markOf,
  monthsBetween,
  type ObservedMark,
  type OverrideSpan,
  plannedOffMs,
} from '../../functions/engine/savings.ts';
import { monthStart } from '../../functions/engine/savings-report.ts';
import { stateOfStatusText } from '../../functions/huawei/status-map.ts';
import { configWith, rawConfig } from '../helpers/config.ts';

const at = (iso: string) => Date.parse(iso);
const HOUR = 3_600_000;

function entry(result: Partial<ActionResult>): HistoryEntry {
  return {
    id: 'e',
    recordedAt: '2027-03-01T12:00:00Z',
    trigger: 'tick',
    result: {
      target: 'face-search',
      kind: 'vias-task',
      action: 'stop',
      ok: true,
      status: 'succeeded',
      attempts: 1,
      durationMs: 5,
      ...result,
    },
  };
}

describe('the state a history entry observed', () => {
  it.each([
    ['a look that found the state', { status: 'unchanged', observed: 'STOPPED' }, 'stopped'],
    ['a verified call', { verified: true, desired: 'stopped', observed: 'STOPPED' }, 'stopped'],
    ['a call not yet verified', { verified: false, desired: 'stopped', observed: 'STOPPING' }, 'pending'],
    ['a failed call, status read after it', { ok: false, status: 'failed', observed: 'RUNNING' }, 'running'],
    ['a DRS job found paused', { kind: 'drs-job', action: 'pause', observed: 'PAUSING' }, 'paused'],
    ['a CPTS run that ended', { kind: 'cpts-task', observed: 'run_status 2 (ended)' }, 'stopped'],
    [
      'a CPTS run going',
      { kind: 'cpts-task', action: 'start', observed: 'run_status 0 (running)' },
      'running',
    ],
    ['a task in a state nobody mapped', { observed: 'MIGRATING' }, 'unknown'],
    ['a batch task (no status query) stopped', { kind: 'vias-batch-task', desired: 'stopped' }, 'stopped'],
    ['a call answered while the status was unreadable', { desired: 'stopped', observed: null }, 'stopped'],
    ['a DRS job ended at its edge', { kind: 'drs-job', action: 'stop' }, 'ended'],
  ] as const)('%s', (_, result, state) => {
    expect(markOf(entry(result as Partial<ActionResult>), stateOfStatusText)).toEqual({
      target: 'face-search',
      at: at('2027-03-01T12:00:00Z'),
      state,
    });
  });

  it.each([
    ['a failed call without a status', { ok: false, status: 'failed', observed: null }],
    ['a missed state (its observation is older)', { ok: false, status: 'skipped', observed: 'RUNNING' }],
    ['a dry run', { status: 'dry-run' }],
    ['a target the config does not know', { kind: undefined }],
  ] as const)('none for %s', (_, result) => {
    expect(markOf(entry(result as Partial<ActionResult>), stateOfStatusText)).toBeUndefined();
  });
});

describe('hours held off', () => {
  const mark = (time: string, state: ObservedMark['state']): ObservedMark => ({
    target: 't',
    at: at(`2027-03-01T${time}:00Z`),
    state,
  });
  const from = at('2027-03-01T00:00:00Z');
  const to = at('2027-03-02T00:00:00Z');

  it('counts from an observation of off until the next observation of anything else', () => {
    const marks = [
      mark('08:00', 'running'),
      mark('20:00', 'pending'), // STOPPING: not off yet
      mark('20:01', 'stopped'),
      mark('22:00', 'failed'), // not counted as held off
      mark('22:30', 'stopped'),
    ];
    // Nothing seen before 08:00: not counted. Then 20:01-22:00 and 22:30-24:00.
    expect(heldOffMs(marks, from, to) / HOUR).toBeCloseTo(1 + 59 / 60 + 1.5, 6);
  });

  it('starts from the state seen before the range, in any order, the last of one instant deciding', () => {
    const marks = [mark('12:00', 'running'), mark('06:00', 'running'), mark('06:00', 'paused')];
    // Paused at 06:00 (written after a running of the same instant), so off from 10:00 to 12:00.
    expect(heldOffMs(marks, at('2027-03-01T10:00:00Z'), to) / HOUR).toBe(2);
    expect(heldOffMs([], from, to)).toBe(0);
  });

  it('stops at the end of the range, and counts nothing for an empty one', () => {
    expect(heldOffMs([mark('23:00', 'stopped')], from, at('2027-03-01T23:30:00Z')) / HOUR).toBe(0.5);
    expect(heldOffMs([mark('01:00', 'stopped')], to, to)).toBe(0);
  });
});

describe('hours planned off', () => {
  const config = configWith(
    [
      {
        id: 'office',
        targets: ['replication', 'face-search'],
        timezone: 'UTC',
        window: 'Mon-Fri 08:00-20:00',
      },
      {
        id: 'nightly',
        targets: ['load-test'],
        timezone: 'UTC',
        actions: [
          { do: 'start', cron: '0 1 * * *' },
          { do: 'stop', cron: '0 5 * * *' },
        ],
      },
    ],
    { timezone: 'UTC' },
  );
  // Monday 2027-03-29, a whole day: off 00-08 and 20-24 by the window.
  const from = at('2027-03-29T00:00:00Z');
  const to = at('2027-03-30T00:00:00Z');
  const override = (o: Partial<OverrideSpan>): OverrideSpan => ({
    id: 'ovr-1',
    targets: ['face-search'],
    state: 'running',
    from: '2027-03-29T19:00:00Z',
    until: '2027-03-29T23:00:00Z',
    ...o,
  });
  const plan = (overrides: OverrideSpan[], target = 'face-search') =>
    plannedOffMs(config, overrides, from, to, [target]).get(target)! / HOUR;

  it('is the stopped and paused spans of the schedules', () => {
    expect(plan([])).toBe(12);
    expect(plan([], 'orders-sync')).toBe(12);
    expect(plan([], 'load-test')).toBe(20);
    // No schedule names it: nothing is planned.
    expect(plan([], 'night-batch')).toBe(0);
  });

  it('puts overrides on top: running 19-23 costs three hours off; the later of two wins', () => {
    expect(plan([override({})])).toBe(9);
    expect(
      plan([override({}), override({ id: 'ovr-2', state: 'stopped', from: '2027-03-29T21:00:00Z' })]),
    ).toBe(11);
    expect(
      plan([override({ state: 'stopped', from: '2027-03-29T10:00:00Z', until: '2027-03-29T12:00:00Z' })]),
    ).toBe(14);
  });

  it('plans nothing while hands-off, and an override only from its creation until its removal', () => {
    expect(plan([override({ state: 'hands-off', from: '2027-03-29T06:00:00Z' })])).toBe(12 - 2 - 3);
    expect(
      plan([
        override({
          createdAt: '2027-03-29T20:00:00Z',
          removedAt: '2027-03-29T21:00:00Z',
          from: '2027-03-29T19:00:00Z',
        }),
      ]),
    ).toBe(11);
    // Another target's override changes nothing here.
    expect(plan([override({ targets: ['orders-sync'] })])).toBe(12);
  });

  it('gives each target exactly what desiredSpans gives it, though it replays one target per class', () => {
    const spans = desiredSpans(config, from, at('2027-04-12T00:00:00Z'));
    const planned = plannedOffMs(config, [], from, at('2027-04-12T00:00:00Z'), Object.keys(config.targets));
    for (const [target, list] of spans) {
      const off = list
        .filter((s) => s.edge && (s.edge.state === 'stopped' || s.edge.state === 'paused'))
        .reduce((sum, s) => sum + at(s.to) - at(s.from), 0);
      expect(planned.get(target), target).toBe(off);
    }
  });
});

describe('ranges', () => {
  it('starts the month at local midnight of the 1st in the config zone', () => {
    expect(new Date(monthStart('Asia/Shanghai', at('2027-03-01T15:00:00Z'))).toISOString()).toBe(
      '2027-02-28T16:00:00.000Z',
    );
    expect(new Date(monthStart('Asia/Shanghai', at('2027-02-28T17:00:00Z'))).toISOString()).toBe(
      '2027-02-28T16:00:00.000Z',
    );
    expect(new Date(monthStart('UTC', at('2027-03-31T23:59:00Z'))).toISOString()).toBe(
      '2027-03-01T00:00:00.000Z',
    );
  });

  it('lists the UTC months a range touches', () => {
    expect(monthsBetween(at('2026-11-30T16:00:00Z'), at('2027-02-01T00:00:00Z'))).toEqual([
      '2026-11',
      '2026-12',
      '2027-01',
    ]);
  });
});

describe('config: cost', () => {
  it('takes a cost per hour and an ISO 4217 currency, and names the path of a bad one', () => {
    const targets = (cost: unknown) => ({
      targets: { 'face-search': { account: 'prod', kind: 'vias-task', taskId: 't', cost } },
    });
    expect(
      validateConfig(rawConfig([], { ...targets({ perHour: 1.5, currency: 'CNY' }), groups: {} })).ok,
    ).toBe(true);
    const result = validateConfig(
      rawConfig([], { ...targets({ perHour: -1, currency: 'cny' }), groups: {} }),
    );
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.issues.map((i) => i.path)).toEqual([
      'targets.face-search.cost.perHour',
      'targets.face-search.cost.currency',
    ]);
    expect(result.issues[1]!.message).toContain('ISO 4217');
  });
});

describe('config: cost currency', () => {
  const config = (currency: string) =>
    validateConfig(
      rawConfig([], {
        targets: {
          'face-search': { account: 'prod', kind: 'vias-task', taskId: 't', cost: { perHour: 1, currency } },
        },
        groups: {},
      }),
    );

  it.each(['CNY', 'EUR', 'USD', 'JPY', 'CHF', 'ZWG'])('takes %s, a code of ISO 4217', (currency) => {
    expect(config(currency).ok).toBe(true);
  });

  // Three capitals are not a currency: RMB (meant CNY) would be totalled apart from CNY.
  it.each(['RMB', 'XYZ', 'EUO', 'ABC'])('refuses %s, three capitals but no ISO 4217 code', (currency) => {
    const result = config(currency);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.issues.map((i) => [i.path, i.message])).toEqual([
      [
        'targets.face-search.cost.currency',
        expect.stringContaining(`"${currency}" is not an ISO 4217 currency code`),
      ],
    ]);
  });
});

describe('reading an instant as toISOString writes it', () => {
  it('agrees with Date.parse on any instant, and refuses anything else', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: Date.parse('1970-01-01T00:00:00Z'), max: Date.parse('2199-12-31T23:59:59Z') }),
        (ms) => {
          const text = `x ${new Date(ms).toISOString()} stopped`;
          expect(isoMsAt(text, 2)).toBe(ms);
        },
      ),
    );
    for (const bad of [
      '2027-03-01T08:00:00Z',
      '2027-13-01T08:00:00.000Z',
      '2027-03-01 08:00:00.000Z',
      '2027-03-0xT08:00:00.000Z',
    ])
      expect(isoMsAt(bad, 0)).toBeNaN();
  });
});
