import { Cron } from 'croner';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compileCron, neverFiresReason } from '../../../functions/engine/calendar/cron.ts';
import { CalendarSyntaxError } from '../../../functions/engine/calendar/rule.ts';
import { due } from '../../../functions/engine/planner.ts';
import { cronConfig } from '../../helpers/config.ts';

const fire = (cron: string, from: string, to: string, zone = 'UTC') =>
  due(cronConfig(cron, zone), new Date(from), new Date(to)).map((r) => r.at);

describe('cron corners', () => {
  it('L is the last day of each month, leap years included', () => {
    // Act
    const at = fire('0 12 L * *', '2027-02-01T00:00:00Z', '2028-03-01T00:00:00Z');
    // Assess
    expect(
      at.filter((t) => t.startsWith('2027-02') || t.startsWith('2028-02') || t.startsWith('2027-04')),
    ).toEqual(['2027-02-28T12:00:00Z', '2027-04-30T12:00:00Z', '2028-02-29T12:00:00Z']);
    expect(at).toHaveLength(13);
  });

  it('MON#1 is the first Monday of the month', () => {
    expect(fire('0 9 * * MON#1', '2027-01-01T00:00:00Z', '2027-04-01T00:00:00Z')).toEqual([
      '2027-01-04T09:00:00Z',
      '2027-02-01T09:00:00Z',
      '2027-03-01T09:00:00Z',
    ]);
  });

  it('FRI#L is the last Friday of the month', () => {
    expect(fire('0 18 * * FRI#L', '2027-01-01T00:00:00Z', '2027-03-01T00:00:00Z')).toEqual([
      '2027-01-29T18:00:00Z',
      '2027-02-26T18:00:00Z',
    ]);
  });

  it('*/15 fires four times an hour', () => {
    expect(fire('*/15 * * * *', '2027-01-01T00:00:00Z', '2027-01-01T01:00:00Z')).toEqual([
      '2027-01-01T00:15:00Z',
      '2027-01-01T00:30:00Z',
      '2027-01-01T00:45:00Z',
      '2027-01-01T01:00:00Z',
    ]);
  });

  it('when both day fields are restricted, either may match', () => {
    // 2027-08-13 is a Friday; 2027-08-06, -20, -27 are Fridays; 2027-09-13 is a Monday.
    expect(fire('0 0 13 * FRI', '2027-08-01T00:00:00Z', '2027-09-14T00:00:00Z')).toEqual([
      '2027-08-06T00:00:00Z',
      '2027-08-13T00:00:00Z',
      '2027-08-20T00:00:00Z',
      '2027-08-27T00:00:00Z',
      '2027-09-03T00:00:00Z',
      '2027-09-10T00:00:00Z',
      '2027-09-13T00:00:00Z',
    ]);
  });

  it('when only one day field is restricted, it alone decides', () => {
    expect(fire('0 0 * * FRI', '2027-08-01T00:00:00Z', '2027-08-15T00:00:00Z')).toEqual([
      '2027-08-06T00:00:00Z',
      '2027-08-13T00:00:00Z',
    ]);
    expect(fire('0 0 13 * *', '2027-08-01T00:00:00Z', '2027-09-01T00:00:00Z')).toEqual([
      '2027-08-13T00:00:00Z',
    ]);
  });

  it('Sunday is both 0 and 7, and SUN', () => {
    const span = ['2027-08-01T00:00:01Z', '2027-08-16T00:00:00Z'] as const;
    const sundays = ['2027-08-01T06:00:00Z', '2027-08-08T06:00:00Z', '2027-08-15T06:00:00Z'];
    expect(fire('0 6 * * 0', ...span)).toEqual(sundays);
    expect(fire('0 6 * * 7', ...span)).toEqual(sundays);
    expect(fire('0 6 * * SUN', ...span)).toEqual(sundays);
  });

  it('accepts names, lists, ranges and steps', () => {
    expect(fire('0,30 8-9 1 JAN,MAR-APR/1 *', '2027-01-01T00:00:00Z', '2027-04-02T00:00:00Z')).toEqual([
      '2027-01-01T08:00:00Z',
      '2027-01-01T08:30:00Z',
      '2027-01-01T09:00:00Z',
      '2027-01-01T09:30:00Z',
      '2027-03-01T08:00:00Z',
      '2027-03-01T08:30:00Z',
      '2027-03-01T09:00:00Z',
      '2027-03-01T09:30:00Z',
      '2027-04-01T08:00:00Z',
      '2027-04-01T08:30:00Z',
      '2027-04-01T09:00:00Z',
      '2027-04-01T09:30:00Z',
    ]);
  });

  it.each([
    ['0 0 * *', /five fields/],
    ['0 0 1 1 1 1', /five fields/],
    ['@daily', /five fields/],
    ['61 * * * *', /minute/],
    ['0 25 * * *', /hour/],
    ['0 0 32 * *', /day/],
    ['0 0 * 13 *', /month/],
    ['0 0 * * 8', /./],
    ['0 0 1W * *', /W/],
    ['H 0 * * *', /illegal/],
    ['5-3 * * * *', /larger/],
  ])('rejects %j', (expression, message) => {
    expect(() => compileCron(expression)).toThrow(CalendarSyntaxError);
    expect(() => compileCron(expression)).toThrow(message);
  });

  it.each([
    // croner reads these as "the 5th and the last day"; nobody writing them means that.
    [
      '0 0 5L * *',
      /"5L": L \(the last day of the month\) stands alone; for day 5 and the last day write "5,L"/,
    ],
    ['0 0 L5 * *', /"L5": L \(the last day of the month\) stands alone/],
    ['0 0 1-L * *', /"1-L": L \(the last day of the month\) stands alone/],
    ['0 0 * * 5L', /"5L": for the last such weekday of the month write "5#L" \(or "FRI#L"\)/],
    ['0 0 ? * *', /"\?" is not part of this cron dialect; write "\*"/],
  ])('refuses the lenient %j with a reason', (expression, message) => {
    expect(() => compileCron(expression)).toThrow(CalendarSyntaxError);
    expect(() => compileCron(expression)).toThrow(message);
  });

  it.each([
    ['0 0 31 2 *', 'February has no day 31'],
    ['0 0 30,31 2 *', 'February has no day 30 or 31'],
    ['0 0 31 4,6,9,11 *', 'April, June, September and November have no day 31'],
    ['0 0 31 2,3 *', undefined],
    ['0 0 31 2 MON', undefined],
    ['0 0 L 2 *', undefined],
  ])('says why %j never fires (validate warns with it)', (expression, reason) => {
    expect(neverFiresReason(expression)).toBe(reason);
  });

  it.each([
    '0 0 1,L * *',
    '0 0 L * *',
    '0 0 * * FRI#L',
    '0 0 * * 5#L',
    '0 0 29 2 *',
    '0 0 31 2,3 *',
    '0 0 31 2 MON',
  ])('still takes %j', (expression) => {
    expect(() => compileCron(expression)).not.toThrow();
  });
});

describe('cron matcher against croner outside DST', () => {
  it('fires on the 1st of the month in either-day mode, where croner 11 skips it', () => {
    // `0 0 1 * 5`: the 1st of every month, and every Friday. 2029-03-01 is a Thursday.
    expect(fire('0 0 1 * 5', '2029-02-27T00:00:00Z', '2029-03-03T00:00:00Z')).toEqual([
      '2029-03-01T00:00:00Z',
      '2029-03-02T00:00:00Z',
    ]);
    expect(
      new Cron('0 0 1 * 5', { timezone: 'UTC' }).nextRun(new Date('2029-02-27T00:00:00Z'))!.toISOString(),
    ).toBe('2029-03-02T00:00:00.000Z');
  });

  const field = (min: number, max: number) =>
    fc.oneof(
      fc.constant('*'),
      fc.integer({ min, max }).map(String),
      fc
        .tuple(fc.integer({ min, max }), fc.integer({ min, max }))
        .map(([a, b]) => `${Math.min(a, b)}-${Math.max(a, b)}`),
      fc.integer({ min: 2, max: Math.max(2, Math.floor((max - min) / 2)) }).map((s) => `*/${s}`),
      fc.uniqueArray(fc.integer({ min, max }), { minLength: 2, maxLength: 4 }).map((v) => v.join(',')),
    );
  // croner is known to miss the 1st of the next month in its either-day mode (see the test
  // below), so the comparison keeps at least one day field unrestricted.
  const expression = fc
    .tuple(field(0, 59), field(0, 23), field(1, 28), field(1, 12), field(0, 7), fc.boolean())
    .map(([m, h, dom, mon, dow, keepDom]) => [m, h, keepDom ? dom : '*', mon, keepDom ? '*' : dow].join(' '));

  it('fires exactly when croner says, in UTC', () => {
    fc.assert(
      fc.property(expression, fc.integer({ min: 0, max: 365 * 3 }), (cron, dayOffset) => {
        // Prepare
        const from = new Date(Date.UTC(2027, 0, 1) + dayOffset * 86_400_000);
        const to = new Date(from.getTime() + 2 * 86_400_000);
        // Act
        const ours = fire(cron, from.toISOString(), to.toISOString());
        // Assess: croner's next runs over the same span
        const job = new Cron(cron, { timezone: 'UTC', mode: '5-part' } as never);
        const theirs: string[] = [];
        let cursor: Date | null = from;
        while (theirs.length < 3000) {
          cursor = job.nextRun(cursor);
          if (!cursor || cursor > to) break;
          theirs.push(`${cursor.toISOString().slice(0, 19)}Z`);
        }
        expect(ours).toEqual(theirs);
      }),
      { numRuns: 150 },
    );
  });
});
