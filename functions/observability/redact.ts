/**
 * The secret values this process knows (tokens, IAM passwords, access keys, the webhook key), so
 * that text coming from outside can be scrubbed of them before it reaches a result, an HTTP
 * answer, the history or a log. An upstream that echoes a token in its error body must not turn
 * Nightshift into the leak.
 */
const known = new Set<string>();
/** Longest first, so a secret containing another is replaced whole. */
let ordered: string[] = [];

export const REDACTED = '[REDACTED]';

/** Too short to be a secret worth the false positives (and to redact safely). */
const MIN_LENGTH = 6;

/** Remembers a secret value, in its plain and its JSON-escaped spelling. */
export function rememberSecret(value: unknown): void {
  if (typeof value !== 'string' || value.length < MIN_LENGTH) return;
  const before = known.size;
  known.add(value);
  const escaped = JSON.stringify(value).slice(1, -1);
  if (escaped !== value) known.add(escaped);
  if (known.size !== before) ordered = [...known].sort((a, b) => b.length - a.length);
}

/** The text with every known secret value replaced by `[REDACTED]`. */
export function redact(text: string): string {
  let out = text;
  for (const secret of ordered) if (out.includes(secret)) out = out.split(secret).join(REDACTED);
  return out;
}

/** `redact` for an optional string. */
export function redactOptional(text: string | undefined): string | undefined {
  return text === undefined ? undefined : redact(text);
}
