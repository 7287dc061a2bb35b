import type { Config } from './schema.ts';
import { ConfigError, type ConfigIssue, validateConfig } from './validate.ts';

/**
 * The largest config, measured as the JSON string it becomes inside the stack's CloudFormation
 * template (which carries it to AppConfig as a hosted version). A template may be 1 MB at most,
 * and the rest of the stack takes some 50 KB of it.
 */
export const MAX_CONFIG_BYTES = 800 * 1024;

/** Parses config JSON text; a syntax error is reported as a ConfigError with line and column. */
export function parseConfigText(raw: string, source = 'config'): Config {
  // Some editors (Notepad among them) save UTF-8 with a byte-order mark, which JSON.parse refuses.
  const text = raw.replace(/^\uFEFF/, '');
  const issues: ConfigIssue[] = [];
  const size = new TextEncoder().encode(JSON.stringify(text)).length;
  if (size > MAX_CONFIG_BYTES) {
    // Said here, by validate, rather than by `cdk deploy` as a generic template-size error.
    issues.push({
      path: '(file)',
      message: `is ${mebibytes(size)}; a config may be at most ${MAX_CONFIG_BYTES / 1024} KiB, because the stack carries it to AppConfig inside its CloudFormation template (1 MB at most)`,
    });
  }
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
    issues.push({ path: where, message: `not valid JSON: ${message}` });
    throw new ConfigError(issues, source, { cause: error });
  }
  const result = validateConfig(document);
  if (!result.ok) issues.push(...result.issues);
  if (issues.length > 0 || !result.ok) throw new ConfigError(issues, source);
  return result.config;
}

const mebibytes = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
