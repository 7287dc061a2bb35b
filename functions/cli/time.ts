import { MINUTE_MS, ZoneClock } from '../engine/calendar/zone.ts';
import { isoInstantProblem, parseIsoInstant } from '../engine/instants.ts';
import { UsageError } from './io.ts';

const DAY_MIN = 1440;

/**
 * Reads a TIME option: an ISO 8601 instant with a zone (`2027-03-29T23:00:00Z`), or a local wall
 * time in `zone`: `23:00` (the next 23:00, or with `direction: 'past'` the last one),
 * `today 23:00`, `tomorrow 08:00`, `2027-03-29 23:00`. Local times that a DST gap skips are
 * refused rather than moved: the person should see what they asked for.
 */
export function parseTime(
  text: string,
  option: string,
  zone: string,
  now: number,
  direction: 'future' | 'past' = 'future',
): number {
  const iso = parseIsoInstant(text);
  if (iso !== undefined) return iso;
  if (/^\d{4}-\d{2}-\d{2}T/.test(text)) {
    // An ISO instant that is no instant (2027-02-30, 25:00, no zone): say why, never roll it over.
    throw new UsageError(`${option} "${text}": ${isoInstantProblem(text)}`);
  }
  const clock = new ZoneClock(zone);
  const localNow = clock.localMinute(Math.floor(now / MINUTE_MS));
  const today = Math.floor(localNow / DAY_MIN) * DAY_MIN;
  const match = /^(?:(today|tomorrow|yesterday)\s+|(\d{4})-(\d{2})-(\d{2})[T\s]+)?(\d{1,2}):(\d{2})$/i.exec(
    text.trim(),
  );
  if (!match)
    throw new UsageError(
      `${option} must be an ISO 8601 instant (2027-03-29T23:00:00Z) or a local time in ${zone} such as 23:00, "tomorrow 08:00" or "2027-03-29 23:00", got "${text}"`,
    );
  const [, word, year, month, day, hh, mm] = match;
  const hour = Number(hh);
  const minute = Number(mm);
  if (hour > 23 || minute > 59) throw new UsageError(`${option}: ${hh}:${mm} is not a time of day`);
  const minuteOfDay = hour * 60 + minute;
  let local: number;
  if (year) {
    // setUTCFullYear, not Date.UTC: that reads the years 0 to 99 as 1900 to 1999.
    const date = new Date(0).setUTCFullYear(Number(year), Number(month) - 1, Number(day));
    if (new Date(date).getUTCDate() !== Number(day))
      throw new UsageError(`${option}: no such date "${text}"`);
    local = date / MINUTE_MS + minuteOfDay;
  } else if (word) {
    const shift = { today: 0, tomorrow: 1, yesterday: -1 }[word.toLowerCase() as 'today'];
    local = today + shift * DAY_MIN + minuteOfDay;
  } else {
    local = today + minuteOfDay;
    if (direction === 'future' && local <= localNow) local += DAY_MIN;
    if (direction === 'past' && local > localNow) local -= DAY_MIN;
  }
  return utcOfLocal(clock, local, option, text);
}

/** The UTC instant of a local minute; the first one when a DST overlap repeats it. */
function utcOfLocal(clock: ZoneClock, local: number, option: string, text: string): number {
  const candidates = [clock.offsetAt(local - DAY_MIN), clock.offsetAt(local + DAY_MIN)]
    .map((offset) => local - offset)
    .filter((epochMinute) => clock.localMinute(epochMinute) === local)
    .sort((a, b) => a - b);
  if (candidates.length === 0)
    throw new UsageError(
      `${option}: "${text}" does not exist in ${clock.zone} (the clocks skip it that day)`,
    );
  return candidates[0]! * MINUTE_MS;
}

/** `2027-03-29 23:00 Europe/Berlin (2027-03-29T21:00:00Z)`: what a person asked for, both ways. */
export function bothWays(ms: number, zone: string): string {
  const clock = new ZoneClock(zone);
  const local = clock.localMinute(Math.floor(ms / MINUTE_MS));
  const d = new Date(local * MINUTE_MS).toISOString();
  return `${d.slice(0, 10)} ${d.slice(11, 16)} ${zone} (${new Date(ms).toISOString().replace('.000Z', 'Z')})`;
}
