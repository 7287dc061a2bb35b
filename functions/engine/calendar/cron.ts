import { CronPattern } from 'croner';
import { MONTH_NAMES } from './months.ts';
import { CalendarSyntaxError, isWeekday, type TimeRule, WORKDAYS } from './rule.ts';
import type { LocalDay } from './zone.ts';

/** croner encodes "#n" occurrences as bits 1..16 and "#L" as 32 in its day-of-week array. */
const NTH_LAST = 32;
const ANY_OCCURRENCE = 63;

const compiled = new Map<string, TimeRule>();
const CACHE_LIMIT = 20_000;

/**
 * Parses a five-field cron expression with croner (names, lists, ranges, steps, `L`, `DOW#n`)
 * and compiles it into a {@link TimeRule}. Only croner's parser is used: firing times are decided
 * by our own matcher, because the DST rules in the contract differ from croner's.
 */
export function compileCron(expression: string): TimeRule {
  // Rules are immutable, and configs repeat expressions: validation and planning share one parse.
  let rule = compiled.get(expression);
  if (!rule) {
    rule = parseCron(expression);
    if (compiled.size >= CACHE_LIMIT) compiled.clear();
    compiled.set(expression, rule);
  }
  return rule;
}

function parseCron(expression: string): TimeRule {
  const text = expression.trim();
  const fields = text.split(/\s+/);
  if (fields.length !== 5 || text.startsWith('@')) {
    throw new CalendarSyntaxError(
      `expected five fields "minute hour day-of-month month day-of-week", got ${JSON.stringify(expression)}`,
    );
  }
  // "workdays" in the day-of-week field: a restricted field (so classic cron's either-day rule
  // holds) whose days the schedule's calendar decides at match time.
  const workdays = fields[4]!.toLowerCase() === WORKDAYS;
  if (workdays) fields[4] = 'MON-FRI';
  checkDialect(expression, fields);
  let pattern: CronPattern;
  try {
    pattern = new CronPattern(fields.join(' '), undefined, { mode: '5-part' });
  } catch (error) {
    const message = error instanceof Error ? error.message.replace(/^CronPattern:\s*/, '') : String(error);
    throw new CalendarSyntaxError(`${JSON.stringify(expression)}: ${message}`, { cause: error });
  }
  if (pattern.nearestWeekdays.some(Boolean) || pattern.lastWeekday) {
    throw new CalendarSyntaxError(`${JSON.stringify(expression)}: "W" is not supported`);
  }

  const minutesOfDay: number[] = [];
  pattern.hour.forEach((hourOn, hour) => {
    if (!hourOn) return;
    pattern.minute.forEach((minuteOn, minute) => {
      if (minuteOn) minutesOfDay.push(hour * 60 + minute);
    });
  });
  if (minutesOfDay.length === 0) throw new CalendarSyntaxError(`${JSON.stringify(expression)} never matches`);

  const months = pattern.month.map(Boolean);
  const daysOfMonth = pattern.day.map(Boolean);
  const lastDayOfMonth = pattern.lastDayOfMonth;
  const weekdays = pattern.dayOfWeek.slice(0, 7);
  // Classic cron: when both day fields are restricted, either may match; otherwise both must.
  const eitherDay = !pattern.starDOM && !pattern.starDOW;

  const domMatches = (day: LocalDay): boolean =>
    daysOfMonth[day.day - 1] === true || (lastDayOfMonth && day.day === day.daysInMonth);
  const dowMatches = (day: LocalDay): boolean => {
    const bits = weekdays[day.weekday] ?? 0;
    if (bits === 0) return false;
    if (bits === ANY_OCCURRENCE) return true;
    const nth = Math.ceil(day.day / 7);
    if (bits & (1 << (nth - 1))) return true;
    return (bits & NTH_LAST) !== 0 && day.day + 7 > day.daysInMonth;
  };

  if (workdays) {
    return {
      minutesOfDay,
      dayShift: 0,
      usesWorkdays: true,
      matchesDay(day, calendar) {
        if (!months[day.month - 1]) return false;
        const dow = calendar ? calendar.isWorkday(day) : isWeekday(day);
        return eitherDay ? domMatches(day) || dow : dow;
      },
    };
  }
  return {
    minutesOfDay,
    dayShift: 0,
    matchesDay(day) {
      if (!months[day.month - 1]) return false;
      return eitherDay ? domMatches(day) || dowMatches(day) : domMatches(day) && dowMatches(day);
    },
  };
}

/**
 * Why a valid cron expression can never fire, when the reason is a calendar fact: with the
 * weekday unrestricted only the listed days can fire, and the listed months may not have them
 * (`0 0 31 2 *`: February has no day 31). `validate` warns with it (design: a cron that never
 * fires is a warning, not an error).
 */
export function neverFiresReason(expression: string): string | undefined {
  let pattern: CronPattern;
  try {
    pattern = new CronPattern(expression.trim(), undefined, { mode: '5-part' });
  } catch {
    return undefined;
  }
  if (!pattern.starDOW || pattern.starDOM || pattern.lastDayOfMonth) return undefined;
  const months = pattern.month.map(Boolean);
  const daysOfMonth = pattern.day.map(Boolean);
  const impossible = MONTH_NAMES.filter(
    (_, m) => months[m] && !daysOfMonth.some((on, d) => on && d + 1 <= MAX_DAYS[m]!),
  );
  if (impossible.length === 0 || impossible.length !== months.filter(Boolean).length) return undefined;
  const days = daysOfMonth.flatMap((on, d) => (on ? [d + 1] : []));
  return `${listed(impossible, 'and')} ${impossible.length === 1 ? 'has' : 'have'} no day ${listed(days.map(String), 'or')}`;
}

/** The most days each month can have (February in a leap year). */
const MAX_DAYS = [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

const listed = (items: readonly string[], word: string): string =>
  items.length <= 1 ? (items[0] ?? '') : `${items.slice(0, -1).join(', ')} ${word} ${items.at(-1)}`;

/**
 * Refuses what croner accepts beyond the documented dialect, where its reading surprises: `5L`
 * or `L5` in the day of month mean "the 5th and the last day" to croner, `5L` in the day of week
 * "the last Friday" (Quartz), and `?` means `*`.
 */
function checkDialect(expression: string, fields: readonly string[]): void {
  const refuse = (message: string) => {
    throw new CalendarSyntaxError(`${JSON.stringify(expression)}: ${message}`);
  };
  if (fields.some((field) => field.includes('?'))) refuse('"?" is not part of this cron dialect; write "*"');
  for (const item of fields[2]!.split(',')) {
    if (/L/i.test(item) && item.toUpperCase() !== 'L') {
      const day = /^(\d+)L$|^L(\d+)$/i.exec(item);
      const n = day?.[1] ?? day?.[2];
      refuse(
        n
          ? `"${item}": L (the last day of the month) stands alone; for day ${n} and the last day write "${n},L"`
          : `"${item}": L (the last day of the month) stands alone, as a list item such as "1,L"`,
      );
    }
  }
  for (const item of fields[4]!.split(',')) {
    if (/L/i.test(item.replace(/#L$/i, ''))) {
      refuse(`"${item}": for the last such weekday of the month write "5#L" (or "FRI#L")`);
    }
  }
}
