import { ConfigError } from '../../engine/config/validate.ts';
import { ConfigFileError, readConfigFile } from '../../stores/local-config.ts';
import { COMMON_HELP, type Command, configPath, writeJson } from '../command.ts';
import { EXIT_FAILED, EXIT_OK } from '../io.ts';

export const validateCommand: Command = {
  name: 'validate',
  summary: 'check the schedule config and print every problem with its JSON path',
  help: `Usage: nightshift validate [--config FILE] [--json]

Checks the schedule config against the schema and the cross-references (accounts, targets,
groups, actions per kind) and prints every problem at once, each with its JSON path.
Exit code 0 when valid, 1 when not.

Options:
  --json          print {"ok": bool, "issues": [{"path", "message"}]} on stdout
${COMMON_HELP}`,
  options: { json: { type: 'boolean' } },
  async run(values, _positionals, io) {
    const path = configPath(values, io);
    try {
      const config = await readConfigFile(path);
      if (values.json) writeJson(io, { ok: true, issues: [] });
      else {
        const n = config.schedules.length;
        io.stdout.write(
          `${path}: valid (${Object.keys(config.targets).length} targets, ${n} schedule${n === 1 ? '' : 's'})\n`,
        );
      }
      return EXIT_OK;
    } catch (error) {
      if (error instanceof ConfigError) {
        if (values.json) writeJson(io, { ok: false, issues: error.issues });
        else io.stdout.write(`${error.message}\n`);
        return EXIT_FAILED;
      }
      if (error instanceof ConfigFileError) {
        if (values.json) writeJson(io, { ok: false, issues: [{ path: '(file)', message: error.message }] });
        else io.stderr.write(`${error.message}\n`);
        return EXIT_FAILED;
      }
      throw error;
    }
  },
};
