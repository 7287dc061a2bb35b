import { CalendarSyntaxError } from './rule.ts';
import type { LocalDay } from './zone.ts';

/** Checks one skip date: `YYYY-MM-DD` for one day, `MM-DD` for that day every year. */
export function checkSkipDate(text: string): void {
  const full = /^(\d{4})-(\d{2})-(\d{2})$/.exec(text);
  if (full) {
    const [, y, m, d] = full.map(Number) as [number, number, number, number];
    const date = new Date(Date.UTC(y, m - 1, d));
    if (date.getUTCFullYear() === y && date.getUTCMonth() === m - 1 && date.getUTCDate() === d) return;
    throw new CalendarSyntaxError(`${JSON.stringify(text)} is not a calendar date`);
  }
  const yearly = /^(\d{2})-(\d{2})$/.exec(text);
  if (yearly) {
    const m = Number(yearly[1]);
    const d = Number(yearly[2]);
    // 2000 is a leap year, so 02-29 is accepted as a yearly date.
    if (m >= 1 && m <= 12 && d >= 1 && d <= new Date(Date.UTC(2000, m, 0)).getUTCDate()) return;
    throw new CalendarSyntaxError(`${JSON.stringify(text)} is not a day of the year`);
  }
  throw new CalendarSyntaxError(`${JSON.stringify(text)}: expected a local date "YYYY-MM-DD" or "MM-DD"`);
}

export type SkipDates = ReadonlySet<string>;

export function isSkipped(skip: SkipDates | undefined, day: LocalDay): boolean {
  return skip !== undefined && skip.size > 0 && (skip.has(day.date) || skip.has(day.monthDay));
}
