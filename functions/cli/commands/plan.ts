import { calendarDataEnding, DATA_WARNING_DAYS } from '../../engine/calendar/holidays.ts';
import { explainRows } from '../../engine/desired.ts';
import { type Override, type OverrideRow, withOverrideRows } from '../../engine/overrides.ts';
import { explainOverrides, type Overruled } from '../../engine/plan-overrides.ts';
import { type DueAction, due, Planner, type SkippedAction } from '../../engine/planner.ts';
import { readConfigFile } from '../../stores/local-config.ts';
import { FileLedger } from '../../stores/local-ledger.ts';
import { apiUrl, callApi, refusal } from '../api-client.ts';
import {
  COMMON_HELP,
  type Command,
  configPath,
  parseInstant,
  stateDirOf,
  stringOption,
  writeJson,
} from '../command.ts';
import { EXIT_OK, UsageError } from '../io.ts';
import { renderTable } from '../table.ts';
import { outputZone, TZ_HELP, wallClockOf, zoneLine } from '../zones.ts';

const DAY_MS = 86_400_000;

export const planCommand: Command = {
  name: 'plan',
  help: `Usage: nightshift plan [--from ISO] [--to ISO] [--explain] [--json] [--tz ZONE]
                      [--state DIR | --url URL] [--config FILE]

Lists the actions that will fire in (from, to], sorted by time, then schedule id, with groups
expanded to target names, and the overrides in force or to come in that window (they beat the
schedules). Times are ISO 8601 instants (2027-03-27T00:00:00Z, or with an offset such as
2027-03-27T08:00:00+08:00; a bare date means midnight UTC). Default: the next 24 hours.

Options:
  --from ISO      start of the window, exclusive (default now)
  --to ISO        end of the window, inclusive (default from + 24 h)
  --explain       also show the state each row sets for each target ("desired"), the targets
                  for which another row at the same instant wins ("overruled": a hand-over
                  between two windows resolves to running), the targets an override holds
                  instead ("overriddenBy"; an override row lists what it "overrules"), and the
                  rows a skip date or a holiday left out, each with its reason ("skipped":
                  "skip date 12-25 (office-hours)", "holiday 国庆节 (cn)")
  --json          print [{"at", "schedule", "action", "targets"}] on stdout (times in UTC);
                  overrides are rows {"at", "override", "state", "until", "targets", "reason"}
  --state DIR     the local state folder whose overrides are shown (default .nightshift/)
  --url URL       show the overrides of a running HTTP API instead (signed with the key in
                  NIGHTSHIFT_WEBHOOK_KEY), e.g. the one deployed on AWS
${TZ_HELP}
${COMMON_HELP}

A calendar whose holiday data ends within 60 days, or before the end of the window, is reported
on stderr with what to add to the config.`,
  options: {
    from: { type: 'string' },
    to: { type: 'string' },
    json: { type: 'boolean' },
    explain: { type: 'boolean' },
    state: { type: 'string' },
    url: { type: 'string' },
    tz: { type: 'string' },
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
    const zone = outputZone(values, config);
    for (const warning of calendarDataEnding(config, io.now(), DATA_WARNING_DAYS, to))
      io.stderr.write(`warning: ${warning.path}: ${warning.message}\n`);
    const plain = due(config, from, to);
    // Overrides beat the schedules, so the plan shows them: from the API with --url, else from
    // the local state folder.
    const overrides = await overridesFor(values, io, from.getTime());
    const rows = withOverrideRows<PlanRow>(
      values.explain ? withSkipped(explainRows(config, plain), new Planner(config).skipped(from, to)) : plain,
      overrides,
      from.getTime(),
      to.getTime(),
    );
    const shown: ShownRow[] = values.explain ? explainOverrides(rows, overrides) : rows;
    if (values.json) {
      writeJson(io, shown);
      return EXIT_OK;
    }
    const skippedCount = shown.filter((row) => 'skipped' in row).length;
    const overrideCount = shown.filter((row) => 'override' in row).length;
    const notes = [
      ...(overrideCount > 0 ? [`${overrideCount} override(s)`] : []),
      ...(values.explain ? [`${skippedCount} skipped (skip dates, holidays)`] : []),
    ];
    io.stdout.write(
      `Plan for (${wallClockOf(from.toISOString(), zone)}, ${wallClockOf(to.toISOString(), zone)}]: ` +
        `${shown.length - skippedCount - overrideCount} action(s)${notes.map((n) => `, ${n}`).join('')}\n`,
    );
    if (shown.length === 0) return EXIT_OK;
    io.stdout.write(`${zoneLine(zone, from.getTime())}\n`);
    io.stdout.write(
      renderTable(
        ['Time', 'Schedule', 'Action', 'Targets', ...(values.explain ? ['Sets'] : [])],
        shown.map((row) =>
          'override' in row
            ? [
                wallClockOf(row.at, zone),
                `override ${row.override}`,
                `${row.state} until ${wallClockOf(row.until, zone)}`,
                row.targets.join(', '),
                ...(values.explain ? [overrideSets(row as OverrideRow & { overrules?: Overruled[] })] : []),
              ]
            : [
                wallClockOf(row.at, zone),
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

type ExplainedRow = ReturnType<typeof explainRows>[number] & { overriddenBy?: Record<string, string> };
type PlanRow = DueAction | ExplainedRow | SkippedAction;
type ShownRow = PlanRow | OverrideRow;

async function overridesFor(
  values: Parameters<Command['run']>[0],
  io: Parameters<Command['run']>[2],
  from: number,
): Promise<Override[]> {
  const url = apiUrl(stringOption(values, 'url'));
  if (!url) return new FileLedger(stateDirOf(planCommand, values, io.cwd)).overrides(from);
  const answer = await callApi(io, url, 'GET', '/v1/overrides');
  if (answer.status !== 200) throw refusal(answer);
  return answer.body.overrides as Override[];
}

function setsText(row: ExplainedRow | SkippedAction): string {
  if ('skipped' in row) return `nothing: skipped, ${row.skipped}`;
  const states = [...new Set(Object.values(row.desired))];
  let text =
    states.length === 1
      ? states[0]!
      : Object.entries(row.desired)
          .map(([t, s]) => `${t} ${s}`)
          .join(', ');
  if (row.overruled) text += ` (overruled at this instant: ${row.overruled.join(', ')} stays running)`;
  if (row.overriddenBy) {
    const held = Object.entries(row.overriddenBy).map(([target, id]) => `${target} by ${id}`);
    text += ` (not done: held by override, ${held.join(', ')})`;
  }
  return text;
}

function overrideSets(row: OverrideRow & { overrules?: Overruled[] }): string {
  const beaten = row.overrules ?? [];
  return `${row.state} (beats every schedule${beaten.length > 0 ? `: overrules ${beaten.length} row(s)` : ''})`;
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
