import { resolve } from 'node:path';
import { type ParseArgsConfig, parseArgs } from 'node:util';
import { MONTH_NAMES } from '../engine/calendar/months.ts';
import { type Action, isAction } from '../engine/kinds.ts';
import type { CliIo } from './io.ts';
import { UsageError } from './io.ts';

type Options = NonNullable<ParseArgsConfig['options']>;
export type Values = Record<string, string | boolean | string[] | undefined>;

export interface Command {
  name: string;
  /** Full help text, shown by `--help`. */
  help: string;
  options: Options;
  allowPositionals?: boolean;
  /** The option naming the command's state folder, when not `--state` (override: `--state-dir`). */
  stateDirOption?: string;
  run(values: Values, positionals: string[], io: CliIo): Promise<number>;
}

/** Options every command takes. */
export const commonOptions = {
  config: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const satisfies Options;

export const COMMON_HELP = `  --config FILE   the schedule config (default config/schedule.json)
  -h, --help      show this help`;

export function parseCommandArgs(
  command: Command,
  argv: string[],
): { values: Values; positionals: string[] } {
  try {
    const { values, positionals } = parseArgs({
      args: argv,
      options: { ...commonOptions, ...command.options },
      strict: true,
      allowPositionals: command.allowPositionals ?? false,
    });
    return { values: values as Values, positionals };
  } catch (error) {
    throw new UsageError(error instanceof Error ? error.message : String(error), { cause: error });
  }
}

export function configPath(values: Values, io: CliIo): string {
  return resolve(io.cwd, typeof values.config === 'string' ? values.config : 'config/schedule.json');
}

/** The state folder a command works with: its state option, default `.nightshift/`. */
export function stateDirOf(command: Pick<Command, 'stateDirOption'>, values: Values, cwd: string): string {
  const given = values[command.stateDirOption ?? 'state'];
  return resolve(cwd, typeof given === 'string' ? given : '.nightshift');
}

export function stringOption(values: Values, name: string): string | undefined {
  const value = values[name];
  return typeof value === 'string' ? value : undefined;
}

/** Parses an ISO 8601 instant; a date-time must carry `Z` or an offset so it is not ambiguous. */
export function parseInstant(text: string, option: string): Date {
  const dateOnly = /^\d{4}-\d{2}-\d{2}$/.test(text);
  const zoned = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})$/i.test(text);
  if (!dateOnly && !zoned) {
    throw new UsageError(`${option} must be an ISO 8601 instant such as 2027-03-27T00:00:00Z, got "${text}"`);
  }
  // Date parsing takes any day up to 31 and rolls it over (2027-04-31 becomes May 1), so the
  // calendar date is checked on its own first.
  const [year, month, day] = text.slice(0, 10).split('-').map(Number) as [number, number, number];
  if (month < 1 || month > 12) {
    throw new UsageError(`${option}: ${text.slice(0, 10)} is not a date: there is no month ${month}`);
  }
  const days = new Date(Date.UTC(year, month, 0)).getUTCDate();
  if (day < 1 || day > days) {
    throw new UsageError(
      `${option}: ${text.slice(0, 10)} is not a date: ${MONTH_NAMES[month - 1]} ${year} has ${days} days`,
    );
  }
  const date = new Date(dateOnly ? `${text}T00:00:00Z` : text);
  if (Number.isNaN(date.getTime())) {
    throw new UsageError(`${option} must be an ISO 8601 instant such as 2027-03-27T00:00:00Z, got "${text}"`);
  }
  return date;
}

export function writeJson(io: CliIo, value: unknown): void {
  io.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

/** The options that say what to do to which targets, shared by `run` and `trigger`. */
export const selectionOptions = {
  action: { type: 'string' },
  target: { type: 'string', multiple: true },
  schedule: { type: 'string' },
} as const satisfies Options;

/** Reads `--action` and exactly one of `--target NAME ...` / `--schedule ID`. */
export function selectionOf(values: Values): {
  action: Action;
  targets: string[];
  schedule: string | undefined;
} {
  const action = stringOption(values, 'action');
  if (!action) throw new UsageError('--action is required (start, stop, pause or resume)');
  if (!isAction(action))
    throw new UsageError(`--action must be start, stop, pause or resume, got "${action}"`);
  const targets = (values.target as string[] | undefined) ?? [];
  const schedule = stringOption(values, 'schedule');
  if (targets.length > 0 === (schedule !== undefined)) {
    throw new UsageError('give either --target NAME (one or more) or --schedule ID');
  }
  return { action, targets, schedule };
}
