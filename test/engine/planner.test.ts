import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Config } from '../../functions/engine/config/schema.ts';
import { due, Planner, PlanRangeError } from '../../functions/engine/planner.ts';
import { configWith } from '../helpers/config.ts';

describe('planner', () => {
  it('evaluates (from, to]: an action exactly at from is excluded, one exactly at to included', () => {
    // Prepare
    const config = configWith([
      { id: 's', targets: ['face-search'], actions: [{ do: 'start', cron: '0 * * * *' }] },
    ]);
    // Act
    const rows = due(config, new Date('2027-01-01T01:00:00Z'), new Date('2027-01-01T02:00:00Z'));
    // Assess
    expect(rows.map((r) => r.at)).toEqual(['2027-01-01T02:00:00Z']);
  });

  it('sorts by time, then schedule id, and expands groups in listed order, each target once', () => {
    // Prepare
    const config = configWith(
      [
        { id: 'zeta', targets: ['face-search'], actions: [{ do: 'start', cron: '0 8 * * *' }] },
        {
          id: 'alpha',
          targets: ['billing-sync', 'everything', 'orders-sync'],
          actions: [{ do: 'pause', cron: '0 8 * * *' }],
        },
        {
          id: 'early',
          targets: ['load-test'],
          timezone: 'Asia/Shanghai',
          actions: [{ do: 'stop', cron: '0 8 * * *' }],
        },
      ],
      {
        groups: { replication: ['orders-sync', 'billing-sync'], everything: ['replication', 'orders-sync'] },
      },
    );
    // Act
    const rows = due(config, new Date('2027-01-01T00:00:00Z'), new Date('2027-01-01T12:00:00Z'));
    // Assess
    expect(rows).toEqual(
      [
        { at: '2027-01-01T00:00:00Z', schedule: 'early', action: 'stop', targets: ['load-test'] },
        {
          at: '2027-01-01T08:00:00Z',
          schedule: 'alpha',
          action: 'pause',
          targets: ['billing-sync', 'orders-sync'],
        },
        { at: '2027-01-01T08:00:00Z', schedule: 'zeta', action: 'start', targets: ['face-search'] },
      ].slice(1),
    );
  });

  it('uses the schedule zone, else the top-level zone, else UTC', () => {
    const config = configWith(
      [
        {
          id: 'a',
          targets: ['face-search'],
          timezone: 'Europe/Berlin',
          actions: [{ do: 'start', cron: '0 8 * * *' }],
        },
        { id: 'b', targets: ['face-search'], actions: [{ do: 'start', cron: '0 8 * * *' }] },
      ],
      { timezone: 'Asia/Shanghai' },
    );
    const utc = configWith([
      { id: 'c', targets: ['face-search'], actions: [{ do: 'start', cron: '0 8 * * *' }] },
    ]);
    const span = [new Date('2027-01-01T00:00:00Z'), new Date('2027-01-02T00:00:00Z')] as const;
    expect(due(config, ...span).map((r) => [r.schedule, r.at])).toEqual([
      ['a', '2027-01-01T07:00:00Z'],
      ['b', '2027-01-02T00:00:00Z'],
    ]);
    expect(due(utc, ...span).map((r) => r.at)).toEqual(['2027-01-01T08:00:00Z']);
  });

  it('merges two rules of one schedule with the same action and instant into one row', () => {
    const config = configWith([
      {
        id: 's',
        targets: ['face-search'],
        actions: [
          { do: 'start', cron: '0 8 * * *' },
          { do: 'start', cron: '0 8 1 * *' },
        ],
      },
    ]);
    expect(due(config, new Date('2027-01-01T00:00:00Z'), new Date('2027-01-02T00:00:00Z'))).toHaveLength(1);
  });

  it('skips disabled schedules', () => {
    const config = configWith([
      { id: 's', targets: ['face-search'], enabled: false, actions: [{ do: 'start', cron: '* * * * *' }] },
    ]);
    expect(due(config, new Date('2027-01-01T00:00:00Z'), new Date('2027-01-02T00:00:00Z'))).toEqual([]);
  });

  it('returns nothing for an empty or reversed window and refuses absurd spans', () => {
    const config = configWith([
      { id: 's', targets: ['face-search'], actions: [{ do: 'start', cron: '* * * * *' }] },
    ]);
    const t = Date.parse('2027-01-01T00:00:00Z');
    expect(due(config, t, t)).toEqual([]);
    expect(due(config, t + 60_000, t)).toEqual([]);
    expect(due(config, t, t + 30_000)).toEqual([]);
    expect(() => due(config, t, t + 500 * 86_400_000)).toThrow(PlanRangeError);
  });
});

const ZONES = [
  'UTC',
  'Europe/Berlin',
  'America/New_York',
  'America/Los_Angeles',
  'Australia/Lord_Howe',
  'Asia/Shanghai',
  'Europe/London',
  'Asia/Kolkata',
];

const cronArb = fc
  .tuple(
    fc.oneof(fc.constant('*/7'), fc.integer({ min: 0, max: 59 }).map(String), fc.constant('0,30')),
    fc.oneof(fc.constant('*'), fc.integer({ min: 0, max: 23 }).map(String), fc.constant('1-3')),
    fc.constantFrom('*', 'L', '1-15', '13'),
    fc.constantFrom('*', '3,10,11', '4'),
    fc.constantFrom('*', 'SUN', 'MON-FRI', 'SUN#1', '5'),
  )
  .map((f) => f.join(' '));

const windowArb = fc
  .tuple(
    fc.constantFrom('Mon-Fri', 'Sat-Mon', 'Sun', '*'),
    fc.integer({ min: 0, max: 23 }),
    fc.integer({ min: 0, max: 3 }),
    fc.integer({ min: 0, max: 24 }),
  )
  .filter(([, sh, sq, eh]) => sh * 60 + sq * 15 !== (eh % 24) * 60 && !(eh === 24 && sh === 0 && sq === 0))
  .map(
    ([days, sh, sq, eh]) =>
      `${days} ${String(sh).padStart(2, '0')}:${String(sq * 15).padStart(2, '0')}-${String(eh).padStart(2, '0')}:00`,
  );

const scheduleArb = fc.record({
  zone: fc.constantFrom(...ZONES),
  rule: fc.oneof(
    fc.record({ crons: fc.array(cronArb, { minLength: 1, maxLength: 3 }) }),
    fc.record({ window: windowArb }),
  ),
});

type ScheduleSpec = { zone: string; rule: { crons: string[] } | { window: string } };

function buildConfig(schedules: ScheduleSpec[]): Config {
  return configWith(
    schedules.map((s, i) => ({
      id: `s${String(i).padStart(2, '0')}`,
      targets: 'window' in s.rule ? ['replication', 'face-search'] : ['face-search', 'load-test'],
      timezone: s.zone,
      ...('window' in s.rule
        ? { window: s.rule.window }
        : { actions: s.rule.crons.map((cron, j) => ({ do: j % 2 ? 'stop' : 'start', cron })) }),
    })),
  );
}

describe('planner properties', () => {
  // Spans around 2027's DST transitions in the zones above, where mistakes would show.
  const anchors = [
    '2027-03-14T00:00:00Z',
    '2027-03-28T00:00:00Z',
    '2027-04-04T00:00:00Z',
    '2027-10-03T00:00:00Z',
    '2027-10-31T00:00:00Z',
    '2027-11-07T00:00:00Z',
  ].map(Date.parse);
  const offset = fc
    .tuple(fc.integer({ min: -36 * 60, max: 36 * 60 }), fc.integer({ min: 0, max: 59 }))
    .map(([minutes, seconds]) => minutes * 60_000 + seconds * 1000);
  const instant = fc.tuple(fc.constantFrom(...anchors), offset).map(([anchor, o]) => anchor + o);
  const threeInstants = fc
    .tuple(fc.constantFrom(...anchors), offset, offset, offset)
    .map(([anchor, ...o]) => o.map((x) => anchor + x).sort((p, q) => p - q) as [number, number, number]);

  it('plan(a, c) equals plan(a, b) followed by plan(b, c), and no occurrence appears twice', () => {
    fc.assert(
      fc.property(
        fc.array(scheduleArb, { minLength: 1, maxLength: 6 }),
        threeInstants,
        (schedules, [a, b, c]) => {
          // Prepare
          fc.pre(a < b && b < c);
          const planner = new Planner(buildConfig(schedules));
          // Act
          const whole = planner.due(a, c);
          const split = [...planner.due(a, b), ...planner.due(b, c)];
          // Assess
          expect(split).toEqual(whole);
          const keys = whole.map((r) => `${r.at}|${r.schedule}|${r.action}`);
          expect(new Set(keys).size).toBe(keys.length);
          for (const row of whole) expect(new Set(row.targets).size).toBe(row.targets.length);
          for (let i = 1; i < whole.length; i++) {
            const [p, q] = [whole[i - 1]!, whole[i]!];
            expect(p.at < q.at || (p.at === q.at && p.schedule <= q.schedule)).toBe(true);
          }
        },
      ),
      { numRuns: 200 },
    );
  });

  it('minute-by-minute evaluation equals one evaluation of the whole span', () => {
    fc.assert(
      fc.property(fc.array(scheduleArb, { minLength: 1, maxLength: 4 }), instant, (schedules, start) => {
        // Prepare
        const planner = new Planner(buildConfig(schedules));
        const from = Math.floor(start / 60_000) * 60_000;
        // Act
        const ticks = [];
        for (let m = 0; m < 240; m++) ticks.push(...planner.due(from + m * 60_000, from + (m + 1) * 60_000));
        // Assess
        expect(ticks).toEqual(planner.due(from, from + 240 * 60_000));
      }),
      { numRuns: 40 },
    );
  });
});
