import { calendarDataEnding, knownUntil, WorkCalendar } from '../../engine/calendar/holidays.ts';
import { localDayOf, MINUTE_MS } from '../../engine/calendar/zone.ts';
import type { CalendarConfig } from '../../engine/config/schema.ts';
import { didYouMean } from '../../engine/suggest.ts';
import { readConfigFile } from '../../stores/local-config.ts';
import { COMMON_HELP, type Command, configPath, stringOption, writeJson } from '../command.ts';
import { EXIT_OK, UsageError } from '../io.ts';
import { renderTable } from '../table.ts';

const WEEKDAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'] as const;

export const calendarCommand: Command = {
  name: 'calendar',
  allowPositionals: true,
  help: `Usage: nightshift calendar show [NAME] [--year YEAR] [--json] [--config FILE]

Shows which dates Nightshift knows for a calendar of the config in one year (default: this
year): the days off (public holidays and extraHolidays) and the working days that fall on a
weekend or a holiday (China's make-up working days and extraWorkdays), each with where it comes
from. A year the holiday library has no data for says so: there only extraHolidays and
extraWorkdays apply, and every Monday to Friday is a working day. Without NAME it lists the
calendars and how far their data goes.

Options:
  --year YEAR     the year to show (default: this year)
  --json          print {"calendar", "country", "year", "source", "dataUntil", "knownUntil",
                  "covered", "daysOff": [{"date", "name", "from"}], "workdays": [...]}
${COMMON_HELP}`,
  options: { year: { type: 'string' }, json: { type: 'boolean' } },
  async run(values, positionals, io) {
    const [verb, name, ...extra] = positionals;
    if (verb !== 'show' || extra.length > 0) throw new UsageError('say "calendar show [NAME] [--year YEAR]"');
    const yearText = stringOption(values, 'year') ?? String(io.now().getUTCFullYear());
    if (!/^\d{4}$/.test(yearText))
      throw new UsageError(`--year must be a year such as 2027, got "${yearText}"`);
    const year = Number(yearText);
    const config = await readConfigFile(configPath(values, io), {
      now: io.now(),
      from: Date.UTC(year, 0, 1),
      to: Date.UTC(year, 11, 31),
    });
    const calendars = config.calendars ?? {};
    if (name === undefined) return list(calendars, io, values.json === true);
    const spec = calendars[name];
    if (!spec) {
      const known = Object.keys(calendars);
      throw new UsageError(
        known.length === 0
          ? 'the config has no "calendars"'
          : `unknown calendar "${name}"${didYouMean(name, known)} (the config has ${known.join(', ')})`,
      );
    }
    const shown = yearOf(name, spec, year);
    if (values.json) {
      writeJson(io, shown);
      return EXIT_OK;
    }
    io.stdout.write(
      `Calendar ${name}: ${spec.country}${spec.state ? `-${spec.state}` : ''}, dates from ${shown.source} ` +
        `(data until ${shown.dataUntil}${shown.knownUntil !== shown.dataUntil ? `, known until ${shown.knownUntil} with the config's extra dates` : ''})\n`,
    );
    if (!shown.covered)
      io.stdout.write(
        `\n${year}: ${shown.source} has no data for ${year}. Only extraHolidays and extraWorkdays below apply; ` +
          'every other Monday to Friday is a working day and no public holiday is skipped. ' +
          'Add the dates of the official notice for the year to extraHolidays and extraWorkdays.\n',
      );
    io.stdout.write(`\nDays off in ${year} (weekends not listed): ${shown.daysOff.length}\n`);
    if (shown.daysOff.length > 0)
      io.stdout.write(
        renderTable(
          ['Date', 'Day', 'Holiday', 'From'],
          shown.daysOff.map((d) => [d.date, weekdayOf(d.date), d.name, d.from]),
        ),
      );
    io.stdout.write(`\nWorking days on a weekend or holiday in ${year}: ${shown.workdays.length}\n`);
    if (shown.workdays.length > 0)
      io.stdout.write(
        renderTable(
          ['Date', 'Day', 'Why', 'From'],
          shown.workdays.map((d) => [d.date, weekdayOf(d.date), d.why, d.from]),
        ),
      );
    for (const warning of calendarDataEnding(
      { calendars: { [name]: spec }, schedules: [{ calendar: name }] },
      io.now(),
    ))
      io.stderr.write(`warning: ${warning.path}: ${warning.message}\n`);
    return EXIT_OK;
  },
};

interface YearShown {
  calendar: string;
  country: string;
  state?: string;
  year: number;
  source: string;
  dataUntil: string;
  knownUntil: string;
  /** Whether the library has data for the year. */
  covered: boolean;
  daysOff: { date: string; name: string; from: string }[];
  workdays: { date: string; why: string; from: string }[];
}

/** Every day of a year as the calendar judges it, keeping those that are not plain weekdays or weekends. */
function yearOf(name: string, spec: CalendarConfig, year: number): YearShown {
  const data = spec.resolved;
  const calendar = new WorkCalendar(name, spec);
  const source = data?.source ?? 'no holiday library';
  const extraHolidays = new Set(spec.extraHolidays ?? []);
  const extraWorkdays = new Set(spec.extraWorkdays ?? []);
  const daysOff: YearShown['daysOff'] = [];
  const workdays: YearShown['workdays'] = [];
  const first = Date.UTC(year, 0, 1) / MINUTE_MS;
  for (let minute = first; localDayOf(minute).year === year; minute += 1440) {
    const day = localDayOf(minute);
    const weekend = day.weekday === 0 || day.weekday === 6;
    const extraOff = extraHolidays.has(day.date) || extraHolidays.has(day.monthDay);
    const extraOn = extraWorkdays.has(day.date) || extraWorkdays.has(day.monthDay);
    const holiday = calendar.holiday(day);
    if (!calendar.isWorkday(day) && (holiday !== undefined || !weekend)) {
      daysOff.push({
        date: day.date,
        name: extraOff ? '' : (holiday ?? ''),
        from: extraOff ? 'extraHolidays' : source,
      });
    } else if (calendar.isWorkday(day) && (weekend || data?.holidays[day.date] !== undefined)) {
      workdays.push({
        date: day.date,
        why: extraOn ? '' : (data?.workdays[day.date] ?? ''),
        from: extraOn ? 'extraWorkdays' : source,
      });
    }
  }
  const dataUntil = data?.until ?? `${year - 1}-12-31`;
  return {
    calendar: name,
    country: spec.country,
    ...(spec.state ? { state: spec.state } : {}),
    year,
    source,
    dataUntil,
    knownUntil: knownUntil(spec) ?? dataUntil,
    covered: data !== undefined && data.from <= `${year}-01-01` && data.until >= `${year}-12-31`,
    daysOff,
    workdays,
  };
}

function list(calendars: Record<string, CalendarConfig>, io: Parameters<Command['run']>[2], json: boolean) {
  const rows = Object.entries(calendars).map(([name, spec]) => ({
    calendar: name,
    country: spec.state ? `${spec.country}-${spec.state}` : spec.country,
    source: spec.resolved?.source ?? '',
    dataUntil: spec.resolved?.until ?? '',
    knownUntil: knownUntil(spec) ?? '',
  }));
  if (json) writeJson(io, { calendars: rows });
  else if (rows.length === 0) io.stdout.write('The config has no "calendars".\n');
  else
    io.stdout.write(
      renderTable(
        ['Calendar', 'Country', 'Source', 'Data until', 'Known until'],
        rows.map((r) => [r.calendar, r.country, r.source, r.dataUntil, r.knownUntil]),
      ),
    );
  return EXIT_OK;
}

const weekdayOf = (date: string) => WEEKDAYS[new Date(`${date}T00:00:00Z`).getUTCDay()]!;
