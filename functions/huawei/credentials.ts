import { SecretError, SecretNotSetError } from '../stores/secrets.ts';

export type Credentials =
  | { kind: 'token'; token: string }
  | { kind: 'iam'; domain: string; user: string; password: string; endpoint?: string }
  | { kind: 'aksk'; ak: string; sk: string; securityToken?: string };

const FORMS = '{"token": ...}, {"iam": {...}} or {"aksk": {...}}';

/**
 * Reads an account secret: `{"token": "..."}`, `{"iam": {"domain", "user", "password",
 * "endpoint"?}}` or `{"aksk": {"ak", "sk", "securityToken"?}}`. Errors say what is wrong with
 * the secret by name and field, and never echo a value (hand-written rather than zod: a schema
 * library's messages may quote what it received).
 */
export function parseCredentials(secretName: string, value: string): Credentials {
  let doc: unknown;
  try {
    doc = JSON.parse(value);
  } catch {
    throw new SecretError(`secret "${secretName}" is not JSON; expected ${FORMS}`);
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) {
    throw new SecretError(`secret "${secretName}" must be a JSON object: ${FORMS}`);
  }
  const record = doc as Record<string, unknown>;
  const forms = ['token', 'iam', 'aksk'].filter((k) => record[k] !== undefined);
  if (forms.length === 0 && Object.hasOwn(record, 'placeholder')) {
    // The value the stack created the secret with: a step not yet taken, not a broken secret.
    throw new SecretNotSetError(
      `secret "${secretName}" is not set: it still holds the placeholder the stack created; put the account credentials in it (README: Deploy, Fill in the secrets)`,
    );
  }
  if (forms.length > 1) {
    // Which one would win is a guess the user should not have to make.
    throw new SecretError(`secret "${secretName}" holds more than one of "token", "iam", "aksk"; keep one`);
  }
  if (typeof record.token === 'string' && record.token !== '') return { kind: 'token', token: record.token };
  if (isObject(record.iam)) return iamCredentials(secretName, record.iam);
  if (isObject(record.aksk)) return accessKey(secretName, record.aksk);
  throw new SecretError(`secret "${secretName}" holds none of "token", "iam", "aksk"`);
}

function iamCredentials(secretName: string, iam: Record<string, unknown>): Credentials {
  const missing = ['domain', 'user', 'password'].filter((k) => !isText(iam[k]));
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

function accessKey(secretName: string, aksk: Record<string, unknown>): Credentials {
  const missing = ['ak', 'sk'].filter((k) => !isText(aksk[k]));
  if (missing.length > 0) throw new SecretError(`secret "${secretName}": aksk lacks ${missing.join(', ')}`);
  if (aksk.securityToken !== undefined && !isText(aksk.securityToken)) {
    throw new SecretError(`secret "${secretName}": aksk.securityToken must be a non-empty string`);
  }
  const unknown = Object.keys(aksk).filter((k) => !['ak', 'sk', 'securityToken'].includes(k));
  if (unknown.length > 0) {
    // A misspelt "securitytoken" would otherwise be dropped silently, and every call refused.
    throw new SecretError(`secret "${secretName}": aksk has unknown field ${unknown.join(', ')}`);
  }
  // Header values cannot hold line breaks; a pasted key often ends with one.
  for (const field of ['ak', 'sk', 'securityToken']) {
    const v = aksk[field];
    if (typeof v === 'string' && (v !== v.trim() || /[\r\n]/.test(v))) {
      throw new SecretError(`secret "${secretName}": aksk.${field} has leading or trailing white space`);
    }
  }
  return {
    kind: 'aksk',
    ak: aksk.ak as string,
    sk: aksk.sk as string,
    ...(typeof aksk.securityToken === 'string' ? { securityToken: aksk.securityToken } : {}),
  };
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);
const isText = (v: unknown): v is string => typeof v === 'string' && v !== '';
