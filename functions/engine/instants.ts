import { MONTH_NAMES } from './calendar/months.ts';

/**
 * ISO 8601 instants as people and programs send them. `Date.parse` rolls an impossible date over
 * (2027-02-30 becomes 2 March) and so would act on a day nobody asked for: the calendar date and
 * the time of day are checked first, and an impossible one is refused as such.
 */

const ZONED = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})$/i;

/** Why `YYYY-MM-DD` (at the start of `text`) is no calendar date, or undefined when it is one. */
export function calendarDateProblem(text: string): string | undefined {
  const match = /^(\d{4})-(\d{2})-(\d{2})/.exec(text);
  if (!match) return undefined;
  const [year, month, day] = match.slice(1, 4).map(Number) as [number, number, number];
  const date = match[0];
  if (month < 1 || month > 12) return `${date} is not a date: there is no month ${month}`;
  const days = new Date(Date.UTC(year, month, 0)).getUTCDate();
  if (day < 1 || day > days)
    return `${date} is not a date: ${MONTH_NAMES[month - 1]} ${year} has ${days} days`;
  return undefined;
}

/** Why an ISO 8601 instant with a zone cannot be taken, or undefined when it can. */
export function isoInstantProblem(text: string): string | undefined {
  const match = ZONED.exec(text);
  if (!match) return 'expected an ISO 8601 instant with a zone, e.g. 2027-03-29T23:00:00Z';
  const dateProblem = calendarDateProblem(text);
  if (dateProblem) return dateProblem;
  const hour = Number(match[4]);
  const minute = Number(match[5]);
  if (hour > 23 || minute > 59) return `${match[4]}:${match[5]} is not a time of day`;
  if (Number.isNaN(Date.parse(text)))
    return 'expected an ISO 8601 instant with a zone, e.g. 2027-03-29T23:00:00Z';
  return undefined;
}

/**
 * An ISO 8601 instant with a zone (`Z` or an offset): a bare date-time would be ambiguous. An
 * impossible date or time of day is no instant.
 */
export function parseIsoInstant(text: string): number | undefined {
  return isoInstantProblem(text) === undefined ? Date.parse(text) : undefined;
}
