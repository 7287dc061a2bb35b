import { describe, expect, it } from 'vitest';
import { calendarDataEnding, WorkCalendar } from '../../../functions/engine/calendar/holidays.ts';
import { localDayOf } from '../../../functions/engine/calendar/zone.ts';
import { withCalendarData } from '../../../functions/engine/config/resolve-calendars.ts';
import type { Config } from '../../../functions/engine/config/schema.ts';
import { latestEdges } from '../../../functions/engine/desired.ts';
import { due, Planner } from '../../../functions/engine/planner.ts';
import { configWith, type RawSchedule } from '../../helpers/config.ts';

const NOW = new Date('2026-01-15T00:00:00Z');

function calendarConfig(calendars: Record<string, unknown>, schedules: RawSchedule[]): Config {
  return withCalendarData(configWith(schedules, { calendars }), { now: NOW });
}

/** The local dates (in `zone`) on which the schedule opened, i.e. fired `open`, in (from, to]. */
function openDays(config: Config, from: string, to: string, zone: string, action = 'start'): string[] {
  const format = new Intl.DateTimeFormat('en-CA', { timeZone: zone });
  return due(config, new Date(from), new Date(to))
    .filter((row) => row.action === action)
    .map((row) => format.format(new Date(row.at)));
}

function weekdaysBetween(from: string, to: string, except: string[] = [], plus: string[] = []): string[] {
  const out: string[] = [];
  for (let t = Date.parse(`${from}T00:00:00Z`); t <= Date.parse(`${to}T00:00:00Z`); t += 86_400_000) {
    const date = new Date(t);
    const iso = date.toISOString().slice(0, 10);
    const weekday = date.getUTCDay();
    if ((weekday >= 1 && weekday <= 5 && !except.includes(iso)) || plus.includes(iso)) out.push(iso);
  }
  return out;
}

const office = (zone: string, calendar: string, extra: Partial<RawSchedule> = {}): RawSchedule => ({
  id: 'office',
  targets: ['face-search'],
  timezone: zone,
  window: 'workdays 09:00-19:00',
  calendar,
  ...extra,
});

describe('workdays with a calendar (acceptance)', () => {
  describe('CN 2026: make-up Saturdays open, holidays stay closed', () => {
    const config = calendarConfig({ cn: { country: 'CN' } }, [office('Asia/Shanghai', 'cn')]);

    it('across Spring Festival', () => {
      // Act
      const opened = openDays(config, '2026-02-08T16:00:00Z', '2026-03-08T16:00:00Z', 'Asia/Shanghai');
      const closed = openDays(
        config,
        '2026-02-08T16:00:00Z',
        '2026-03-08T16:00:00Z',
        'Asia/Shanghai',
        'stop',
      );
      // Assess: 02-15..02-23 off; Saturdays 02-14 and 02-28 are working days
      const expected = weekdaysBetween(
        '2026-02-09',
        '2026-03-08',
        ['2026-02-16', '2026-02-17', '2026-02-18', '2026-02-19', '2026-02-20', '2026-02-23'],
        ['2026-02-14', '2026-02-28'],
      );
      expect(opened).toEqual(expected);
      expect(closed).toEqual(expected);
      expect(opened).toContain('2026-02-14');
      expect(opened).toContain('2026-02-28');
    });

    it('across Mid-autumn and National Day', () => {
      // Act
      const opened = openDays(config, '2026-09-13T16:00:00Z', '2026-10-18T16:00:00Z', 'Asia/Shanghai');
      // Assess: Sunday 09-20 and Saturday 10-10 work; 09-25 and 10-01..10-07 are off
      expect(opened).toEqual(
        weekdaysBetween(
          '2026-09-14',
          '2026-10-18',
          ['2026-09-25', '2026-10-01', '2026-10-02', '2026-10-05', '2026-10-06', '2026-10-07'],
          ['2026-09-20', '2026-10-10'],
        ),
      );
    });

    it('the desired state: running on a make-up Saturday, stopped through the National Day week', () => {
      const state = (iso: string) => latestEdges(config, Date.parse(iso)).get('face-search')?.state;
      expect(state('2026-02-14T04:00:00Z')).toBe('running'); // Saturday 12:00, a working day
      expect(state('2026-02-18T04:00:00Z')).toBe('stopped'); // Spring Festival
      expect(state('2026-02-28T04:00:00Z')).toBe('running'); // Saturday, a working day
      expect(state('2026-09-20T04:00:00Z')).toBe('running'); // Sunday, a working day
      for (const day of ['01', '02', '05', '06', '07'])
        expect(state(`2026-10-${day}T04:00:00Z`)).toBe('stopped');
      expect(latestEdges(config, Date.parse('2026-10-07T04:00:00Z')).get('face-search')?.at).toBe(
        '2026-09-30T11:00:00Z',
      );
      expect(state('2026-10-10T04:00:00Z')).toBe('running'); // Saturday, a working day
    });

    it('the UTC times are 09:00 and 19:00 in Shanghai', () => {
      const rows = due(config, new Date('2026-02-13T16:00:00Z'), new Date('2026-02-14T16:00:00Z'));
      expect(rows.map((r) => [r.at, r.action])).toEqual([
        ['2026-02-14T01:00:00Z', 'start'],
        ['2026-02-14T11:00:00Z', 'stop'],
      ]);
    });

    it('workdays in the cron day-of-week field means the same days', () => {
      // Prepare
      const cron = calendarConfig({ cn: { country: 'CN' } }, [
        {
          id: 'office',
          targets: ['face-search'],
          timezone: 'Asia/Shanghai',
          calendar: 'cn',
          actions: [
            { do: 'start', cron: '0 9 * * workdays' },
            { do: 'stop', cron: '0 19 * * WORKDAYS' },
          ],
        },
      ]);
      // Act / Assess
      for (const [from, to] of [
        ['2026-02-08T16:00:00Z', '2026-03-08T16:00:00Z'],
        ['2026-09-13T16:00:00Z', '2026-10-18T16:00:00Z'],
      ] as const) {
        expect(openDays(cron, from, to, 'Asia/Shanghai')).toEqual(
          openDays(config, from, to, 'Asia/Shanghai'),
        );
        expect(openDays(cron, from, to, 'Asia/Shanghai', 'stop')).toEqual(
          openDays(config, from, to, 'Asia/Shanghai', 'stop'),
        );
      }
    });
  });

  it('DE with state BY: Bavarian holidays stay closed, in Berlin time across the DST change', () => {
    // Prepare
    const config = calendarConfig({ by: { country: 'DE', state: 'BY' } }, [office('Europe/Berlin', 'by')]);
    // Act
    const spring = openDays(config, '2026-03-22T00:00:00Z', '2026-04-12T00:00:00Z', 'Europe/Berlin');
    const summer = openDays(config, '2026-05-24T00:00:00Z', '2026-06-07T00:00:00Z', 'Europe/Berlin');
    const winter = openDays(config, '2026-12-20T00:00:00Z', '2027-01-10T00:00:00Z', 'Europe/Berlin');
    // Assess: Karfreitag 04-03, Ostermontag 04-06; Pfingstmontag 05-25, Fronleichnam 06-04;
    // Weihnachten 12-25, Neujahr 01-01, Heilige Drei Könige 01-06 (Bavaria)
    expect(spring).toEqual(weekdaysBetween('2026-03-23', '2026-04-11', ['2026-04-03', '2026-04-06']));
    expect(summer).toEqual(weekdaysBetween('2026-05-25', '2026-06-06', ['2026-05-25', '2026-06-04']));
    expect(winter).toEqual(
      weekdaysBetween('2026-12-21', '2027-01-09', ['2026-12-25', '2027-01-01', '2027-01-06']),
    );
    // 09:00 CET before the change, 09:00 CEST after it
    const rows = due(config, new Date('2026-03-27T00:00:00Z'), new Date('2026-03-31T00:00:00Z'));
    expect(rows.filter((r) => r.action === 'start').map((r) => r.at)).toEqual([
      '2026-03-27T08:00:00Z',
      '2026-03-30T07:00:00Z',
    ]);
  });

  it('US: federal holidays stay closed, observed days included', () => {
    // Prepare
    const config = calendarConfig({ us: { country: 'US' } }, [office('America/New_York', 'us')]);
    // Act
    const july = openDays(config, '2026-06-28T12:00:00Z', '2026-07-11T12:00:00Z', 'America/New_York');
    const november = openDays(config, '2026-11-22T12:00:00Z', '2026-11-29T12:00:00Z', 'America/New_York');
    // Assess: Juneteenth is 06-19; Independence Day observed Friday 07-03; Thanksgiving 11-26
    expect(july).toEqual(weekdaysBetween('2026-06-29', '2026-07-11', ['2026-07-03']));
    expect(november).toEqual(weekdaysBetween('2026-11-23', '2026-11-29', ['2026-11-26']));
  });
});

describe('calendar on a schedule', () => {
  it('skips public holidays like skip dates, for any window or cron', () => {
    // Prepare
    const config = calendarConfig({ cn: { country: 'CN' } }, [
      {
        id: 'daily',
        targets: ['face-search'],
        timezone: 'Asia/Shanghai',
        calendar: 'cn',
        window: '08:00-20:00',
      },
      {
        id: 'sat',
        targets: ['load-test'],
        timezone: 'Asia/Shanghai',
        calendar: 'cn',
        actions: [{ do: 'start', cron: '0 1 * * SAT' }],
      },
    ]);
    // Act
    const rows = due(config, new Date('2026-09-30T00:00:00Z'), new Date('2026-10-10T16:00:00Z'));
    // Assess: nothing from 10-01 to 10-07, whatever the weekday; Saturday 10-10 fires
    const dates = rows.map((r) =>
      new Intl.DateTimeFormat('en-CA', { timeZone: 'Asia/Shanghai' }).format(new Date(r.at)),
    );
    expect([...new Set(dates)]).toEqual(['2026-09-30', '2026-10-08', '2026-10-09', '2026-10-10']);
    expect(rows.filter((r) => r.schedule === 'sat').map((r) => r.at)).toEqual(['2026-10-09T17:00:00Z']);
  });

  it('an overnight window skipped on a holiday does not lose the close of the night before', () => {
    // Prepare
    const config = calendarConfig({ cn: { country: 'CN' } }, [
      office('Asia/Shanghai', 'cn', { window: 'workdays 22:00-06:00' }),
    ]);
    // Act
    const rows = due(config, new Date('2026-09-30T00:00:00Z'), new Date('2026-10-02T00:00:00Z'));
    // Assess: opens Wednesday 09-30 22:00, closes Thursday 10-01 06:00 (a holiday), then nothing
    expect(rows.map((r) => [r.at, r.action])).toEqual([
      ['2026-09-30T14:00:00Z', 'start'],
      ['2026-09-30T22:00:00Z', 'stop'],
    ]);
  });

  it('extraHolidays and extraWorkdays patch the data, also as MM-DD every year', () => {
    // Prepare
    const config = calendarConfig(
      {
        by: {
          country: 'DE',
          state: 'BY',
          extraHolidays: ['12-24', '2026-12-31'],
          extraWorkdays: ['2026-12-26', '2027-01-06'],
        },
      },
      [office('Europe/Berlin', 'by')],
    );
    // Act
    const opened = openDays(config, '2026-12-20T00:00:00Z', '2027-01-10T00:00:00Z', 'Europe/Berlin');
    // Assess: 12-24 and 12-31 off; Saturday 12-26 worked; 01-06 worked despite the holiday
    expect(opened).toEqual(
      weekdaysBetween(
        '2026-12-21',
        '2027-01-09',
        ['2026-12-24', '2026-12-25', '2026-12-31', '2027-01-01'],
        ['2026-12-26'],
      ),
    );
  });

  it('plan --explain material: the rows a holiday skipped, with the holiday and the calendar', () => {
    // Prepare
    const config = calendarConfig({ cn: { country: 'CN' } }, [office('Asia/Shanghai', 'cn')]);
    // Act
    const skipped = new Planner(config).skipped(
      new Date('2026-09-30T16:00:00Z'),
      new Date('2026-10-02T16:00:00Z'),
    );
    // Assess: Thursday and Friday; the weekend would not have fired anyway
    expect(skipped).toEqual([
      {
        at: '2026-10-01T01:00:00Z',
        schedule: 'office',
        action: 'start',
        targets: ['face-search'],
        skipped: 'holiday 国庆节 (cn)',
      },
      {
        at: '2026-10-01T11:00:00Z',
        schedule: 'office',
        action: 'stop',
        targets: ['face-search'],
        skipped: 'holiday 国庆节 (cn)',
      },
      {
        at: '2026-10-02T01:00:00Z',
        schedule: 'office',
        action: 'start',
        targets: ['face-search'],
        skipped: 'holiday 国庆节 (cn)',
      },
      {
        at: '2026-10-02T11:00:00Z',
        schedule: 'office',
        action: 'stop',
        targets: ['face-search'],
        skipped: 'holiday 国庆节 (cn)',
      },
    ]);
  });

  it('a row skipped by skipDates is not blamed on the calendar: it names the skip date', () => {
    const config = calendarConfig({ cn: { country: 'CN' } }, [
      office('Asia/Shanghai', 'cn', { skipDates: ['10-01'] }),
    ]);
    const skipped = new Planner(config).skipped(
      new Date('2026-09-30T16:00:00Z'),
      new Date('2026-10-02T16:00:00Z'),
    );
    expect(skipped.map((r) => [r.at, r.skipped])).toEqual([
      ['2026-10-01T01:00:00Z', 'skip date 10-01 (office)'],
      ['2026-10-01T11:00:00Z', 'skip date 10-01 (office)'],
      ['2026-10-02T01:00:00Z', 'holiday 国庆节 (cn)'],
      ['2026-10-02T11:00:00Z', 'holiday 国庆节 (cn)'],
    ]);
  });
});

describe('WorkCalendar', () => {
  const day = (date: string) => localDayOf(Date.parse(`${date}T12:00:00Z`) / 60_000);

  it('outside its data, the week is Monday to Friday and extras still apply', () => {
    // Prepare
    const calendar = new WorkCalendar('x', {
      country: 'CN',
      extraHolidays: ['2027-02-15'],
      resolved: { source: 't', from: '2026-01-01', until: '2026-12-31', holidays: {}, workdays: {} },
    });
    // Assess
    expect(calendar.isWorkday(day('2027-02-12'))).toBe(true); // Friday
    expect(calendar.isWorkday(day('2027-02-13'))).toBe(false); // Saturday
    expect(calendar.isWorkday(day('2027-02-15'))).toBe(false); // extra holiday, Monday
    expect(calendar.skipReason(day('2027-02-15'))).toBe('holiday extraHolidays (x)');
  });
});

describe('calendarDataEnding', () => {
  const config = (until: string, enabled = true) => ({
    calendars: {
      cn: {
        country: 'CN',
        resolved: { source: 'chinese-days 1.5.7', from: '2025-01-01', until, holidays: {}, workdays: {} },
      },
    },
    schedules: [{ calendar: 'cn', enabled }],
  });

  it('warns when the data stops within 60 days, with the calendar path and the date', () => {
    expect(calendarDataEnding(config('2026-12-31'), new Date('2026-11-30T00:00:00Z'))).toEqual([
      {
        path: 'calendars.cn',
        until: '2026-12-31',
        message: expect.stringMatching(
          /^holiday data ends on 2026-12-31 \(chinese-days 1\.5\.7\), within 60 days/,
        ),
      },
    ]);
    expect(calendarDataEnding(config('2026-12-31'), new Date('2027-01-02T00:00:00Z'))[0]?.message).toMatch(
      /ended on 2026-12-31/,
    );
  });

  it('is quiet with 60 days of data or more, and for calendars no enabled schedule uses', () => {
    expect(calendarDataEnding(config('2026-12-31'), new Date('2026-11-01T00:00:00Z'))).toEqual([]);
    expect(calendarDataEnding(config('2026-12-31', false), new Date('2026-11-30T00:00:00Z'))).toEqual([]);
  });

  it('warns for the real CN data in its last 60 days', () => {
    // Prepare: the library's last published year
    const resolved = calendarConfig({ cn: { country: 'CN' } }, [office('Asia/Shanghai', 'cn')]);
    const until = resolved.calendars!.cn!.resolved!.until;
    const sixWeeksBefore = new Date(Date.parse(`${until}T00:00:00Z`) - 42 * 86_400_000);
    // Act / Assess
    expect(calendarDataEnding(resolved, sixWeeksBefore).map((w) => w.path)).toEqual(['calendars.cn']);
    const deBy = calendarConfig({ by: { country: 'DE', state: 'BY' } }, [office('Europe/Berlin', 'by')]);
    expect(calendarDataEnding(deBy, sixWeeksBefore)).toEqual([]);
  });
});
