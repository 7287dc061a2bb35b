import type { LocalDay } from './zone.ts';

/**
 * Holiday calendars as the engine sees them: plain dates, no library. The dates come from the
 * holiday libraries (`holiday-sources.ts`, which only the CLI, `cdk synth` and `config push`
 * load) and travel in the config document itself (`calendars.<name>.resolved`), so the Lambda
 * bundles carry neither the libraries nor their data.
 */

/** A calendar's dates for a span of years, resolved from a holiday library. */
export interface CalendarData {
  /** The library and version the dates come from, e.g. `chinese-days 1.5.7`. */
  source: string;
  /** First and last local date (`YYYY-MM-DD`) the data covers. */
  from: string;
  until: string;
  /** Public holidays in the span: date → name. */
  holidays: Record<string, string>;
  /** Official working days that fall on a weekend (China's make-up working days): date → why. */
  workdays: Record<string, string>;
}

/** The part of a calendar config the engine reads. */
export interface CalendarSpec {
  country: string;
  state?: string | undefined;
  extraHolidays?: readonly string[] | undefined;
  extraWorkdays?: readonly string[] | undefined;
  resolved?: CalendarData | undefined;
}

/** How long ahead a calendar must have data before `validate`, `plan` and the tick warn. */
export const DATA_WARNING_DAYS = 60;

/**
 * One calendar, compiled: what a local date is. Inside the span of its data a date is a holiday
 * or a working day as the data says; outside it (and with no data at all) the week is Monday to
 * Friday with no holidays. `extraHolidays` and `extraWorkdays` (`YYYY-MM-DD`, or `MM-DD` for every
 * year) apply everywhere and win over the data.
 */
export class WorkCalendar {
  readonly name: string;
  private readonly data: CalendarData | undefined;
  private readonly extraHolidays: ReadonlySet<string>;
  private readonly extraWorkdays: ReadonlySet<string>;

  constructor(name: string, spec: CalendarSpec) {
    this.name = name;
    this.data = spec.resolved;
    this.extraHolidays = new Set(spec.extraHolidays ?? []);
    this.extraWorkdays = new Set(spec.extraWorkdays ?? []);
  }

  /** The name of the public holiday on this local day, or undefined on any other day. */
  holiday(day: LocalDay): string | undefined {
    if (
      this.extraWorkdays.size > 0 &&
      (this.extraWorkdays.has(day.date) || this.extraWorkdays.has(day.monthDay))
    )
      return undefined;
    if (
      this.extraHolidays.size > 0 &&
      (this.extraHolidays.has(day.date) || this.extraHolidays.has(day.monthDay))
    )
      return 'extraHolidays';
    return this.data?.holidays[day.date];
  }

  /** Whether this local day is a working day: Monday to Friday, minus holidays, plus make-up days. */
  isWorkday(day: LocalDay): boolean {
    if (
      this.extraWorkdays.size > 0 &&
      (this.extraWorkdays.has(day.date) || this.extraWorkdays.has(day.monthDay))
    )
      return true;
    if (this.holiday(day) !== undefined) return false;
    if (this.data?.workdays[day.date] !== undefined) return true;
    return day.weekday >= 1 && day.weekday <= 5;
  }

  /** Why a row of this calendar's schedule was left out on this day, for `plan --explain`. */
  skipReason(day: LocalDay): string | undefined {
    const name = this.holiday(day);
    return name === undefined ? undefined : `holiday ${name} (${this.name})`;
  }
}

/** Compiles every calendar of a config. */
export function compileCalendars(
  calendars: Readonly<Record<string, CalendarSpec>> | undefined,
): Map<string, WorkCalendar> {
  const out = new Map<string, WorkCalendar>();
  for (const [name, spec] of Object.entries(calendars ?? {})) out.set(name, new WorkCalendar(name, spec));
  return out;
}

export interface CalendarWarning {
  /** JSON path of the calendar, e.g. `calendars.cn` */
  path: string;
  message: string;
  /** The last date with data. */
  until: string;
}

/**
 * The last date a calendar's dates are known to: its data's end, or the end of a later year whose
 * dates the config already added itself (`extraHolidays` or `extraWorkdays` naming full dates of
 * the years right after the data, as the official notice gives them).
 */
export function knownUntil(spec: CalendarSpec): string | undefined {
  if (!spec.resolved) return undefined;
  let until = spec.resolved.until;
  const bridged = new Set(
    [...(spec.extraHolidays ?? []), ...(spec.extraWorkdays ?? [])]
      .filter((d) => /^\d{4}-\d{2}-\d{2}$/.test(d))
      .map((d) => Number(d.slice(0, 4))),
  );
  for (let year = Number(until.slice(0, 4)) + 1; bridged.has(year); year++) until = `${year}-12-31`;
  return until;
}

/**
 * Calendars used by an enabled schedule whose dates end before `now + days`, or before `until`
 * (the end of a plan) when that is later: in UTC dates, as a day's difference across zones does
 * not matter at this range. Without data a calendar would silently fall back to Monday to Friday,
 * so `validate`, `plan`, `config push`, `cdk synth` and the tick's `CalendarDataEnding` metric
 * report it, saying exactly what to add.
 */
export function calendarDataEnding(
  config: {
    calendars?: Readonly<Record<string, CalendarSpec>> | undefined;
    schedules: readonly { calendar?: string | undefined; enabled?: boolean | undefined }[];
  },
  now: Date | number,
  days = DATA_WARNING_DAYS,
  until?: Date | number,
): CalendarWarning[] {
  const used = new Set(
    config.schedules.filter((s) => s.enabled !== false && s.calendar).map((s) => s.calendar!),
  );
  const soon = new Date(+now + days * 86_400_000).toISOString().slice(0, 10);
  const planned = until === undefined ? undefined : new Date(+until).toISOString().slice(0, 10);
  const horizon = planned !== undefined && planned > soon ? planned : soon;
  const warnings: CalendarWarning[] = [];
  for (const [name, spec] of Object.entries(config.calendars ?? {})) {
    if (!used.has(name) || !spec.resolved) continue;
    const known = knownUntil(spec)!;
    if (known >= horizon) continue;
    const { source } = spec.resolved;
    const ended = known < new Date(+now).toISOString().slice(0, 10);
    const when = known < soon ? `within ${days} days` : `before the end of the plan (${planned})`;
    warnings.push({
      path: `calendars.${name}`,
      until: known,
      message:
        `holiday data ${ended ? 'ended' : 'ends'} on ${known} (${source}), ${when}: after it ` +
        `"workdays" means Monday to Friday and no public holiday is skipped. ` +
        (spec.country === 'CN'
          ? chinaAdvice(name, spec, known)
          : 'Push or deploy the config again to carry data for the next years.'),
    });
  }
  return warnings;
}

/**
 * What to do when China's data ends: the State Council publishes next year's schedule a year at
 * a time (usually in November), and chinese-days follows it only in a later release.
 */
function chinaAdvice(name: string, spec: CalendarSpec, known: string): string {
  const next = Number(known.slice(0, 4)) + 1;
  return (
    `Add the dates of the official ${next} holiday notice to calendars.${name}: the days off to "extraHolidays", ` +
    `the make-up working days to "extraWorkdays"${exampleOf(spec.resolved!, Number(known.slice(0, 4)))}; ` +
    `once extraHolidays names ${next} dates this warning stops (or install a chinese-days release that carries ${next}: ` +
    `npm install --save-exact chinese-days@latest). "nightshift calendar show ${name} --year ${next}" lists what is known.`
  );
}

/** The longest holiday of the data's last year (Spring Festival) and its make-up days, as the shape to copy. */
function exampleOf(data: CalendarData, year: number): string {
  const days = Object.keys(data.holidays)
    .filter((d) => d.startsWith(`${year}-`))
    .sort();
  if (days.length === 0) return ' (each a "YYYY-MM-DD" date)';
  const runs: string[][] = [];
  for (const d of days) {
    const run = runs.at(-1);
    if (run && Date.parse(`${d}T00:00:00Z`) - Date.parse(`${run.at(-1)}T00:00:00Z`) === 86_400_000)
      run.push(d);
    else runs.push([d]);
  }
  const run = runs.reduce((a, b) => (b.length > a.length ? b : a));
  const first = Date.parse(`${run[0]}T00:00:00Z`) - 7 * 86_400_000;
  const last = Date.parse(`${run.at(-1)}T00:00:00Z`) + 7 * 86_400_000;
  const workdays = Object.keys(data.workdays)
    .filter((d) => Date.parse(`${d}T00:00:00Z`) >= first && Date.parse(`${d}T00:00:00Z`) <= last)
    .sort();
  const list = (dates: string[]) =>
    dates.length > 3
      ? `"${dates[0]}", "${dates[1]}", …, "${dates.at(-1)}"`
      : dates.map((d) => `"${d}"`).join(', ');
  return (
    ` (as the ${year} notice gave ${data.holidays[run[0]!]}: "extraHolidays": [${list(run)}]` +
    (workdays.length > 0 ? `, "extraWorkdays": [${list(workdays)}]` : '') +
    ')'
  );
}

/**
 * The runtime's check of a deployed document: every calendar carries its resolved dates. The
 * Lambdas have no holiday library, so a calendar without them would quietly mean Monday to
 * Friday with no holidays; the validator refuses such a version instead.
 */
export function checkCalendarsCarryData(input: unknown): { path: string; message: string }[] {
  const calendars = (input as { calendars?: unknown } | null)?.calendars;
  if (typeof calendars !== 'object' || calendars === null || Array.isArray(calendars)) return [];
  return Object.entries(calendars)
    .filter(([, calendar]) => (calendar as { resolved?: unknown } | null)?.resolved === undefined)
    .map(([name]) => ({
      path: `calendars.${name}`,
      message:
        'carries no resolved holiday dates; deploy the config with "cdk deploy" or "nightshift config push", which add them',
    }));
}
