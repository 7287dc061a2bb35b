import { readFileSync } from 'node:fs';
import { parseConfigText } from '../functions/engine/config/parse-text.ts';
import type { Config } from '../functions/engine/config/schema.ts';

/** Reads and validates the config at synth time; throws ConfigError naming every JSON path. */
export function readConfigFileSync(path: string): Config {
  return parseConfigText(readFileSync(path, 'utf8'), path);
}
