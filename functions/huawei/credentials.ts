import { SecretError } from '../stores/secrets.ts';

export type Credentials =
  | { kind: 'token'; token: string }
  | { kind: 'iam'; domain: string; user: string; password: string; endpoint?: string };

/**
 * Reads an account secret: `{"token": "..."}` or `{"iam": {"domain", "user", "password",
 * "endpoint"?}}`. Errors say what is wrong with the secret by name and never echo its value.
 */
export function parseCredentials(secretName: string, value: string): Credentials {
  let doc: unknown;
  try {
    doc = JSON.parse(value);
  } catch {
    throw new SecretError(`secret "${secretName}" is not JSON; expected {"token": ...} or {"iam": {...}}`);
  }
  if (typeof doc !== 'object' || doc === null) {
    throw new SecretError(`secret "${secretName}" must be a JSON object: {"token": ...} or {"iam": {...}}`);
  }
  const record = doc as Record<string, unknown>;
  if (typeof record.token === 'string' && record.token !== '') return { kind: 'token', token: record.token };
  const iam = record.iam as Record<string, unknown> | undefined;
  if (typeof iam === 'object' && iam !== null) {
    const missing = ['domain', 'user', 'password'].filter((k) => typeof iam[k] !== 'string' || iam[k] === '');
    if (missing.length > 0) throw new SecretError(`secret "${secretName}": iam lacks ${missing.join(', ')}`);
    if (
      iam.endpoint !== undefined &&
      (typeof iam.endpoint !== 'string' || !/^https?:\/\//.test(iam.endpoint))
    ) {
      throw new SecretError(`secret "${secretName}": iam.endpoint must be an http(s) URL`);
    }
    return {
      kind: 'iam',
      domain: iam.domain as string,
      user: iam.user as string,
      password: iam.password as string,
      ...(typeof iam.endpoint === 'string' ? { endpoint: iam.endpoint } : {}),
    };
  }
  throw new SecretError(`secret "${secretName}" holds neither "token" nor "iam"`);
}
