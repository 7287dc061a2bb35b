import type { HistoryEntry } from '../../engine/ledger.ts';
import { unknownTargetsMessage } from '../../engine/targets.ts';
import { readConfigFile } from '../../stores/local-config.ts';
import { FileLedger } from '../../stores/local-ledger.ts';
import { apiUrl, callApi, refusal } from '../api-client.ts';
import { COMMON_HELP, type Command, configPath, stateDirOf, stringOption, writeJson } from '../command.ts';
import { EXIT_OK, UsageError } from '../io.ts';
import { renderTable } from '../table.ts';
import { parseTime } from '../time.ts';
import { outputZone, TZ_HELP, wallClockOf, zoneLine } from '../zones.ts';

const MAX_LIMIT = 1000;

export const historyCommand: Command = {
  name: 'history',
  help: `Usage: nightshift history [--target NAME] [--since TIME] [--limit N] [--tz ZONE] [--json]
                         [--url URL | --state DIR] [--config FILE]

The history entries (actions, unchanged looks, missed and skipped ones), newest first, from the
local state folder or, with --url, from a running HTTP API (GET /v1/history, signed with the
key in NIGHTSHIFT_WEBHOOK_KEY; on AWS that is the DynamoDB ledger).

TIME is an ISO 8601 instant or a wall-clock time in the zone of --tz (default: the config's
"timezone"): 08:00 (the last 08:00), "yesterday 20:00", "2027-03-29 20:00". The table shows its
times in that zone too.

Options:
  --target NAME     only this target
  --since TIME      only entries recorded at or after TIME
  --limit N         at most N entries (default 20, at most ${MAX_LIMIT})
  --url URL         a running Nightshift HTTP API
  --state DIR       the local state folder (default .nightshift/)
  --json            print {"entries": [...]} on stdout
${TZ_HELP}
${COMMON_HELP}`,
  options: {
    target: { type: 'string' },
    since: { type: 'string' },
    limit: { type: 'string' },
    url: { type: 'string' },
    state: { type: 'string' },
    tz: { type: 'string' },
    json: { type: 'boolean' },
  },
  async run(values, _positionals, io) {
    const config = await readConfigFile(configPath(values, io));
    const target = stringOption(values, 'target');
    if (target !== undefined && !Object.hasOwn(config.targets, target))
      throw new UsageError(unknownTargetsMessage(config, [target], 'target'));
    const zone = outputZone(values, config);
    const limitText = stringOption(values, 'limit') ?? '20';
    const limit = Number(limitText);
    if (!/^\d+$/.test(limitText) || limit < 1 || limit > MAX_LIMIT)
      throw new UsageError(`--limit must be a whole number from 1 to ${MAX_LIMIT}`);
    const now = io.now().getTime();
    const sinceText = stringOption(values, 'since');
    const since = sinceText === undefined ? undefined : parseTime(sinceText, '--since', zone, now, 'past');

    let entries: HistoryEntry[];
    const url = apiUrl(stringOption(values, 'url'));
    if (url) {
      const answer = await callApi(io, url, 'GET', '/v1/history', {
        query: {
          target,
          since: since === undefined ? undefined : new Date(since).toISOString(),
          limit: String(limit),
        },
      });
      if (answer.status !== 200) throw refusal(answer);
      entries = answer.body.entries as HistoryEntry[];
    } else {
      const ledger = new FileLedger(stateDirOf(historyCommand, values, io.cwd), () => now);
      entries = (
        await ledger.history({
          limit,
          ...(target === undefined ? {} : { target }),
          ...(since === undefined ? {} : { since }),
        })
      ).reverse();
    }
    if (values.json) {
      writeJson(io, { entries });
      return EXIT_OK;
    }
    if (entries.length === 0) {
      io.stdout.write('No history entries.\n');
      return EXIT_OK;
    }
    io.stdout.write(zoneLine(zone, now));
    io.stdout.write(
      renderTable(
        ['Recorded', 'Target', 'Action', 'Result', 'By', 'Why'],
        entries.map((e) => [
          wallClockOf(e.recordedAt, zone, { seconds: true }),
          e.result.target,
          e.result.action,
          `${e.result.status}${e.result.errorCode ? ` ${e.result.errorCode}` : ''}${e.late ? ' (late)' : ''}`,
          e.override ? `override ${e.override}` : e.schedule ? `schedule ${e.schedule}` : e.trigger,
          e.result.ok ? (e.reason ?? '') : (e.result.errorMessage ?? e.reason ?? ''),
        ]),
      ),
    );
    return EXIT_OK;
  },
};
