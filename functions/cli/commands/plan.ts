import { calendarDataEnding } from '../../engine/calendar/holidays.ts';
import { explainRows } from '../../engine/desired.ts';
import { withOverrideRows } from '../../engine/overrides.ts';
import { type DueAction, due, Planner, type SkippedAction } from '../../engine/planner.ts';
import { readConfigFile } from '../../stores/local-config.ts';
import { FileLedger } from '../../stores/local-ledger.ts';
import { COMMON_HELP, type Command, configPath, parseInstant, stringOption, writeJson } from '../command.ts';
import { EXIT_OK, UsageError } from '../io.ts';
import { renderTable } from '../table.ts';
import { stateDirOf } from './override.ts';

const DAY_MS = 86_400_000;

export const planCommand: Command = {
  name: 'plan',
  help: `Usage: nightshift plan [--from ISO] [--to ISO] [--explain] [--json] [--state DIR] [--config FILE]

Lists the actions that will fire in (from, to], sorted by time, then schedule id, with groups
expanded to target names. Times are ISO 8601 instants (2027-03-27T00:00:00Z, or with an offset
such as 2027-03-27T08:00:00+08:00; a bare date means midnight UTC). Default: the next 24 hours.

Options:
  --from ISO      start of the window, exclusive (default now)
  --to ISO        end of the window, inclusive (default from + 24 h)
  --explain       also show the state each row sets for each target ("desired"), the targets
                  for which another row at the same instant wins ("overruled": a hand-over
                  between two windows resolves to running), and the rows a calendar skipped,
                  with "skipped": "holiday 国庆节 (cn)"
  --json          print [{"at", "schedule", "action", "targets"}] on stdout; overrides in the
                  state folder that overlap the window are rows {"at", "override", "state",
                  "until", "targets", "reason"}
  --state DIR     the local state folder whose overrides are shown (default .nightshift/)
${COMMON_HELP}

A calendar whose holiday data ends within 60 days is reported on stderr.`,
  options: {
    from: { type: 'string' },
    to: { type: 'string' },
    json: { type: 'boolean' },
    explain: { type: 'boolean' },
    state: { type: 'string' },
  },
  async run(values, _positionals, io) {
    const fromText = stringOption(values, 'from');
    const toText = stringOption(values, 'to');
    const from = fromText ? parseInstant(fromText, '--from') : io.now();
    const to = toText ? parseInstant(toText, '--to') : new Date(from.getTime() + DAY_MS);
    if (to.getTime() <= from.getTime()) throw new UsageError('--to must be later than --from');
    if (to.getTime() - from.getTime() > 366 * DAY_MS)
      throw new UsageError('a plan may span at most 366 days');

    const config = await readConfigFile(configPath(values, io), { now: io.now(), from, to });
    for (const warning of calendarDataEnding(config, io.now()))
      io.stderr.write(`warning: ${warning.path}: ${warning.message}\n`);
    const plain = due(config, from, to);
    // Overrides beat the schedules, so the plan shows them, from the local state folder.
    const overrides = await new FileLedger(stateDirOf(values, io)).overrides(from.getTime());
    const rows = withOverrideRows<PlanRow>(
      values.explain
        ? withSkipped(explainRows(config, plain), new Planner(config).skippedByCalendar(from, to))
        : plain,
      overrides,
      from.getTime(),
      to.getTime(),
    );
    if (values.json) {
      writeJson(io, rows);
      return EXIT_OK;
    }
    const zoneOf = new Map(config.schedules.map((s) => [s.id, s.timezone ?? config.timezone ?? 'UTC']));
    const skippedCount = rows.filter((row) => 'skipped' in row).length;
    const skippedNote = values.explain ? `, ${skippedCount} skipped by a calendar` : '';
    io.stdout.write(
      `Plan for (${from.toISOString()}, ${to.toISOString()}]: ${rows.length - skippedCount} action(s)${skippedNote}\n\n`,
    );
    if (rows.length === 0) return EXIT_OK;
    io.stdout.write(
      renderTable(
        ['UTC', 'Local', 'Schedule', 'Action', 'Targets', ...(values.explain ? ['Sets'] : [])],
        rows.map((row) =>
          'override' in row
            ? [
                row.at.slice(0, 16).replace('T', ' '),
                formatLocal(row.at, config.timezone ?? 'UTC'),
                `override ${row.override}`,
                `${row.state} until ${row.until.slice(0, 16).replace('T', ' ')}`,
                row.targets.join(', '),
                ...(values.explain ? [`${row.state} (beats every schedule)`] : []),
              ]
            : [
                row.at.slice(0, 16).replace('T', ' '),
                formatLocal(row.at, zoneOf.get(row.schedule) ?? 'UTC'),
                row.schedule,
                row.action,
                row.targets.join(', '),
                ...(values.explain ? [setsText(row as ExplainedRow | SkippedAction)] : []),
              ],
        ),
      ),
    );
    return EXIT_OK;
  },
};

type ExplainedRow = ReturnType<typeof explainRows>[number];
type PlanRow = DueAction | ExplainedRow | SkippedAction;

function setsText(row: ExplainedRow | SkippedAction): string {
  if ('skipped' in row) return `nothing: skipped, ${row.skipped}`;
  const states = [...new Set(Object.values(row.desired))];
  const base =
    states.length === 1
      ? states[0]!
      : Object.entries(row.desired)
          .map(([t, s]) => `${t} ${s}`)
          .join(', ');
  return row.overruled
    ? `${base} (overruled at this instant: ${row.overruled.join(', ')} stays running)`
    : base;
}

/** Due and skipped rows in one list, by time and then schedule id, a due row before a skipped one. */
function withSkipped(rows: ExplainedRow[], skipped: SkippedAction[]): PlanRow[] {
  return [...rows, ...skipped].sort(
    (a, b) =>
      Date.parse(a.at) - Date.parse(b.at) ||
      (a.schedule < b.schedule ? -1 : a.schedule > b.schedule ? 1 : 0) ||
      Number('skipped' in a) - Number('skipped' in b),
  );
}

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatLocal(iso: string, zone: string): string {
  let format = formatters.get(zone);
  if (!format) {
    format = new Intl.DateTimeFormat('en-US', {
      timeZone: zone,
      hourCycle: 'h23',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      weekday: 'short',
      hour: '2-digit',
      minute: '2-digit',
      timeZoneName: 'short',
    });
    formatters.set(zone, format);
  }
  const parts = Object.fromEntries(format.formatToParts(new Date(iso)).map((p) => [p.type, p.value]));
  return `${parts.weekday} ${parts.year}-${parts.month}-${parts.day} ${parts.hour}:${parts.minute} ${zone} (${parts.timeZoneName})`;
}
