import type { Config } from './schema.ts';
import { ConfigError, parseConfig, type ValidateOptions } from './validate.ts';

/** Parses config JSON text; a syntax error is reported as a ConfigError with line and column. */
export function parseConfigText(text: string, source = 'config', options?: ValidateOptions): Config {
  return parseConfig(parseJson(text, source), source, options);
}

/** Parses JSON text; a syntax error is a ConfigError with line and column. */
export function parseJson(text: string, source = 'config'): unknown {
  let document: unknown;
  try {
    document = JSON.parse(text);
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    const position = /position (\d+)/.exec(message);
    let where = '(root)';
    if (position) {
      const before = text.slice(0, Number(position[1]));
      const line = before.split('\n').length;
      const column = before.length - before.lastIndexOf('\n');
      where = `(line ${line}, column ${column})`;
    }
    throw new ConfigError([{ path: where, message: `not valid JSON: ${message}` }], source, { cause: error });
  }
  return document;
}
