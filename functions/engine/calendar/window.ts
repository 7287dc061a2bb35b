import { CalendarSyntaxError, isWeekday, type TimeRule, WORKDAYS, type Workdays } from './rule.ts';
import type { LocalDay } from './zone.ts';

const DAY_NAMES = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'];

export interface CompiledWindow {
  open: TimeRule;
  close: TimeRule;
}

const compiled = new Map<string, CompiledWindow>();
const CACHE_LIMIT = 20_000;

/**
 * Compiles a window such as `Mon-Fri 08:00-20:00`, `Sat-Mon 22:00-06:00`, `08:00-24:00` (every
 * day) or `workdays 09:00-19:00` (the working days of the schedule's calendar). The closing belongs to the day the window opened, so an overnight window or one ending at
 * `24:00` closes on the next local day but is skipped or kept together with its opening.
 */
export function compileWindow(text: string): CompiledWindow {
  // Windows are immutable, as cron rules are: validation and planning share one compilation.
  let window = compiled.get(text);
  if (!window) {
    window = parseWindow(text);
    if (compiled.size >= CACHE_LIMIT) compiled.clear();
    compiled.set(text, window);
  }
  return window;
}

function parseWindow(text: string): CompiledWindow {
  const match = /^\s*(?:(\S+)\s+)?(\d{2}):(\d{2})\s*-\s*(\d{2}):(\d{2})\s*$/.exec(text);
  if (!match) {
    throw new CalendarSyntaxError(
      `${JSON.stringify(text)}: expected "DAYS HH:MM-HH:MM", e.g. "Mon-Fri 08:00-20:00", "Sat,Sun 22:00-06:00" or "workdays 09:00-19:00"`,
    );
  }
  const [, daysText, sh, sm, eh, em] = match;
  const workdays = daysText?.toLowerCase() === WORKDAYS;
  const days =
    daysText === undefined || workdays ? new Array<boolean>(7).fill(true) : parseDays(daysText, text);
  const start = toMinute(Number(sh), Number(sm), false, text);
  const end = toMinute(Number(eh), Number(em), true, text);
  if (start === end)
    throw new CalendarSyntaxError(`${JSON.stringify(text)}: the window opens and closes at once`);

  const overnight = end <= start || end === 1440;
  const onDay = workdays
    ? (day: LocalDay, calendar?: Workdays) => (calendar ? calendar.isWorkday(day) : isWeekday(day))
    : (day: LocalDay) => days[day.weekday] === true;
  return {
    open: { minutesOfDay: [start], dayShift: 0, matchesDay: onDay, usesWorkdays: workdays },
    close: {
      minutesOfDay: [end % 1440],
      dayShift: overnight ? 1 : 0,
      matchesDay: onDay,
      usesWorkdays: workdays,
    },
  };
}

function toMinute(hour: number, minute: number, isEnd: boolean, text: string): number {
  if (hour === 24 && minute === 0) {
    if (isEnd) return 1440;
    throw new CalendarSyntaxError(`${JSON.stringify(text)}: 24:00 may only end a window`);
  }
  if (hour > 23 || minute > 59) {
    throw new CalendarSyntaxError(
      `${JSON.stringify(text)}: ${String(hour).padStart(2, '0')}:${String(minute).padStart(2, '0')} is not a time of day`,
    );
  }
  return hour * 60 + minute;
}

function parseDays(list: string, text: string): boolean[] {
  const days = new Array<boolean>(7).fill(false);
  if (list === '*') return days.fill(true);
  for (const item of list.split(',')) {
    const [from, to, extra] = item.split('-');
    if (extra !== undefined || from === undefined) throw badDay(item, text);
    const first = dayIndex(from, text);
    const last = to === undefined ? first : dayIndex(to, text);
    // Ranges may wrap around the week: Sat-Mon is Saturday, Sunday, Monday.
    for (let d = first; ; d = (d + 1) % 7) {
      days[d] = true;
      if (d === last) break;
    }
  }
  return days;
}

function dayIndex(name: string, text: string): number {
  const index = DAY_NAMES.indexOf(name.toLowerCase());
  if (index < 0) throw badDay(name, text);
  return index;
}

function badDay(item: string, text: string): CalendarSyntaxError {
  return new CalendarSyntaxError(
    `${JSON.stringify(text)}: ${JSON.stringify(item)} is not a day or day range (use Mon, Tue, Wed, Thu, Fri, Sat, Sun, e.g. "Mon-Fri" or "Sat,Sun", or "workdays" alone for a calendar's working days)`,
  );
}
