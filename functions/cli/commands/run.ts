import type { ActionResult } from '../../engine/executor.ts';
import { carryOut, handsOffTargets, withHandsOff } from '../../engine/on-demand.ts';
import { selectTargets, TargetSelectionError } from '../../engine/targets.ts';
import { httpSettingsFromEnv } from '../../huawei/settings.ts';
import { HuaweiUpstream } from '../../huawei/upstream.ts';
import { Owners } from '../../local/owners.ts';
import { readConfigFile } from '../../stores/local-config.ts';
import { FileLedger } from '../../stores/local-ledger.ts';
import { FileSecretSource, MemorySecretSource } from '../../stores/secrets.ts';
import {
  COMMON_HELP,
  type Command,
  configPath,
  selectionOf,
  selectionOptions,
  stringOption,
  writeJson,
} from '../command.ts';
import { type CliIo, EXIT_FAILED, EXIT_OK, UsageError } from '../io.ts';
import { renderResults } from '../results.ts';
import { stateDirOf } from './override.ts';

export const runCommand: Command = {
  name: 'run',
  help: `Usage: nightshift run --action ACTION (--target NAME ... | --schedule ID)
                     [--secrets FILE] [--state DIR] [--reason TEXT] [--force] [--dry-run]
                     [--json] [--config FILE]

Carries ACTION (start, stop, pause, resume) out now on the named targets (or groups), or on every
target of a schedule, and prints one result per target. Each target's status is read first: one
already in the requested state gets "unchanged" and no call (--force calls anyway); after a call
the status is read again and the result says whether it was verified. Exit code 1 if any result
failed. Each call is leased and recorded in the state folder like the tick's, so a running
\`serve\` on the same folder never acts on a target at the same moment, and \`history\` shows it.
A target under a hands-off override is left alone unless --force.

Options:
  --action ACTION   start | stop | pause | resume
  --target NAME     a target or group; repeat for several
  --schedule ID     every target of this schedule
  --secrets FILE    JSON object of secret names to values, standing in for Secrets Manager
                    (default: $NIGHTSHIFT_SECRETS_FILE); not needed with --dry-run
  --state DIR       the state folder shared with serve (default .nightshift)
  --reason TEXT     why, for the history
  --force           make the call even when the target is already in that state, or hands-off
  --dry-run         resolve and check everything, call nothing
  --json            print {"results": [...]} on stdout
${COMMON_HELP}

Environment: NIGHTSHIFT_UPSTREAM_TIMEOUT_MS (default 10000), NIGHTSHIFT_UPSTREAM_MAX_RETRIES
(default 3), NIGHTSHIFT_UPSTREAM_MAX_IN_FLIGHT (requests per account, default 16).`,
  options: {
    ...selectionOptions,
    secrets: { type: 'string' },
    state: { type: 'string' },
    reason: { type: 'string' },
    'dry-run': { type: 'boolean' },
    force: { type: 'boolean' },
    json: { type: 'boolean' },
  },
  async run(values, _positionals, io) {
    const { action, targets, schedule } = selectionOf(values);
    const dryRun = values['dry-run'] === true;
    const secretsFile = stringOption(values, 'secrets') ?? io.env.NIGHTSHIFT_SECRETS_FILE;
    if (!secretsFile && !dryRun) {
      throw new UsageError('--secrets FILE (or NIGHTSHIFT_SECRETS_FILE) is required to call Huawei Cloud');
    }
    let httpSettings: ReturnType<typeof httpSettingsFromEnv>;
    try {
      httpSettings = httpSettingsFromEnv(io.env);
    } catch (error) {
      throw new UsageError((error as Error).message);
    }

    const config = await readConfigFile(configPath(values, io));
    let names: string[];
    try {
      names = selectTargets(config, schedule === undefined ? { targets } : { schedule }, action);
    } catch (error) {
      if (error instanceof TargetSelectionError) throw new UsageError(error.message);
      throw error;
    }

    const upstream = new HuaweiUpstream({
      // A dry run calls nothing, so it needs no secrets.
      secrets: secretsFile ? new FileSecretSource(secretsFile) : new MemorySecretSource(),
      http: httpSettings,
    });
    const progress = progressLine(io, names.length);
    const now = () => io.now().getTime();
    const ledger = new FileLedger(stateDirOf(values, io), now);
    const owners = new Owners('run');
    const force = values.force === true;
    const reason = stringOption(values, 'reason');
    let results: ActionResult[];
    try {
      const handsOff = force || dryRun ? new Map() : await handsOffTargets(ledger, names, now());
      const called = await carryOut(
        config,
        names.filter((n) => !handsOff.has(n)).map((target) => ({ target, action })),
        {
          upstream,
          ledger,
          owner: owners.begin('run'),
          trigger: 'cli',
          now: () => now(),
          requestId: `cli-${Date.now().toString(36)}-${process.pid}`,
          ...(reason ? { reason } : {}),
          dryRun,
          force,
          overrides: () => ledger.overrides(now()),
          isOwnerGone: owners.isGone,
          onResult: progress.update,
          onLedgerError: (error, target) =>
            io.stderr.write(`warning: the state folder could not record ${target}: ${String(error)}\n`),
        },
      );
      results = withHandsOff(names, called, handsOff, config, action);
    } finally {
      progress.done();
      await upstream.close();
    }
    if (values.json) writeJson(io, { results });
    else io.stdout.write(renderResults(results));
    return results.some((r) => !r.ok) ? EXIT_FAILED : EXIT_OK;
  },
};

/** A live `[n/total]` line on an interactive stderr when there are many targets. */
function progressLine(io: CliIo, total: number) {
  const live = io.stderr.isTTY === true && total >= 8;
  let done = 0;
  let failed = 0;
  return {
    update(result: ActionResult) {
      done += 1;
      if (!result.ok) failed += 1;
      if (live) io.stderr.write(`\r[${done}/${total}] ${done - failed} ok, ${failed} failed`);
    },
    done() {
      if (live && done > 0) io.stderr.write('\n');
    },
  };
}
