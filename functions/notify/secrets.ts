import type { SinkType } from '../engine/config/notifications.ts';
import type { Config } from '../engine/config/schema.ts';
import { rememberSecret } from '../observability/redact.ts';
import type { SecretSource } from '../stores/secrets.ts';

/**
 * What a sink's secret holds: the webhook URL (itself a credential: it carries the robot's token
 * or key), and the signing secret where the service signs requests. Never printed, logged or
 * stored: errors about it name the secret and the field, never a value.
 */
export interface SinkSecret {
  url: URL;
  /** DingTalk ("加签", starts with SEC) and Feishu ("签名校验"): optional. */
  signSecret?: string;
  /** The generic webhook: the HMAC key our signature is made with. */
  key?: string;
}

/** A sink's secret is missing or malformed. Names the sink, the secret and the field; no value. */
export class SinkSecretError extends Error {
  override readonly name = 'SinkSecretError';
  constructor(
    message: string,
    readonly sink: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

const FIELDS: Record<SinkType, { required: string[]; optional: string[] }> = {
  slack: { required: ['url'], optional: [] },
  teams: { required: ['url'], optional: [] },
  wecom: { required: ['url'], optional: [] },
  dingtalk: { required: ['url'], optional: ['signSecret'] },
  feishu: { required: ['url'], optional: ['signSecret'] },
  webhook: { required: ['url', 'key'], optional: [] },
};

/** The shape a sink type's secret must have, for messages. */
export function secretShape(type: SinkType): string {
  const { required, optional } = FIELDS[type];
  return `{${[...required.map((f) => `"${f}": "..."`), ...optional.map((f) => `"${f}"?: "..."`)].join(', ')}}`;
}

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]']);

/**
 * Parses and checks a sink's secret value. The URL must be https (http only to this machine: a
 * local relay, or the tests' receivers); every field a non-empty string with no spaces around it
 * (a common paste); unknown fields are refused (a misspelt `signSecret` would silently sign nothing).
 */
export function parseSinkSecret(sink: string, type: SinkType, secretName: string, raw: string): SinkSecret {
  const fail = (why: string): never => {
    throw new SinkSecretError(
      `sink "${sink}" (${type}): secret "${secretName}" is malformed: ${why}; it must hold ${secretShape(type)}`,
      sink,
    );
  };
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    return fail('not JSON');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return fail('not a JSON object');
  const fields = value as Record<string, unknown>;
  const { required, optional } = FIELDS[type];
  for (const key of Object.keys(fields))
    if (!required.includes(key) && !optional.includes(key)) fail(`unknown field "${key}"`);
  for (const key of [...required, ...optional]) {
    if (!Object.hasOwn(fields, key)) {
      if (required.includes(key)) fail(`"${key}" is missing`);
      continue;
    }
    const text = fields[key];
    if (typeof text !== 'string' || text === '') fail(`"${key}" must be a non-empty string`);
    if ((text as string).trim() !== text) fail(`"${key}" has spaces or a line break around it`);
  }
  let url: URL;
  try {
    url = new URL(fields.url as string);
  } catch {
    return fail('"url" is not a URL');
  }
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && LOOPBACK.has(url.hostname)))
    fail('"url" must be an https URL (http only to 127.0.0.1 or localhost)');
  // Whatever an answer or an error echoes back, these never reach a log or a message.
  rememberSecret(url.href);
  for (const part of [url.pathname, url.search.slice(1), ...url.searchParams.values()])
    if (part.length >= 12) rememberSecret(part);
  if (typeof fields.signSecret === 'string') rememberSecret(fields.signSecret);
  if (typeof fields.key === 'string') rememberSecret(fields.key);
  return {
    url,
    ...(typeof fields.signSecret === 'string' ? { signSecret: fields.signSecret } : {}),
    ...(typeof fields.key === 'string' ? { key: fields.key } : {}),
  };
}

/** Reads and checks one sink's secret; a missing one is a SinkSecretError naming it. */
export async function loadSinkSecret(
  source: SecretSource,
  sink: string,
  type: SinkType,
  secretName: string,
  options: { refresh?: boolean } = {},
): Promise<SinkSecret> {
  let raw: string;
  try {
    raw = await source.get(secretName, options);
  } catch (error) {
    throw new SinkSecretError(
      `sink "${sink}" (${type}): secret "${secretName}" is missing: ${(error as Error).message}`,
      sink,
      { cause: error },
    );
  }
  return parseSinkSecret(sink, type, secretName, raw);
}

/** Every sink's secret problem, each with the config path of the sink's `secret`: for serve and validate. */
export async function sinkSecretProblems(
  config: Config,
  source: SecretSource,
): Promise<{ path: string; message: string }[]> {
  const problems: { path: string; message: string }[] = [];
  for (const [name, sink] of Object.entries(config.notifications?.sinks ?? {})) {
    try {
      await loadSinkSecret(source, name, sink.type, sink.secret);
    } catch (error) {
      if (!(error instanceof SinkSecretError)) throw error;
      const key = /^[A-Za-z_$][\w$-]*$/.test(name) ? `.${name}` : `[${JSON.stringify(name)}]`;
      problems.push({ path: `notifications.sinks${key}.secret`, message: error.message });
    }
  }
  return problems;
}
