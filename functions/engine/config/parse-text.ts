import type { Config } from './schema.ts';
import { ConfigError, type ConfigIssue, type ValidateOptions, validateConfig } from './validate.ts';

/**
 * The largest config, measured as the JSON string it becomes inside the stack's CloudFormation
 * template (which carries it to AppConfig as a hosted version). A template may be 1 MB at most,
 * and the rest of the stack takes some 50 KB of it.
 */
export const MAX_CONFIG_BYTES = 800 * 1024;

/** Parses config JSON text; a syntax error is reported as a ConfigError with line and column. */
export function parseConfigText(
  raw: string,
  source = 'config',
  options?: ValidateOptions & {
    /** Refuse a config too large to deploy (`validate`, `config push`, synth, the validator). */
    deployable?: boolean;
    /**
     * Adds each problem's line and column (`withPositions`, for what people read: the CLI,
     * synth, the validator). A hook rather than an import, so the tick and api bundles, which
     * only log a bad config, carry no JSON position parser.
     */
    locate?: (issues: ConfigIssue[], text: string) => ConfigIssue[];
  },
): Config {
  const issues = options?.deployable ? sizeIssues(raw) : [];
  let document: unknown;
  try {
    document = parseJson(raw, source);
  } catch (error) {
    if (error instanceof ConfigError)
      throw new ConfigError([...issues, ...error.issues], source, { cause: error });
    throw error;
  }
  const result = validateConfig(document, options);
  if (!result.ok) {
    const text = raw.replace(/^\uFEFF/, '');
    issues.push(...(options?.locate ? options.locate(result.issues, text) : result.issues));
  }
  if (issues.length > 0 || !result.ok) throw new ConfigError(issues, source);
  return result.config;
}

/** Said by validate, rather than by `cdk deploy` as a generic template-size error. */
function sizeIssues(text: string): ConfigIssue[] {
  const size = new TextEncoder().encode(JSON.stringify(text)).length;
  if (size <= MAX_CONFIG_BYTES) return [];
  return [
    {
      path: '(file)',
      message: `is ${mebibytes(size)}; a config may be at most ${MAX_CONFIG_BYTES / 1024} KiB, because the stack carries it to AppConfig inside its CloudFormation template (1 MB at most)`,
    },
  ];
}

/** Parses JSON text; a syntax error is a ConfigError with line and column. */
export function parseJson(raw: string, source = 'config'): unknown {
  // Some editors (Notepad among them) save UTF-8 with a byte-order mark, which JSON.parse refuses.
  const text = raw.replace(/^\uFEFF/, '');
  try {
    return JSON.parse(text);
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
}

const mebibytes = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
