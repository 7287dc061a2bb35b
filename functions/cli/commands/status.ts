import type { OverrideRule } from '../../engine/decision.ts';
import { type TargetStatus, targetStatuses } from '../../engine/status.ts';
import { unknownTargetsMessage } from '../../engine/targets.ts';
import { httpSettingsFromEnv } from '../../huawei/settings.ts';
import { HuaweiUpstream } from '../../huawei/upstream.ts';
import { readConfigFile } from '../../stores/local-config.ts';
import { FileLedger } from '../../stores/local-ledger.ts';
import { FileSecretSource } from '../../stores/secrets.ts';
import { apiUrl, callApi, refusal } from '../api-client.ts';
import { COMMON_HELP, type Command, configPath, stateDirOf, stringOption, writeJson } from '../command.ts';
import { EXIT_OK, UsageError } from '../io.ts';
import { renderTable } from '../table.ts';
import { outputZone, TZ_HELP, wallClockOf, zoneLine } from '../zones.ts';

export const statusCommand: Command = {
  name: 'status',
  help: `Usage: nightshift status [--target NAME ...] [--tz ZONE] [--json]
                        [--url URL | --state DIR --secrets FILE] [--config FILE]

For each target: the desired state and since when, because of which schedule or override, the
status read live upstream, whether the two agree (in sync), the override in force and the next
edge of its schedules. A hands-off target is not read (no upstream call of any kind).

With --url the answer comes from a running HTTP API (GET /v1/status, signed with the key in
NIGHTSHIFT_WEBHOOK_KEY). Without it, overrides come from the state folder and status is read
upstream with the secrets file.

Options:
  --target NAME     only this target; repeat for several (default: every target)
  --url URL         a running Nightshift HTTP API
  --state DIR       the local state folder (default .nightshift/)
  --secrets FILE    JSON object of secret names to values (default $NIGHTSHIFT_SECRETS_FILE)
  --json            print {"targets": [...]} on stdout (times in UTC)
${TZ_HELP}
${COMMON_HELP}`,
  options: {
    target: { type: 'string', multiple: true },
    url: { type: 'string' },
    state: { type: 'string' },
    secrets: { type: 'string' },
    tz: { type: 'string' },
    json: { type: 'boolean' },
  },
  async run(values, _positionals, io) {
    const names = (values.target as string[] | undefined) ?? [];
    const config = await readConfigFile(configPath(values, io));
    const unknown = names.filter((n) => !Object.hasOwn(config.targets, n));
    if (unknown.length > 0) throw new UsageError(unknownTargetsMessage(config, unknown, 'target'));
    const zone = outputZone(values, config);
    const now = io.now().getTime();
    let statuses: TargetStatus[];
    const url = apiUrl(stringOption(values, 'url'));
    if (url) {
      const answer = await callApi(io, url, 'GET', '/v1/status', {
        query: { target: names.length > 0 ? names.join(',') : undefined },
      });
      if (answer.status !== 200) throw refusal(answer);
      statuses = answer.body.targets as TargetStatus[];
    } else {
      const secretsFile = stringOption(values, 'secrets') ?? io.env.NIGHTSHIFT_SECRETS_FILE;
      if (!secretsFile)
        throw new UsageError(
          '--secrets FILE (or NIGHTSHIFT_SECRETS_FILE) is required to read status upstream, or --url',
        );
      let http: ReturnType<typeof httpSettingsFromEnv>;
      try {
        http = httpSettingsFromEnv(io.env);
      } catch (error) {
        throw new UsageError((error as Error).message, { cause: error });
      }
      const ledger = new FileLedger(stateDirOf(statusCommand, values, io.cwd), () => now);
      const overrides: OverrideRule[] = await ledger.overrides(now);
      const upstream = new HuaweiUpstream({ secrets: new FileSecretSource(secretsFile), http });
      try {
        statuses = await targetStatuses({
          config,
          overrides,
          upstream,
          ledger,
          now,
          ...(names.length > 0 ? { targets: names } : {}),
        });
      } finally {
        await upstream.close();
      }
    }
    if (values.json) {
      writeJson(io, { targets: statuses });
      return EXIT_OK;
    }
    const out = statuses.filter((s) => !s.inSync).length;
    io.stdout.write(zoneLine(zone, now));
    io.stdout.write(
      renderTable(
        ['Target', 'Kind', 'Desired', 'Observed', 'In sync', 'Because', 'Override', 'Next edge'],
        statuses.map((s) => [
          s.target,
          s.kind,
          s.desired ? `${s.desired} since ${s.since === null ? '?' : wallClockOf(s.since, zone)}` : '(none)',
          s.observed ??
            (s.secretNotSet
              ? '(secret not set)'
              : s.note?.startsWith('hands-off')
                ? '(not read)'
                : '(unknown)'),
          s.inSync ? 'yes' : 'NO',
          s.because ?? '',
          s.override ?? '',
          s.nextEdge
            ? `${s.nextEdge.state} at ${wallClockOf(s.nextEdge.at, zone)} (${s.nextEdge.schedule})`
            : '',
        ]),
      ),
    );
    io.stdout.write(`\n${statuses.length} target(s), ${out} out of sync\n`);
    return EXIT_OK;
  },
};
