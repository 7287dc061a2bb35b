import {
  MAX_SAVINGS_DAYS,
  monthStart,
  type SavingsReport,
  SavingsRequestError,
  savingsReport,
  zoneOfConfig,
} from '../../engine/savings-report.ts';
import { readConfigFile } from '../../stores/local-config.ts';
import { FileLedger } from '../../stores/local-ledger.ts';
import { apiUrl, callApi, refusal } from '../api-client.ts';
import { COMMON_HELP, type Command, configPath, stateDirOf, stringOption, writeJson } from '../command.ts';
import { EXIT_OK, UsageError } from '../io.ts';
import { savingsCsv, savingsText } from '../savings-output.ts';
import { parseTime } from '../time.ts';

export const savingsCommand: Command = {
  name: 'savings',
  help: `Usage: nightshift savings [--from TIME] [--to TIME] [--target NAME ...] [--json | --csv]
                         [--url URL | --state DIR] [--config FILE]

What Nightshift saved over a range (default: this month so far, in the config's timezone), per
target and in total:
  held off     hours a status read (or a verified call) showed the target stopped or paused,
               until the next observation showing otherwise: what actually happened, overrides
               and changes by hand included, as far as Nightshift looked;
  planned off  hours the schedules and overrides asked for it to be stopped or paused;
  avoided      held off x the target's "cost": {"perHour", "currency"}, totals per currency
               (targets without a cost show hours only).

TIME is an ISO 8601 instant, a date (local midnight: 2027-03-01), or a local time in the config's
timezone: "2027-03-01 08:00", "yesterday 20:00", 08:00 (the last 08:00). A range spans at most
${MAX_SAVINGS_DAYS} days; held off counts up to now when --to is later.

The figures come from the local state folder or, with --url, from a running HTTP API (GET
/v1/savings, signed with the key in NIGHTSHIFT_WEBHOOK_KEY; on AWS that is the DynamoDB ledger).

Options:
  --from TIME       start of the range (default the 1st of this month, 00:00)
  --to TIME         end of the range (default now)
  --target NAME     only this target; repeat for several
  --url URL         a running Nightshift HTTP API
  --state DIR       the local state folder (default .nightshift/)
  --json            print the report as one JSON document
  --csv             print it as CSV (RFC 4180: opens in a spreadsheet)
${COMMON_HELP}`,
  options: {
    from: { type: 'string' },
    to: { type: 'string' },
    target: { type: 'string', multiple: true },
    url: { type: 'string' },
    state: { type: 'string' },
    json: { type: 'boolean' },
    csv: { type: 'boolean' },
  },
  async run(values, _positionals, io) {
    if (values.json && values.csv) throw new UsageError('give --json or --csv, not both');
    const config = await readConfigFile(configPath(values, io));
    const zone = zoneOfConfig(config);
    const now = io.now().getTime();
    const targets = (values.target as string[] | undefined) ?? [];
    const unknown = targets.filter((t) => !Object.hasOwn(config.targets, t));
    if (unknown.length > 0) throw new UsageError(`unknown target ${unknown.map((t) => `"${t}"`).join(', ')}`);
    const fromText = stringOption(values, 'from');
    const toText = stringOption(values, 'to');
    const from = fromText === undefined ? monthStart(zone, now) : timeOf(fromText, '--from', zone, now);
    const to = toText === undefined ? now : timeOf(toText, '--to', zone, now);
    if (to <= from)
      throw new UsageError(
        `--to (${new Date(to).toISOString()}) must be later than --from (${new Date(from).toISOString()})`,
      );

    let report: SavingsReport;
    const url = apiUrl(stringOption(values, 'url'));
    if (url) {
      const answer = await callApi(io, url, 'GET', '/v1/savings', {
        query: {
          from: new Date(from).toISOString(),
          to: new Date(to).toISOString(),
          ...(targets.length > 0 ? { target: targets.join(',') } : {}),
        },
      });
      if (answer.status !== 200) throw refusal(answer);
      report = answer.body as SavingsReport;
    } else {
      const ledger = new FileLedger(stateDirOf(savingsCommand, values, io.cwd), () => now);
      try {
        report = await savingsReport({
          config,
          ledger,
          from,
          to,
          now,
          ...(targets.length > 0 ? { targets } : {}),
        });
      } catch (error) {
        if (error instanceof SavingsRequestError) throw new UsageError(error.message, { cause: error });
        throw error;
      }
    }
    if (values.json) writeJson(io, report);
    else if (values.csv) io.stdout.write(savingsCsv(report));
    else io.stdout.write(savingsText(report));
    return EXIT_OK;
  },
};

/** A TIME option; a bare date is local midnight. */
function timeOf(text: string, option: string, zone: string, now: number): number {
  const date = /^\d{4}-\d{2}-\d{2}$/.test(text.trim()) ? `${text.trim()} 00:00` : text;
  return parseTime(date, option, zone, now, 'past');
}
