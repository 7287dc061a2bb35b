import { readFile } from 'node:fs/promises';
import { parseConfigText } from '../engine/config/parse-text.ts';
import type { Config } from '../engine/config/schema.ts';

export class ConfigFileError extends Error {
  override readonly name = 'ConfigFileError';
}

/** Reads and validates a config file; throws ConfigFileError or ConfigError. */
export async function readConfigFile(path: string): Promise<Config> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const reason = code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'is a directory' : String(error);
    throw new ConfigFileError(`cannot read config ${path}: ${reason}`, { cause: error });
  }
  return parseConfigText(text, path);
}
