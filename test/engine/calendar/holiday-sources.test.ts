import { describe, expect, it } from 'vitest';
import {
  checkCalendarSource,
  resolveCalendarData,
} from '../../../functions/engine/calendar/holiday-sources.ts';

/** Every day from `from` to `to`, both included, as `YYYY-MM-DD`. */
function days(from: string, to: string): string[] {
  const out: string[] = [];
  for (let t = Date.parse(`${from}T00:00:00Z`); t <= Date.parse(`${to}T00:00:00Z`); t += 86_400_000)
    out.push(new Date(t).toISOString().slice(0, 10));
  return out;
}

/**
 * The State Council's notices (国务院办公厅关于2025年/2026年部分节假日安排的通知), typed in here
 * only to check the library against them: days off (放假调休) and make-up working days (上班).
 */
const OFFICIAL = {
  2025: {
    off: [
      ...days('2025-01-01', '2025-01-01'), // 元旦
      ...days('2025-01-28', '2025-02-04'), // 春节
      ...days('2025-04-04', '2025-04-06'), // 清明节
      ...days('2025-05-01', '2025-05-05'), // 劳动节
      ...days('2025-05-31', '2025-06-02'), // 端午节
      ...days('2025-10-01', '2025-10-08'), // 国庆节、中秋节
    ],
    work: ['2025-01-26', '2025-02-08', '2025-04-27', '2025-09-28', '2025-10-11'],
  },
  2026: {
    off: [
      ...days('2026-01-01', '2026-01-03'), // 元旦
      ...days('2026-02-15', '2026-02-23'), // 春节
      ...days('2026-04-04', '2026-04-06'), // 清明节
      ...days('2026-05-01', '2026-05-05'), // 劳动节
      ...days('2026-06-19', '2026-06-21'), // 端午节
      ...days('2026-09-25', '2026-09-27'), // 中秋节
      ...days('2026-10-01', '2026-10-07'), // 国庆节
    ],
    work: ['2026-01-04', '2026-02-14', '2026-02-28', '2026-05-09', '2026-09-20', '2026-10-10'],
  },
};

describe('holiday sources', () => {
  describe('CN from chinese-days, checked against the official schedules', () => {
    for (const year of [2025, 2026] as const) {
      it(`${year}: exactly the official days off and make-up working days`, () => {
        // Act
        const data = resolveCalendarData({ country: 'CN' }, year, year);
        // Assess
        expect(Object.keys(data.holidays)).toEqual(OFFICIAL[year].off);
        expect(Object.keys(data.workdays)).toEqual(OFFICIAL[year].work);
        expect(data.source).toMatch(/^chinese-days \d+\.\d+\.\d+$/);
      });
    }

    it('names holidays in Chinese: 2026-10-01 to 10-07 are 国庆节, 02-14 and 02-28 are make-up days for 春节', () => {
      // Act
      const data = resolveCalendarData({ country: 'CN' }, 2026, 2026);
      // Assess
      for (const date of days('2026-10-01', '2026-10-07')) expect(data.holidays[date]).toBe('国庆节');
      expect(data.holidays['2026-02-17']).toBe('春节');
      expect(data.workdays).toMatchObject({ '2026-02-14': '春节', '2026-02-28': '春节' });
      // both working Saturdays
      expect(new Date('2026-02-14T00:00:00Z').getUTCDay()).toBe(6);
      expect(new Date('2026-02-28T00:00:00Z').getUTCDay()).toBe(6);
    });

    it('ends where the published schedules end, not where it was asked to', () => {
      // Act
      const data = resolveCalendarData({ country: 'CN' }, 2025, 2040);
      // Assess: the library's last year, which has holidays, and nothing after it
      const lastYear = Number(data.until.slice(0, 4));
      expect(lastYear).toBeGreaterThanOrEqual(2026);
      expect(lastYear).toBeLessThan(2040);
      expect(data.until).toBe(`${lastYear}-12-31`);
      expect(Object.keys(data.holidays).some((d) => d.startsWith(String(lastYear)))).toBe(true);
      expect(Object.keys(data.holidays).every((d) => d <= data.until)).toBe(true);
    });

    it('a span with no published data at all ends before it starts', () => {
      const data = resolveCalendarData({ country: 'CN' }, 2090, 2091);
      expect(data.holidays).toEqual({});
      expect(data.until < data.from).toBe(true);
    });
  });

  describe('other countries from date-holidays', () => {
    it('DE with state BY has the Bavarian holidays, DE alone does not', () => {
      // Act
      const bavaria = resolveCalendarData({ country: 'DE', state: 'BY' }, 2026, 2026);
      const germany = resolveCalendarData({ country: 'DE' }, 2026, 2026);
      // Assess
      expect(bavaria.holidays).toMatchObject({
        '2026-01-06': 'Heilige Drei Könige',
        '2026-06-04': 'Fronleichnam',
        '2026-10-03': 'Tag der Deutschen Einheit',
        '2026-11-01': 'Allerheiligen',
        '2026-12-25': '1. Weihnachtstag',
      });
      expect(germany.holidays['2026-01-06']).toBeUndefined();
      expect(germany.holidays['2026-10-03']).toBe('Tag der Deutschen Einheit');
      expect(bavaria.workdays).toEqual({});
      expect(bavaria).toMatchObject({ from: '2026-01-01', until: '2026-12-31' });
    });

    it('US public holidays include the observed substitute days', () => {
      const us = resolveCalendarData({ country: 'US' }, 2026, 2027);
      expect(us.holidays).toMatchObject({
        '2026-07-03': 'Independence Day (substitute day)',
        '2026-07-04': 'Independence Day',
        '2026-11-26': 'Thanksgiving Day',
        '2027-12-24': 'Christmas Day (substitute day)',
      });
    });

    it('has no end of its own: any span resolves', () => {
      const data = resolveCalendarData({ country: 'DE', state: 'BY' }, 2031, 2031);
      expect(data.until).toBe('2031-12-31');
      expect(data.holidays['2031-12-25']).toBe('1. Weihnachtstag');
    });
  });

  describe('checkCalendarSource', () => {
    it('knows CN, DE with its states, US', () => {
      expect(checkCalendarSource({ country: 'CN' })).toBeUndefined();
      expect(checkCalendarSource({ country: 'DE', state: 'BY' })).toBeUndefined();
      expect(checkCalendarSource({ country: 'US', state: 'CA' })).toBeUndefined();
    });

    it('names the field at fault', () => {
      expect(checkCalendarSource({ country: 'XX' })).toMatchObject({
        field: 'country',
        message: expect.stringMatching(/unknown country "XX"/),
      });
      expect(checkCalendarSource({ country: 'DE', state: 'ZZ' })).toMatchObject({
        field: 'state',
        message: expect.stringMatching(/unknown state "ZZ" of DE \(one of .*BY/),
      });
      expect(checkCalendarSource({ country: 'CN', state: 'SH' })).toMatchObject({ field: 'state' });
    });
  });
});
