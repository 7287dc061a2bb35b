import { resolve } from 'node:path';
import { calendarDataEnding } from '../../engine/calendar/holidays.ts';
import { notificationWarnings } from '../../engine/config/notifications.ts';
import { ConfigError } from '../../engine/config/validate.ts';
import { configWarnings } from '../../engine/config/warnings.ts';
import { sinkSecretProblems } from '../../notify/secrets.ts';
import { ConfigFileError, readConfigFile } from '../../stores/local-config.ts';
import { FileSecretSource } from '../../stores/secrets.ts';
import { COMMON_HELP, type Command, configPath, stringOption, writeJson } from '../command.ts';
import { EXIT_FAILED, EXIT_OK } from '../io.ts';

export const validateCommand: Command = {
  name: 'validate',
  help: `Usage: nightshift validate [--config FILE] [--strict] [--secrets FILE] [--json]

Checks the schedule config against the schema and the cross-references (accounts, targets,
groups, calendars, actions per kind) and prints every problem at once, each with its JSON path.
Then warns about what a valid config probably does not mean: two schedules setting one target to
opposite states at the same instant, a cron that never fires, a target only ever started (or
only stopped), a DRS pause with pauseMode "all" held over 24 h, a calendar whose holiday data
ends within the next 60 days, a notification sink no route uses.
With a secrets file (--secrets, or NIGHTSHIFT_SECRETS_FILE), each notification sink's secret is
checked too: missing or malformed (never printed) is an error.
Exit code 0 when valid (warnings included), 1 when not.

Options:
  --strict        treat warnings as errors (exit 1)
  --secrets FILE  also check the notification sinks' secrets in this file
  --json          print {"ok": bool, "issues": [{"path", "message"}], "warnings": [...]} on stdout
${COMMON_HELP}`,
  options: { json: { type: 'boolean' }, strict: { type: 'boolean' }, secrets: { type: 'string' } },
  async run(values, _positionals, io) {
    const path = configPath(values, io);
    try {
      const now = io.now();
      const config = await readConfigFile(path, { now }, { deployable: true });
      const warnings = [
        ...configWarnings(config, now.getTime()),
        ...calendarDataEnding(config, now).map(({ path, message }) => ({ path, message })),
        ...notificationWarnings(config),
      ];
      const secretsFile = stringOption(values, 'secrets') ?? io.env.NIGHTSHIFT_SECRETS_FILE;
      if (secretsFile && config.notifications) {
        const problems = await sinkSecretProblems(config, new FileSecretSource(resolve(io.cwd, secretsFile)));
        if (problems.length > 0) {
          if (values.json) writeJson(io, { ok: false, issues: problems, warnings });
          else
            io.stdout.write(
              `${problems.length} problem${problems.length === 1 ? '' : 's'} in ${path}:\n${problems.map((p) => `  ${p.path}: ${p.message}`).join('\n')}\n`,
            );
          return EXIT_FAILED;
        }
      }
      const ok = warnings.length === 0 || values.strict !== true;
      if (values.json) writeJson(io, { ok, issues: [], warnings });
      else {
        const targets = Object.keys(config.targets).length;
        const schedules = config.schedules.length;
        io.stdout.write(
          `${path}: valid (${counted(targets, 'target')}, ${counted(schedules, 'schedule')})\n`,
        );
        if (warnings.length > 0) {
          io.stdout.write(
            `${warnings.length} warning${warnings.length === 1 ? '' : 's'}${values.strict ? ' (--strict: errors)' : ''}:\n${warnings.map((w) => `  ${w.path}: ${w.message}`).join('\n')}\n`,
          );
        }
      }
      return ok ? EXIT_OK : EXIT_FAILED;
    } catch (error) {
      if (error instanceof ConfigError) {
        if (values.json) writeJson(io, { ok: false, issues: error.issues, warnings: [] });
        else io.stdout.write(`${error.message}\n`);
        return EXIT_FAILED;
      }
      if (error instanceof ConfigFileError) {
        if (values.json)
          writeJson(io, {
            ok: false,
            issues: [{ path: '(file)', message: error.message }],
            warnings: [],
          });
        else io.stderr.write(`${error.message}\n`);
        return EXIT_FAILED;
      }
      throw error;
    }
  },
};

const counted = (n: number, noun: string) => `${n} ${noun}${n === 1 ? '' : 's'}`;
