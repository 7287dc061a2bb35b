import { describe, expect, it } from 'vitest';
import { desiredSpans } from '../../functions/engine/desired.ts';
import type { Override } from '../../functions/engine/overrides.ts';
import { weekView } from '../../functions/page/week.ts';
import { instantOfLocal, localMinuteOfDate, mondayOf } from '../../functions/page/zone-time.ts';
import { configWith } from '../helpers/config.ts';

const at = (iso: string) => Date.parse(iso);
const iso = (ms: number) => new Date(ms).toISOString();

const office = {
  id: 'office-hours',
  targets: ['replication'],
  timezone: 'Europe/Berlin',
  window: 'Mon-Fri 08:00-20:00',
  skipDates: ['03-24'],
};
const cnOffice = {
  id: 'cn-office',
  targets: ['face-search'],
  window: 'workdays 09:00-18:00',
  calendar: 'cn',
};
const config = configWith([office, cnOffice], {
  timezone: 'Asia/Shanghai',
  calendars: { cn: { country: 'CN', extraHolidays: ['2027-03-26'] } },
});
const NOW = at('2027-03-26T18:45:00Z');

describe('the week view model', () => {
  it('days are local days of the zone shown: 23 hours on the spring-forward Sunday, 25 in autumn', () => {
    const spring = weekView({ config, overrides: [], now: NOW, zone: 'Europe/Berlin' });
    expect(spring.monday).toBe('2027-03-22');
    expect(spring.days.map((d) => d.hours)).toEqual([24, 24, 24, 24, 24, 24, 23]);
    expect(iso(spring.from)).toBe('2027-03-21T23:00:00.000Z');
    expect(iso(spring.to)).toBe('2027-03-28T22:00:00.000Z');
    expect([spring.previous, spring.next]).toEqual(['2027-03-15', '2027-03-29']);
    const autumn = weekView({ config, overrides: [], now: NOW, zone: 'Europe/Berlin', week: '2027-10-27' });
    expect(autumn.monday).toBe('2027-10-25');
    expect(autumn.days.map((d) => d.hours)).toEqual([24, 24, 24, 24, 24, 24, 25]);
    expect(
      weekView({ config, overrides: [], now: NOW, zone: 'Asia/Shanghai' }).days.every((d) => d.hours === 24),
    ).toBe(true);
  });

  it("a day whose midnight the clocks skip starts at the gap's end (Santiago, 2027-09-05 00:00 does not exist)", () => {
    expect(iso(instantOfLocal('America/Santiago', localMinuteOfDate('2027-09-05')))).toBe(
      '2027-09-05T04:00:00.000Z',
    );
    const week = weekView({ config, overrides: [], now: NOW, zone: 'America/Santiago', week: '2027-09-05' });
    expect(week.days.map((d) => d.hours)).toEqual([24, 24, 24, 24, 24, 24, 23]);
    expect(mondayOf('2027-09-05')).toBe('2027-08-30');
  });

  it('bands are the engine’s desired spans, unchanged, for every target in the config’s groups', () => {
    const week = weekView({ config, overrides: [], now: NOW, zone: 'Europe/Berlin' });
    const spans = desiredSpans(config, week.from, week.to);
    expect(week.groups.map((g) => [g.name, g.rows.map((r) => r.target)])).toEqual([
      ['replication', ['orders-sync', 'billing-sync']],
      [null, ['face-search', 'night-batch', 'load-test']],
    ]);
    for (const row of week.groups.flatMap((g) => g.rows))
      expect(
        row.bands.map((b) => ({
          from: iso(b.from).replace('.000Z', 'Z'),
          to: iso(b.to).replace('.000Z', 'Z'),
          state: b.state,
        })),
      ).toEqual(
        spans.get(row.target)!.map((s) => ({
          from: s.from.replace('.000Z', 'Z'),
          to: s.to.replace('.000Z', 'Z'),
          state: s.edge?.state ?? null,
        })),
      );
    const orders = week.groups[0]!.rows[0]!;
    // Wednesday is a skip date of office-hours: no opening, no closing; paused from Tuesday 20:00 to Thursday 08:00.
    expect(
      orders.bands.map((b) => `${b.state} ${iso(b.from).slice(5, 16)}-${iso(b.to).slice(5, 16)}`),
    ).toEqual([
      'paused 03-21T23:00-03-22T07:00',
      'running 03-22T07:00-03-22T19:00',
      'paused 03-22T19:00-03-23T07:00',
      'running 03-23T07:00-03-23T19:00',
      'paused 03-23T19:00-03-25T07:00',
      'running 03-25T07:00-03-25T19:00',
      'paused 03-25T19:00-03-26T07:00',
      'running 03-26T07:00-03-26T19:00',
      'paused 03-26T19:00-03-28T22:00',
    ]);
    expect(orders.edges.map((e) => `${e.at} ${e.state}`)).toEqual([
      '2027-03-22T07:00:00Z running',
      '2027-03-22T19:00:00Z paused',
      '2027-03-23T07:00:00Z running',
      '2027-03-23T19:00:00Z paused',
      '2027-03-25T07:00:00Z running',
      '2027-03-25T19:00:00Z paused',
      '2027-03-26T07:00:00Z running',
      '2027-03-26T19:00:00Z paused',
    ]);
    expect(orders.skips).toEqual([
      {
        kind: 'skip-date',
        from: at('2027-03-23T23:00:00Z'),
        to: at('2027-03-24T23:00:00Z'),
        text: 'skip date 03-24 of office-hours',
        schedule: 'office-hours',
      },
    ]);
    expect(week.days[2]!.notes).toEqual([
      { kind: 'skip-date', text: 'skip date 03-24 of office-hours', schedules: ['office-hours'] },
    ]);
  });

  it('a calendar holiday is marked on its day and on the rows of the schedules it kept from firing', () => {
    const week = weekView({ config, overrides: [], now: NOW, zone: 'Asia/Shanghai' });
    const friday = week.days.find((d) => d.date === '2027-03-26')!;
    expect(friday.notes).toEqual([
      { kind: 'holiday', text: 'holiday extraHolidays (cn)', schedules: ['cn-office'] },
    ]);
    const face = week.groups.flatMap((g) => g.rows).find((r) => r.target === 'face-search')!;
    expect(face.skips.map((s) => [iso(s.from), s.text])).toEqual([
      ['2027-03-26T01:00:00.000Z', 'holiday extraHolidays (cn): cn-office did not start'],
      ['2027-03-26T10:00:00.000Z', 'holiday extraHolidays (cn): cn-office did not stop'],
    ]);
    expect(
      face.bands.some(
        (b) =>
          b.state === 'running' && b.from <= at('2027-03-26T02:00:00Z') && b.to > at('2027-03-26T02:00:00Z'),
      ),
    ).toBe(false);
  });

  it('overrides are clipped to the week and kept per target; now is marked only in its week', () => {
    const override: Override = {
      id: 'ovr-0000abcd',
      targets: ['orders-sync', 'face-search'],
      state: 'running',
      from: '2027-03-26T18:40:00.000Z',
      until: '2027-03-30T22:00:00.000Z',
      reason: 'release',
      createdAt: '2027-03-26T18:40:00.000Z',
      createdBy: 'alice',
    };
    const week = weekView({ config, overrides: [override], now: NOW, zone: 'Europe/Berlin' });
    const rows = week.groups.flatMap((g) => g.rows);
    expect(rows.find((r) => r.target === 'orders-sync')!.overrides).toEqual([
      {
        id: 'ovr-0000abcd',
        state: 'running',
        from: at('2027-03-26T18:40:00Z'),
        to: week.to,
        starts: override.from,
        until: override.until,
        reason: 'release',
        createdBy: 'alice',
      },
    ]);
    expect(rows.find((r) => r.target === 'billing-sync')!.overrides).toEqual([]);
    expect(week.now).toBe(NOW);
    const next = weekView({
      config,
      overrides: [override],
      now: NOW,
      zone: 'Europe/Berlin',
      week: week.next,
    });
    expect(next.now).toBeUndefined();
    expect(next.groups[0]!.rows[0]!.overrides[0]!.to).toBe(at('2027-03-30T22:00:00Z'));
  });
});
