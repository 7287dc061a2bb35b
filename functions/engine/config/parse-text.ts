import type { Config } from './schema.ts';
import { ConfigError, parseConfig } from './validate.ts';

/** Parses config JSON text; a syntax error is reported as a ConfigError with line and column. */
export function parseConfigText(raw: string, source = 'config'): Config {
  // Some editors (Notepad among them) save UTF-8 with a byte-order mark, which JSON.parse refuses.
  const text = raw.replace(/^\uFEFF/, '');
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
  return parseConfig(document, source);
}
