import type { ActionResult } from '../../engine/executor.ts';
import { carryOut } from '../../engine/on-demand.ts';
import { selectTargets, TargetSelectionError } from '../../engine/targets.ts';
import { httpSettingsFromEnv } from '../../huawei/settings.ts';
import { HuaweiUpstream } from '../../huawei/upstream.ts';
import { readConfigFile } from '../../stores/local-config.ts';
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

export const runCommand: Command = {
  name: 'run',
  help: `Usage: nightshift run --action ACTION (--target NAME ... | --schedule ID)
                     [--secrets FILE] [--force] [--dry-run] [--json] [--config FILE]

Carries ACTION (start, stop, pause, resume) out now on the named targets (or groups), or on every
target of a schedule, and prints one result per target. Each target's status is read first: one
already in the requested state gets "unchanged" and no call (--force calls anyway); after a call
the status is read again and the result says whether it was verified. Exit code 1 if any result
failed.

Options:
  --action ACTION   start | stop | pause | resume
  --target NAME     a target or group; repeat for several
  --schedule ID     every target of this schedule
  --secrets FILE    JSON object of secret names to values, standing in for Secrets Manager
                    (default: $NIGHTSHIFT_SECRETS_FILE); not needed with --dry-run
  --force           make the call even when the target is already in that state
  --dry-run         resolve and check everything, call nothing
  --json            print {"results": [...]} on stdout
${COMMON_HELP}

Environment: NIGHTSHIFT_UPSTREAM_TIMEOUT_MS (default 10000), NIGHTSHIFT_UPSTREAM_MAX_RETRIES
(default 3), NIGHTSHIFT_UPSTREAM_MAX_IN_FLIGHT (requests per account, default 16).`,
  options: {
    ...selectionOptions,
    secrets: { type: 'string' },
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
    let results: ActionResult[];
    try {
      results = await carryOut(
        config,
        names.map((target) => ({ target, action })),
        {
          upstream,
          dryRun,
          force: values.force === true,
          onResult: progress.update,
        },
      );
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
