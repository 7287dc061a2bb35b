import { ConfigError } from '../engine/config/validate.ts';
import { ConfigFileError } from '../stores/local-config.ts';
import { type Command, parseCommandArgs } from './command.ts';
import { configCommand } from './commands/config.ts';
import { planCommand } from './commands/plan.ts';
import { runCommand } from './commands/run.ts';
import { serveCommand } from './commands/serve.ts';
import { triggerCommand } from './commands/trigger.ts';
import { validateCommand } from './commands/validate.ts';
import { type CliIo, EXIT_FAILED, EXIT_OK, EXIT_USAGE, UsageError } from './io.ts';

const commands: Command[] = [
  validateCommand,
  planCommand,
  runCommand,
  serveCommand,
  triggerCommand,
  configCommand,
];

function overview(): string {
  const width = Math.max(...commands.map((c) => c.name.length));
  return `Usage: nightshift <command> [options]

Nightshift starts, stops, pauses and resumes Huawei Cloud tasks on a schedule.

Commands:
${commands.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`).join('\n')}

Run "nightshift <command> --help" for a command's options.
Exit codes: 0 success, 1 an action or validation failed, 2 bad usage.
`;
}

/** Runs one CLI invocation and returns its exit code. */
export async function main(argv: string[], io: CliIo): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    const topic = name === 'help' ? commands.find((c) => c.name === rest[0]) : undefined;
    io.stdout.write(topic ? `${topic.help}\n` : overview());
    return name === undefined ? EXIT_USAGE : EXIT_OK;
  }
  const command = commands.find((c) => c.name === name);
  if (!command) {
    io.stderr.write(`nightshift: unknown command "${name}"\n\n${overview()}`);
    return EXIT_USAGE;
  }
  try {
    const { values, positionals } = parseCommandArgs(command, rest);
    if (values.help) {
      io.stdout.write(`${command.help}\n`);
      return EXIT_OK;
    }
    return await command.run(values, positionals, io);
  } catch (error) {
    if (error instanceof UsageError) {
      io.stderr.write(
        `nightshift ${command.name}: ${error.message}\nRun "nightshift ${command.name} --help".\n`,
      );
      return EXIT_USAGE;
    }
    if (error instanceof ConfigError || error instanceof ConfigFileError) {
      io.stderr.write(`nightshift ${command.name}: ${error.message}\n`);
      return EXIT_FAILED;
    }
    io.stderr.write(
      `nightshift ${command.name}: ${error instanceof Error ? `${error.name}: ${error.message}` : String(error)}\n`,
    );
    return EXIT_FAILED;
  }
}

export function processIo(): CliIo {
  return {
    stdout: process.stdout,
    stderr: process.stderr,
    env: process.env,
    cwd: process.cwd(),
    now: () => new Date(),
  };
}
