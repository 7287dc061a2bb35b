import { MONTH_NAMES } from '../engine/calendar/months.ts';
import { localDayOf, MINUTE_MS, minuteOfDay, ZoneClock } from '../engine/calendar/zone.ts';

const DAY_MIN = 1440;
const WEEKDAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'] as const;

const clocks = new Map<string, ZoneClock>();

/** One ZoneClock per zone for the process: its offset samples are the expensive part. */
export function zoneClock(zone: string): ZoneClock {
  let clock = clocks.get(zone);
  if (!clock) {
    if (clocks.size > 100) clocks.clear();
    clock = new ZoneClock(zone);
    clocks.set(zone, clock);
  }
  return clock;
}

/** The local minute (minutes since the epoch as if local time were UTC) of an instant. */
export function localMinuteOf(zone: string, ms: number): number {
  return zoneClock(zone).localMinute(Math.floor(ms / MINUTE_MS));
}

/**
 * The first instant (ms) whose local time in `zone` is `local` or later: the instant itself, the
 * first of two when the clocks are turned back, and the end of the gap when they skip it (a
 * midnight that does not exist starts its day at 01:00).
 */
export function instantOfLocal(zone: string, local: number): number {
  const clock = zoneClock(zone);
  const offsets = new Set([clock.offsetAt(local - DAY_MIN), clock.offsetAt(local + DAY_MIN)]);
  const exact = [...offsets].map((o) => local - o).filter((t) => clock.localMinute(t) === local);
  if (exact.length > 0) return Math.min(...exact) * MINUTE_MS;
  // In a gap: the first minute whose local time is past `local` (local time only grows there).
  let lo = local - Math.max(...offsets);
  let hi = local - Math.min(...offsets);
  while (hi - lo > 1) {
    const mid = Math.floor((lo + hi) / 2);
    if (clock.localMinute(mid) > local) hi = mid;
    else lo = mid;
  }
  return hi * MINUTE_MS;
}

/** `YYYY-MM-DD` of the local day an instant falls on. */
export function localDateOf(zone: string, ms: number): string {
  return localDayOf(localMinuteOf(zone, ms)).date;
}

/** The local minute at which a `YYYY-MM-DD` date begins. */
export function localMinuteOfDate(date: string): number {
  return Date.parse(`${date}T00:00:00Z`) / MINUTE_MS;
}

const pad = (n: number) => String(n).padStart(2, '0');

/** `20:00` */
export function timeIn(zone: string, ms: number): string {
  const m = minuteOfDay(localMinuteOf(zone, ms));
  return `${pad(Math.floor(m / 60))}:${pad(m % 60)}`;
}

/** `Mon 22 Mar` */
export function dayIn(zone: string, ms: number): string {
  return dayLabel(localDayOf(localMinuteOf(zone, ms)).date);
}

/** `Mon 22 Mar` of a `YYYY-MM-DD` date. */
export function dayLabel(date: string): string {
  const day = localDayOf(localMinuteOfDate(date));
  return `${WEEKDAYS[day.weekday]} ${day.day} ${MONTH_NAMES[day.month - 1]!.slice(0, 3)}`;
}

/** `Mon 22 Mar 20:00` */
export function dateTimeIn(zone: string, ms: number): string {
  return `${dayIn(zone, ms)} ${timeIn(zone, ms)}`;
}

/** `Mon 22 Mar 2027 20:00` */
export function fullDateTimeIn(zone: string, ms: number): string {
  const local = localMinuteOf(zone, ms);
  return `${dayIn(zone, ms)} ${localDayOf(local).year} ${timeIn(zone, ms)}`;
}

/** `UTC+01:00` at that instant. */
export function offsetLabel(zone: string, ms: number): string {
  const offset = zoneClock(zone).offsetAt(Math.floor(ms / MINUTE_MS));
  const sign = offset < 0 ? '-' : '+';
  const abs = Math.abs(offset);
  return `UTC${sign}${pad(Math.floor(abs / 60))}:${pad(abs % 60)}`;
}

/** The date a week view starts on: the Monday of the week holding `date` (`YYYY-MM-DD`). */
export function mondayOf(date: string): string {
  const day = localDayOf(localMinuteOfDate(date));
  const back = (day.weekday + 6) % 7;
  return localDayOf(localMinuteOfDate(date) - back * DAY_MIN).date;
}

/** `date` moved by whole days. */
export function addDays(date: string, days: number): string {
  return localDayOf(localMinuteOfDate(date) + days * DAY_MIN).date;
}
