import { createRequire } from 'node:module';
import type HolidaysClass from 'date-holidays';
import type { CalendarData, CalendarSpec } from './holidays.ts';

/**
 * Where holiday dates come from: maintained libraries, never tables typed in here.
 *
 * - `CN`: chinese-days, which follows the State Council's yearly schedule, make-up working days
 *   (调休上班) included. Its data ends with the last published year.
 * - every other country: date-holidays (rules, so it has no end), public holidays only, with
 *   observed substitute days; a holiday that starts at noon (a half day) is not a day off.
 *
 * date-holidays alone bundles to about 1.4 MiB, more than a Lambda bundle's whole budget, so this
 * module is loaded only where the config is validated for people: the CLI, `cdk synth` and
 * `config push`. They resolve the dates into the document (`calendars.<name>.resolved`), which is
 * all the Lambdas read. Never import this module from a handler (the bundle test checks).
 */

const require = createRequire(import.meta.url);

// Loaded on first use, not at import: date-holidays and its data take a second or more to load,
// which no command should pay for a config without calendars.
let holidaysClass: typeof HolidaysClass | undefined;
const Holidays = (): typeof HolidaysClass => {
  holidaysClass ??= require('date-holidays') as typeof HolidaysClass;
  return holidaysClass;
};

interface ChineseDaysData {
  holidays: Record<string, string>;
  workdays: Record<string, string>;
}

let chineseDays: { data: ChineseDaysData; version: string; firstYear: number; lastYear: number } | undefined;

function loadChineseDays() {
  if (!chineseDays) {
    const data = require('chinese-days/dist/chinese-days.json') as ChineseDaysData;
    const version = (require('chinese-days/package.json') as { version: string }).version;
    const years = Object.keys(data.holidays).map((date) => Number(date.slice(0, 4)));
    chineseDays = { data, version, firstYear: Math.min(...years), lastYear: Math.max(...years) };
  }
  return chineseDays;
}

let dateHolidaysVersion: string | undefined;
const dateHolidaysSource = () => {
  dateHolidaysVersion ??= (require('date-holidays/package.json') as { version: string }).version;
  return `date-holidays ${dateHolidaysVersion}`;
};

let registry: HolidaysClass | undefined;
const holidaysRegistry = () => {
  registry ??= new (Holidays())();
  return registry;
};

export interface SourceProblem {
  field: 'country' | 'state';
  message: string;
}

/** Whether the libraries know this country (and state); a problem names the field at fault. */
export function checkCalendarSource(
  spec: Pick<CalendarSpec, 'country' | 'state'>,
): SourceProblem | undefined {
  const { country, state } = spec;
  if (country === 'CN') {
    if (state !== undefined)
      return {
        field: 'state',
        message: `CN calendars have no states (the official schedule is national); remove "state"`,
      };
    return undefined;
  }
  const countries = holidaysRegistry().getCountries('en');
  if (!Object.hasOwn(countries, country)) {
    return {
      field: 'country',
      message: `unknown country "${country}": use an ISO 3166-1 alpha-2 code that ${dateHolidaysSource()} knows (${Object.keys(countries).length} countries, e.g. "DE", "US", "GB", "JP"; "CN" uses chinese-days)`,
    };
  }
  if (state !== undefined) {
    const states = holidaysRegistry().getStates(country, 'en') ?? {};
    if (!Object.hasOwn(states, state)) {
      const known = Object.keys(states);
      return {
        field: 'state',
        message:
          known.length === 0
            ? `${country} has no states in ${dateHolidaysSource()}; remove "state"`
            : `unknown state "${state}" of ${country} (one of ${known.join(', ')})`,
      };
    }
  }
  return undefined;
}

/**
 * The holidays and make-up working days of a calendar for the local years `firstYear` to
 * `lastYear`, as far as its library has data. Call {@link checkCalendarSource} first.
 */
export function resolveCalendarData(
  spec: Pick<CalendarSpec, 'country' | 'state'>,
  firstYear: number,
  lastYear: number,
): CalendarData {
  if (spec.country === 'CN') return resolveChina(firstYear, lastYear);
  const calendar = new (Holidays())(spec.country, spec.state ?? '', { types: ['public'] });
  const holidays: Record<string, string> = {};
  for (let year = firstYear; year <= lastYear; year++) {
    for (const holiday of calendar.getHolidays(year)) {
      if (holiday.type !== 'public') continue;
      // "2026-12-24 14:00:00": a half day off is still a working day.
      if (!holiday.date.endsWith(' 00:00:00')) continue;
      const days = Math.max(1, Math.round((+holiday.end - +holiday.start) / 86_400_000));
      const first = Date.parse(`${holiday.date.slice(0, 10)}T00:00:00Z`);
      for (let i = 0; i < days; i++) {
        const date = new Date(first + i * 86_400_000).toISOString().slice(0, 10);
        holidays[date] = holidays[date] ? `${holidays[date]}, ${holiday.name}` : holiday.name;
      }
    }
  }
  return {
    source: dateHolidaysSource(),
    from: `${firstYear}-01-01`,
    until: `${lastYear}-12-31`,
    holidays: sortKeys(holidays),
    workdays: {},
  };
}

function resolveChina(firstYear: number, lastYear: number): CalendarData {
  const { data, version, firstYear: dataFirst, lastYear: dataLast } = loadChineseDays();
  const from = Math.max(firstYear, dataFirst);
  const until = Math.min(lastYear, dataLast);
  const inSpan = (date: string) => {
    const year = Number(date.slice(0, 4));
    return year >= from && year <= until;
  };
  // chinese-days names a day "National Day,国庆节,3": English, Chinese, length of the holiday.
  const chineseName = (text: string) => text.split(',')[1] ?? text;
  const pick = (source: Record<string, string>) =>
    sortKeys(
      Object.fromEntries(
        Object.entries(source)
          .filter(([date]) => inSpan(date))
          .map(([date, text]) => [date, chineseName(text)]),
      ),
    );
  return {
    source: `chinese-days ${version}`,
    // No data at all for the span: an empty one that ends before it begins, so it warns.
    from: `${from}-01-01`,
    until: until >= from ? `${until}-12-31` : `${firstYear - 1}-12-31`,
    holidays: pick(data.holidays),
    workdays: pick(data.workdays),
  };
}

function sortKeys(record: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(record).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}
