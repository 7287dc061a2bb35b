import { hostname } from 'node:os';
import { resolve } from 'node:path';
import { makeOverride, type Override, OverrideError, parseIsoInstant } from '../../engine/overrides.ts';
import { readConfigFile } from '../../stores/local-config.ts';
import { FileLedger } from '../../stores/local-ledger.ts';
import { apiUrl, callApi, refusal } from '../api-client.ts';
import { COMMON_HELP, type Command, configPath, stringOption, type Values, writeJson } from '../command.ts';
import { type CliIo, EXIT_OK, UsageError } from '../io.ts';
import { renderTable } from '../table.ts';
import { bothWays, parseTime } from '../time.ts';
import { outputZone, readingZone, tzOption, wallClockOf, zoneLine } from '../zones.ts';

export const overrideCommand: Command = {
  name: 'override',
  stateDirOption: 'state-dir',
  help: `Usage: nightshift override add (--target NAME ... | --schedule ID) --state STATE --until TIME
                               [--from TIME] [--tz ZONE] --reason TEXT [--json]
       nightshift override list [--tz ZONE] [--json]
       nightshift override remove ID [--json]

An override holds its targets in STATE from --from (default now) until --until, beating every
schedule; at --until the schedules' state applies again and is reconciled within a minute.
STATE is running, stopped (VIAS and CPTS tasks), paused (DRS jobs) or hands-off (Nightshift makes
no call of any kind on those targets). An override lasts at most overrides.maxHours (default 168).

TIME is an ISO 8601 instant (2027-03-29T23:00:00Z) or a wall-clock time: 23:00 (the next 23:00;
for --until the next after --from), "today 23:00", "tomorrow 08:00", "2027-03-29 23:00". A
wall-clock time is read in the zone of the targets' schedules (the clock the schedules it beats
run on): with --schedule, that schedule's zone; targets without a schedule use the config's
"timezone". When the targets' schedules run in different zones, --tz ZONE must say which one.
The answer shows every time both ways, in that zone and in UTC.

Without --url the override goes into the local state folder, where every "nightshift serve"
sharing it sees it at its next tick. With --url it goes through a running HTTP API (signed with
the key in NIGHTSHIFT_WEBHOOK_KEY), e.g. the one deployed on AWS.

Options:
  --target NAME     a target or group; repeat for several
  --schedule ID     every target of this schedule
  --state STATE     running | stopped | paused | hands-off
  --until TIME      when the override ends (required)
  --from TIME       when it begins (default now)
  --reason TEXT     why, for whoever looks next (required)
  --url URL         a running Nightshift HTTP API
  --state-dir DIR   the local state folder (default .nightshift/; --state names the STATE here)
  --tz ZONE         add: the zone of wall-clock TIMEs (see above); list: the zone shown
                    (default: the config's "timezone")
  --json            print the override(s) as JSON
${COMMON_HELP}

Exit codes: 0 done, 1 failed, 2 bad usage (also: unknown target or override id, a state the
target cannot have, an until in the past or too far out).`,
  allowPositionals: true,
  options: {
    target: { type: 'string', multiple: true },
    schedule: { type: 'string' },
    state: { type: 'string' },
    until: { type: 'string' },
    from: { type: 'string' },
    reason: { type: 'string' },
    url: { type: 'string' },
    'state-dir': { type: 'string' },
    tz: { type: 'string' },
    json: { type: 'boolean' },
  },
  async run(values, positionals, io) {
    const [verb, ...rest] = positionals;
    switch (verb) {
      case 'add':
        if (rest.length > 0) throw new UsageError(`unexpected ${rest.join(' ')}`);
        return add(values, io);
      case 'list':
        if (rest.length > 0) throw new UsageError(`unexpected ${rest.join(' ')}`);
        return list(values, io);
      case 'remove':
        if (rest.length !== 1) throw new UsageError('override remove takes one override id');
        return remove(rest[0]!, values, io);
      default:
        throw new UsageError(
          verb === undefined ? 'say add, list or remove' : `unknown subcommand "${verb}" (add, list, remove)`,
        );
    }
  },
};

/** `--state` names the override's state here, so the folder is `--state-dir`. */
function folderOf(values: Values, io: CliIo): string {
  return resolve(io.cwd, stringOption(values, 'state-dir') ?? '.nightshift');
}

async function add(values: Values, io: CliIo): Promise<number> {
  const targets = (values.target as string[] | undefined) ?? [];
  const schedule = stringOption(values, 'schedule');
  if (targets.length > 0 === (schedule !== undefined))
    throw new UsageError('give either --target NAME (one or more) or --schedule ID');
  const state = stringOption(values, 'state');
  if (!state) throw new UsageError('--state is required: running, stopped, paused or hands-off');
  const untilText = stringOption(values, 'until');
  if (!untilText) throw new UsageError('--until TIME is required: an override always ends');
  const reason = stringOption(values, 'reason');
  if (!reason) throw new UsageError('--reason TEXT is required: say why, for whoever looks next');
  const fromText = stringOption(values, 'from');

  const config = await readConfigFile(configPath(values, io));
  // A wall-clock time means the clock of the schedules the override beats (finding: "tomorrow
  // 20:00" for a Berlin schedule must not be read in the config's Shanghai zone).
  const wallClockGiven = [untilText, fromText].some(
    (t) => t !== undefined && parseIsoInstant(t) === undefined,
  );
  const zone = readingZone(config, { targets, schedule }, tzOption(values), wallClockGiven);
  const now = io.now().getTime();
  const from = fromText === undefined ? undefined : parseTime(fromText, '--from', zone, now);
  // A bare time of day for --until is the next one after the start: --from 22:00 --until 02:00.
  const until = parseTime(untilText, '--until', zone, from ?? now);
  const request = {
    ...(schedule === undefined ? { targets } : { schedule }),
    state,
    until: new Date(until).toISOString(),
    ...(from === undefined ? {} : { from: new Date(from).toISOString() }),
    reason,
    createdBy: `${io.env.USER ?? io.env.USERNAME ?? 'someone'}@${hostname()}`,
  };

  let override: Override;
  const url = apiUrl(stringOption(values, 'url'));
  if (url) {
    const answer = await callApi(io, url, 'POST', '/v1/overrides', { body: request });
    if (answer.status !== 201) throw refusal(answer);
    override = answer.body as Override;
  } else {
    try {
      override = makeOverride(config, request, now);
    } catch (error) {
      if (error instanceof OverrideError) throw new UsageError(error.message, { cause: error });
      throw error;
    }
    await new FileLedger(folderOf(values, io), () => now).putOverride(override);
  }
  if (values.json) writeJson(io, override);
  else
    io.stdout.write(
      `override ${override.id}: ${override.targets.join(', ')} ${override.state}\n` +
        `  from  ${bothWays(Date.parse(override.from), zone)}\n` +
        `  until ${bothWays(Date.parse(override.until), zone)}\n` +
        `  reason: ${override.reason}\n` +
        `remove it early with: nightshift override remove ${override.id}${url ? ` --url ${url}` : ''}\n`,
    );
  return EXIT_OK;
}

async function list(values: Values, io: CliIo): Promise<number> {
  const config = await readConfigFile(configPath(values, io));
  const zone = outputZone(values, config);
  const now = io.now().getTime();
  let overrides: Override[];
  const url = apiUrl(stringOption(values, 'url'));
  if (url) {
    const answer = await callApi(io, url, 'GET', '/v1/overrides');
    if (answer.status !== 200) throw refusal(answer);
    overrides = answer.body.overrides as Override[];
  } else {
    overrides = await new FileLedger(folderOf(values, io), () => now).overrides(now);
  }
  if (values.json) {
    writeJson(io, { overrides });
    return EXIT_OK;
  }
  if (overrides.length === 0) {
    io.stdout.write('No active or future overrides.\n');
    return EXIT_OK;
  }
  io.stdout.write(zoneLine(zone, now));
  io.stdout.write(
    renderTable(
      ['Id', 'State', 'Targets', 'From', 'Until', 'By', 'Reason'],
      overrides.map((o) => [
        Date.parse(o.from) <= now ? `${o.id} (active)` : o.id,
        o.state,
        o.targets.join(', '),
        wallClockOf(o.from, zone),
        wallClockOf(o.until, zone),
        o.createdBy ?? '',
        o.reason,
      ]),
    ),
  );
  return EXIT_OK;
}

async function remove(id: string, values: Values, io: CliIo): Promise<number> {
  const url = apiUrl(stringOption(values, 'url'));
  let removed: Override | undefined;
  if (url) {
    const answer = await callApi(io, url, 'DELETE', `/v1/overrides/${encodeURIComponent(id)}`);
    if (answer.status !== 200) throw refusal(answer);
    removed = answer.body as Override;
  } else {
    removed = await new FileLedger(folderOf(values, io)).removeOverride(id);
    if (!removed) throw new UsageError(`no override "${id}" in ${folderOf(values, io)}`);
  }
  if (values.json) writeJson(io, removed);
  else
    io.stdout.write(
      `removed override ${removed.id} (${removed.state} ${removed.targets.join(', ')}): the schedules apply again from the next tick\n`,
    );
  return EXIT_OK;
}
