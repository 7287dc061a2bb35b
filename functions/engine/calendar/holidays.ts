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
 * Calendars used by an enabled schedule whose data ends before `now + days` (in UTC dates; a
 * day's difference across zones does not matter at this range). Without data a calendar would
 * silently fall back to Monday to Friday, so this is what `validate`, `plan` and the tick's
 * `CalendarDataEnding` metric report.
 */
export function calendarDataEnding(
  config: {
    calendars?: Readonly<Record<string, CalendarSpec>> | undefined;
    schedules: readonly { calendar?: string | undefined; enabled?: boolean | undefined }[];
  },
  now: Date | number,
  days = DATA_WARNING_DAYS,
): CalendarWarning[] {
  const used = new Set(
    config.schedules.filter((s) => s.enabled !== false && s.calendar).map((s) => s.calendar!),
  );
  const horizon = new Date(+now + days * 86_400_000).toISOString().slice(0, 10);
  const warnings: CalendarWarning[] = [];
  for (const [name, spec] of Object.entries(config.calendars ?? {})) {
    if (!used.has(name) || !spec.resolved) continue;
    const { until, source } = spec.resolved;
    if (until >= horizon) continue;
    const ended = until < new Date(+now).toISOString().slice(0, 10);
    warnings.push({
      path: `calendars.${name}`,
      until,
      message:
        `holiday data ${ended ? 'ended' : 'ends'} on ${until} (${source}), within ${days} days: after it ` +
        `"workdays" means Monday to Friday and no public holiday is skipped. ` +
        (spec.country === 'CN'
          ? 'Update chinese-days once the next official schedule is published (or add extraHolidays and extraWorkdays), then validate and deploy again.'
          : 'Push or deploy the config again to carry data for the next years.'),
    });
  }
  return warnings;
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
