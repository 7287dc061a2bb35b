import { readFile } from 'node:fs/promises';
import { parseConfigText } from '../engine/config/parse-text.ts';
import { withPositions } from '../engine/config/positions.ts';
import {
  type CalendarSpan,
  checkCalendarSources,
  withCalendarData,
} from '../engine/config/resolve-calendars.ts';
import type { Config } from '../engine/config/schema.ts';

export class ConfigFileError extends Error {
  override readonly name = 'ConfigFileError';
}

/**
 * Reads and validates a config file; throws ConfigFileError or ConfigError. Calendars are checked
 * against the holiday libraries and get their dates for the span (default: around now).
 */
export async function readConfigFile(
  path: string,
  span?: CalendarSpan,
  options: { deployable?: boolean } = {},
): Promise<Config> {
  return withCalendarData(parseLocalConfigText(await readConfigText(path), path, options), span);
}

/**
 * Validates config text as the CLI does: the holiday libraries check each calendar's country.
 * `deployable` also refuses a config too large for the stack to carry (serve has no such limit).
 */
export function parseLocalConfigText(
  text: string,
  source: string,
  options: { deployable?: boolean } = {},
): Config {
  return parseConfigText(text, source, {
    extraChecks: checkCalendarSources,
    locate: withPositions,
    ...options,
  });
}

export async function readConfigText(path: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const reason = code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'is a directory' : String(error);
    throw new ConfigFileError(`cannot read config ${path}: ${reason}`, { cause: error });
  }
}
