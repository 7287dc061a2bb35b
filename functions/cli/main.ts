import packageJson from '../../package.json' with { type: 'json' };
import { cliClock } from '../local/clock.ts';
import { type Command, parseCommandArgs, stateDirOf } from './command.ts';
import { type CliIo, EXIT_FAILED, EXIT_OK, EXIT_USAGE, UsageError } from './io.ts';
import { tidySdkWarnings } from './warnings.ts';

/**
 * The table of contents of the CLI. A command's module is imported only when that command runs
 * (or its help is asked for), so `validate` never loads the AWS SDK, undici or the local runtime:
 * in the built CLI each command is its own chunk.
 */
interface CommandEntry {
  name: string;
  summary: string;
  load(): Promise<Command>;
}

const commands: CommandEntry[] = [
  {
    name: 'validate',
    summary: 'check the schedule config and print every problem with its JSON path',
    load: async () => (await import('./commands/validate.ts')).validateCommand,
  },
  {
    name: 'plan',
    summary: 'list the actions that will fire in a time window',
    load: async () => (await import('./commands/plan.ts')).planCommand,
  },
  {
    name: 'run',
    summary: 'carry an action out now on targets or on a schedule’s targets',
    load: async () => (await import('./commands/run.ts')).runCommand,
  },
  {
    name: 'serve',
    summary: 'run the minute tick and the HTTP API locally (--simulate: against the built-in simulator)',
    load: async () => (await import('./commands/serve.ts')).serveCommand,
  },
  {
    name: 'trigger',
    summary: 'send a signed action request to a running Nightshift HTTP API',
    load: async () => (await import('./commands/trigger.ts')).triggerCommand,
  },
  {
    name: 'config',
    summary: 'push the validated config to the deployed stack’s AppConfig, or pull what is deployed',
    load: async () => (await import('./commands/config.ts')).configCommand,
  },
  {
    name: 'override',
    summary: 'hold targets in a state for a while, whatever the schedules say (add, list, remove)',
    load: async () => (await import('./commands/override.ts')).overrideCommand,
  },
  {
    name: 'status',
    summary: 'what each target should be, what it is now, and what comes next',
    load: async () => (await import('./commands/status.ts')).statusCommand,
  },
  {
    name: 'calendar',
    summary: 'show which holidays and working days a calendar of the config knows in a year',
    load: async () => (await import('./commands/calendar.ts')).calendarCommand,
  },
  {
    name: 'notify',
    summary: 'send a test message through a notification sink (notify test --sink NAME)',
    load: async () => (await import('./commands/notify.ts')).notifyCommand,
  },
  {
    name: 'history',
    summary: 'what Nightshift did, newest first',
    load: async () => (await import('./commands/history.ts')).historyCommand,
  },
  {
    name: 'savings',
    summary: 'hours held off and cost avoided, per target and in total (default: this month so far)',
    load: async () => (await import('./commands/savings.ts')).savingsCommand,
  },
  {
    name: 'open',
    summary: 'print a one-time sign-in link to the page (week, status, overrides, history)',
    load: async () => (await import('./commands/open.ts')).openCommand,
  },
];

/** Set by the CLI build (esbuild `define`); absent when the CLI runs from the sources. */
declare const NIGHTSHIFT_CLI_BUILT_AT: string | undefined;

/** `nightshift --version`: the package version, then how this CLI runs. */
export function versionLine(): string {
  const builtAt = typeof NIGHTSHIFT_CLI_BUILT_AT === 'string' ? NIGHTSHIFT_CLI_BUILT_AT : undefined;
  const how = builtAt ? `built CLI of ${builtAt}` : 'from the sources via tsx';
  return `nightshift ${packageJson.version} (${how}, Node.js ${process.version})`;
}

function overview(): string {
  const width = Math.max(...commands.map((c) => c.name.length));
  return `Usage: nightshift <command> [options]

Nightshift starts, stops, pauses and resumes Huawei Cloud tasks on a schedule.

Commands:
${commands.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`).join('\n')}

Run "nightshift <command> --help" for a command's options, "nightshift --version" for the version.
Exit codes: 0 success, 1 an action or validation failed, 2 bad usage.
`;
}

/** Runs one CLI invocation and returns its exit code. */
export async function main(argv: string[], io: CliIo): Promise<number> {
  const [name, ...rest] = argv;
  if (name === '--version' || name === '-V') {
    io.stdout.write(`${versionLine()}\n`);
    return EXIT_OK;
  }
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    const topic = name === 'help' ? commands.find((c) => c.name === rest[0]) : undefined;
    io.stdout.write(topic ? `${(await topic.load()).help}\n` : overview());
    return name === undefined ? EXIT_USAGE : EXIT_OK;
  }
  const entry = commands.find((c) => c.name === name);
  if (!entry) {
    io.stderr.write(`nightshift: unknown command "${name}"\n\n${overview()}`);
    return EXIT_USAGE;
  }
  const command = await entry.load();
  try {
    const { values, positionals } = parseCommandArgs(command, rest);
    if (values.help) {
      io.stdout.write(`${command.help}\n`);
      return EXIT_OK;
    }
    // Every command runs on the clock NIGHTSHIFT_CLOCK_* asks for (serve's demo clock, when serve
    // published it in the state folder), so what it signs, plans and stores fits the runtime's time.
    const runIo = io.clockFor ? { ...io, now: io.clockFor(stateDirOf(command, values, io.cwd)) } : io;
    return await command.run(values, positionals, runIo);
  } catch (error) {
    if (error instanceof UsageError) {
      io.stderr.write(
        `nightshift ${command.name}: ${error.message}\nRun "nightshift ${command.name} --help".\n`,
      );
      return EXIT_USAGE;
    }
    if (isConfigProblem(error)) {
      io.stderr.write(`nightshift ${command.name}: ${error.message}\n`);
      return EXIT_FAILED;
    }
    io.stderr.write(
      `nightshift ${command.name}: ${error instanceof Error ? `${error.name}: ${error.message}` : String(error)}\n`,
    );
    return EXIT_FAILED;
  }
}

/**
 * A ConfigError or ConfigFileError, told by name: importing those classes here would load zod
 * and the schema for every command, `--version` and `trigger` included.
 */
function isConfigProblem(error: unknown): error is Error {
  return (
    error instanceof Error &&
    (error.name === 'ConfigError' || error.name === 'ConfigFileError' || error.name === 'ApiCallError')
  );
}

export function processIo(): CliIo {
  return {
    stdout: process.stdout,
    stderr: process.stderr,
    env: process.env,
    cwd: process.cwd(),
    now: () => new Date(),
    clockFor: (stateDir) => {
      let clock: ReturnType<typeof cliClock>;
      try {
        clock = cliClock(process.env, stateDir);
      } catch (error) {
        // A malformed NIGHTSHIFT_CLOCK_START or _SPEED is the caller's to fix: bad usage.
        throw new UsageError((error as Error).message, { cause: error });
      }
      return () => new Date(clock.now());
    },
  };
}

/** The CLI as its process runs it (`bin/nightshift.mjs`): the real stdio, tidy warnings. */
export async function runProcess(argv: string[]): Promise<number> {
  tidySdkWarnings(process, (line) => process.stderr.write(line));
  return main(argv, processIo());
}
