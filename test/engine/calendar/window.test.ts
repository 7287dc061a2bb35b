import { describe, expect, it } from 'vitest';
import { CalendarSyntaxError } from '../../../functions/engine/calendar/rule.ts';
import { compileWindow } from '../../../functions/engine/calendar/window.ts';
import { due } from '../../../functions/engine/planner.ts';
import { configWith, cronConfig } from '../../helpers/config.ts';

const plan = (
  window: string,
  from: string,
  to: string,
  more: Record<string, unknown> = {},
  zone = 'Europe/Berlin',
) =>
  due(
    configWith([{ id: 'w', targets: ['face-search'], timezone: zone, window, ...more }]),
    new Date(from),
    new Date(to),
  ).map((r) => [r.at, r.action]);

describe('windows', () => {
  it('opens and closes on each listed day', () => {
    expect(plan('Mon-Fri 08:00-20:00', '2027-01-08T00:00:00Z', '2027-01-12T00:00:00Z')).toEqual([
      ['2027-01-08T07:00:00Z', 'start'],
      ['2027-01-08T19:00:00Z', 'stop'],
      ['2027-01-11T07:00:00Z', 'start'],
      ['2027-01-11T19:00:00Z', 'stop'],
    ]);
  });

  it('an overnight window belongs to the day it opens', () => {
    // 2027-01-08 is a Friday: opens Friday 22:00, closes Saturday 06:00; nothing opens Saturday.
    expect(plan('Fri 22:00-06:00', '2027-01-08T00:00:00Z', '2027-01-11T00:00:00Z')).toEqual([
      ['2027-01-08T21:00:00Z', 'start'],
      ['2027-01-09T05:00:00Z', 'stop'],
    ]);
  });

  it('a wrapping day range covers the weekend and Monday', () => {
    const rows = plan('Sat-Mon 09:00-17:00', '2027-01-04T00:00:00Z', '2027-01-12T00:00:00Z');
    expect(rows.filter(([, a]) => a === 'start').map(([at]) => at)).toEqual([
      '2027-01-04T08:00:00Z', // Mon
      '2027-01-09T08:00:00Z', // Sat
      '2027-01-10T08:00:00Z', // Sun
      '2027-01-11T08:00:00Z', // Mon
    ]);
  });

  it('a comma list of days and ranges', () => {
    const rows = plan('Mon,Wed-Thu 10:00-11:00', '2027-01-04T00:00:00Z', '2027-01-11T00:00:00Z');
    expect(rows.filter(([, a]) => a === 'start').map(([at]) => at?.slice(0, 10))).toEqual([
      '2027-01-04',
      '2027-01-06',
      '2027-01-07',
    ]);
  });

  it('24:00 closes at the following midnight', () => {
    expect(plan('Fri 18:00-24:00', '2027-01-08T00:00:00Z', '2027-01-10T00:00:00Z')).toEqual([
      ['2027-01-08T17:00:00Z', 'start'],
      ['2027-01-08T23:00:00Z', 'stop'],
    ]);
  });

  it('DRS targets resume and pause by default; other kinds start and stop', () => {
    // Act
    const rows = due(
      configWith([
        { id: 'w', targets: ['replication', 'face-search'], timezone: 'UTC', window: 'Mon 08:00-09:00' },
      ]),
      new Date('2027-01-04T00:00:00Z'),
      new Date('2027-01-05T00:00:00Z'),
    );
    // Assess
    expect(rows).toEqual([
      {
        at: '2027-01-04T08:00:00Z',
        schedule: 'w',
        action: 'resume',
        targets: ['orders-sync', 'billing-sync'],
      },
      { at: '2027-01-04T08:00:00Z', schedule: 'w', action: 'start', targets: ['face-search'] },
      {
        at: '2027-01-04T09:00:00Z',
        schedule: 'w',
        action: 'pause',
        targets: ['orders-sync', 'billing-sync'],
      },
      { at: '2027-01-04T09:00:00Z', schedule: 'w', action: 'stop', targets: ['face-search'] },
    ]);
  });

  it('explicit open and closed apply to every target', () => {
    const rows = due(
      configWith([
        {
          id: 'w',
          targets: ['replication'],
          timezone: 'UTC',
          window: 'Mon 08:00-09:00',
          open: 'pause',
          closed: 'resume',
        },
      ]),
      new Date('2027-01-04T00:00:00Z'),
      new Date('2027-01-05T00:00:00Z'),
    );
    expect(rows.map((r) => r.action)).toEqual(['pause', 'resume']);
  });

  it.each([
    ['Mon-Fri 8:00-20:00', /expected "DAYS HH:MM-HH:MM"/],
    ['Mon-Fri 08:00-08:00', /opens and closes at once/],
    ['Mon-Fri 24:00-06:00', /24:00 may only end a window/],
    ['Mon-Fri 08:00-25:00', /not a time of day/],
    ['Mon-Fro 08:00-20:00', /"Fro" is not a day/],
    ['Mon--Fri 08:00-20:00', /not a day/],
    ['', /expected/],
  ])('rejects %j', (text, message) => {
    expect(() => compileWindow(text)).toThrow(CalendarSyntaxError);
    expect(() => compileWindow(text)).toThrow(message);
  });
});

describe('skip dates', () => {
  it('a 07:00 Shanghai action on a skipped local date is skipped although it is the previous day in UTC', () => {
    // Act
    const rows = due(
      cronConfig('0 7 * * *', 'Asia/Shanghai', { skipDates: ['2027-03-29'] }),
      new Date('2027-03-27T00:00:00Z'),
      new Date('2027-03-31T00:00:00Z'),
    );
    // Assess: 2027-03-28T23:00Z is 07:00 on the 29th in Shanghai
    expect(rows.map((r) => r.at)).toEqual([
      '2027-03-27T23:00:00Z',
      '2027-03-29T23:00:00Z',
      '2027-03-30T23:00:00Z',
    ]);
  });

  it('MM-DD skips that day every year', () => {
    const config = cronConfig('0 12 24-26 12 *', 'UTC', { skipDates: ['12-25'] });
    for (const year of [2026, 2027, 2028]) {
      const rows = due(config, new Date(`${year}-12-01T00:00:00Z`), new Date(`${year + 1}-01-01T00:00:00Z`));
      expect(rows.map((r) => r.at)).toEqual([`${year}-12-24T12:00:00Z`, `${year}-12-26T12:00:00Z`]);
    }
  });

  it('skip dates on one action leave the other actions alone', () => {
    const config = configWith([
      {
        id: 's',
        targets: ['load-test'],
        timezone: 'UTC',
        actions: [
          { do: 'start', cron: '0 1 * * *' },
          { do: 'stop', cron: '0 5 * * *', skipDates: ['2027-01-02'] },
        ],
      },
    ]);
    const rows = due(config, new Date('2027-01-02T00:00:00Z'), new Date('2027-01-03T00:00:00Z'));
    expect(rows.map((r) => r.action)).toEqual(['start']);
  });

  it('a skipped date skips a window opening and that day’s closing, even overnight', () => {
    // 2027-01-08 is a Friday.
    expect(
      plan('Fri 22:00-06:00', '2027-01-08T00:00:00Z', '2027-01-17T00:00:00Z', { skipDates: ['2027-01-08'] }),
    ).toEqual([
      ['2027-01-15T21:00:00Z', 'start'],
      ['2027-01-16T05:00:00Z', 'stop'],
    ]);
  });

  it('skipping the morning after an overnight window still closes the window opened the night before', () => {
    expect(
      plan('Fri 22:00-06:00', '2027-01-08T00:00:00Z', '2027-01-10T00:00:00Z', { skipDates: ['2027-01-09'] }),
    ).toEqual([
      ['2027-01-08T21:00:00Z', 'start'],
      ['2027-01-09T05:00:00Z', 'stop'],
    ]);
  });
});
