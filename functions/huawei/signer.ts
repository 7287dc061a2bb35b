import { createHash, createHmac } from 'node:crypto';

/**
 * SDK-HMAC-SHA256, the access-key signature of the Huawei Cloud API gateway (API Request Signing
 * Guide), with node:crypto only: the official core SDK would bring axios, lodash and moment into
 * the Lambda bundles for thirty lines of hashing.
 *
 * The same functions serve the client (signing what it sends) and the simulator (checking what it
 * received), so both build the canonical request from the bytes on the wire, never from objects.
 */

export const SDK_ALGORITHM = 'SDK-HMAC-SHA256';
export const SDK_DATE_HEADER = 'x-sdk-date';

/** An access key: permanent (AK/SK) or temporary (with the security token that goes with it). */
export interface AccessKey {
  ak: string;
  sk: string;
  securityToken?: string;
}

/** What is signed: the request exactly as it goes out. */
export interface SignableRequest {
  method: string;
  /** Path and query as sent, e.g. `/v3/auth/tokens?nocatalog=true`. */
  target: string;
  /** Header names (any case) to values, as sent. */
  headers: Readonly<Record<string, string>>;
  /** The exact body bytes; undefined or empty for no body. */
  body?: Uint8Array | undefined;
}

/** `20191115T033655Z`: the X-Sdk-Date format (UTC, no separators, no fraction). */
export function sdkDate(ms: number): string {
  return new Date(ms)
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d{3}/, '');
}

/** The instant an X-Sdk-Date names, or undefined when it is not in that exact format. */
export function parseSdkDate(text: string): number | undefined {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(text);
  if (!m) return undefined;
  const ms = Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!);
  // Date.UTC rolls 2026-02-30 over into March: a date that does not exist is not a date.
  return sdkDate(ms) === text ? ms : undefined;
}

/** RFC 3986 encoding: everything but the unreserved characters `A-Z a-z 0-9 - _ . ~`. */
export function encodeRfc3986(text: string): string {
  return encodeURIComponent(text).replace(
    /[!'()*]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  );
}

/**
 * Each path segment decoded and encoded again (so `%2f` and `%2F` sign alike), and a `/` at the
 * end: the gateway always adds one, whether the request had it or not.
 */
export function canonicalUri(path: string): string {
  const joined = path
    .split('/')
    .map((segment) => encodeRfc3986(safeDecode(segment)))
    .join('/');
  return joined.endsWith('/') ? joined : `${joined}/`;
}

/** `a=1&b=2`: parameters decoded, encoded again, sorted by name, then by value. */
export function canonicalQuery(query: string): string {
  const text = query.startsWith('?') ? query.slice(1) : query;
  if (text === '') return '';
  return text
    .split('&')
    .filter((pair) => pair !== '')
    .map((pair) => {
      const at = pair.indexOf('=');
      const name = at < 0 ? pair : pair.slice(0, at);
      const value = at < 0 ? '' : pair.slice(at + 1);
      return [encodeRfc3986(safeDecode(name)), encodeRfc3986(safeDecode(value))] as const;
    })
    .sort(([n1, v1], [n2, v2]) => compare(n1, n2) || compare(v1, v2))
    .map(([name, value]) => `${name}=${value}`)
    .join('&');
}

/** The signed header names: lower-cased, sorted, each once. */
export function signedHeaderNames(headers: Readonly<Record<string, string>>): string[] {
  return [...new Set(Object.keys(headers).map((name) => name.toLowerCase()))].sort(compare);
}

/**
 * The six lines of the canonical request: method, URI, query, the signed headers as
 * `name:value` lines (their block ends with a blank line), their names, and the hex SHA-256 of
 * the body. `signed` names the headers that take part; each must be in `headers`.
 */
export function canonicalRequest(request: SignableRequest, signed: readonly string[]): string {
  const [path, query = ''] = splitTarget(request.target);
  const lower = lowerCaseHeaders(request.headers);
  const headerLines = signed.map((name) => `${name}:${(lower[name] ?? '').trim()}\n`).join('');
  return [
    request.method.toUpperCase(),
    canonicalUri(path),
    canonicalQuery(query),
    headerLines,
    signed.join(';'),
    sha256Hex(request.body ?? new Uint8Array()),
  ].join('\n');
}

/** `SDK-HMAC-SHA256\n<X-Sdk-Date>\n<hex sha256(canonical request)>` */
export function stringToSign(date: string, canonical: string): string {
  return `${SDK_ALGORITHM}\n${date}\n${sha256Hex(canonical)}`;
}

/** Hex HMAC-SHA256 of the string to sign, keyed by the secret key. */
export function signature(sk: string, toSign: string): string {
  return createHmac('sha256', sk).update(toSign, 'utf8').digest('hex');
}

export function authorizationHeader(ak: string, signed: readonly string[], sig: string): string {
  return `${SDK_ALGORITHM} Access=${ak}, SignedHeaders=${signed.join(';')}, Signature=${sig}`;
}

/** The parts of an `Authorization: SDK-HMAC-SHA256 ...` header, or undefined if it is not one. */
export function parseAuthorization(
  value: string,
): { access: string; signedHeaders: string[]; signature: string } | undefined {
  const m =
    /^SDK-HMAC-SHA256\s+Access=([^,\s]+),\s*SignedHeaders=([^,\s]+),\s*Signature=([0-9a-fA-F]+)$/.exec(
      value.trim(),
    );
  if (!m) return undefined;
  return { access: m[1]!, signedHeaders: m[2]!.split(';'), signature: m[3]!.toLowerCase() };
}

/**
 * Signs a request made at `nowMs`: returns the headers to add (`X-Sdk-Date` and
 * `Authorization`). Every header in `request.headers` is signed, together with the date: they
 * are the ones the caller sends, `host` included, so the gateway can recompute the same lines.
 */
export function signRequest(request: SignableRequest, key: AccessKey, nowMs: number): Record<string, string> {
  const date = sdkDate(nowMs);
  const headers = { ...lowerCaseHeaders(request.headers), [SDK_DATE_HEADER]: date };
  const signed = signedHeaderNames(headers);
  const canonical = canonicalRequest({ ...request, headers }, signed);
  const sig = signature(key.sk, stringToSign(date, canonical));
  return { [SDK_DATE_HEADER]: date, authorization: authorizationHeader(key.ak, signed, sig) };
}

export function sha256Hex(data: string | Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

function splitTarget(target: string): [string, string?] {
  const at = target.indexOf('?');
  return at < 0 ? [target] : [target.slice(0, at), target.slice(at + 1)];
}

function lowerCaseHeaders(headers: Readonly<Record<string, string>>): Record<string, string> {
  return Object.fromEntries(Object.entries(headers).map(([name, value]) => [name.toLowerCase(), value]));
}

/** A malformed escape (`%zz`) is kept as it is instead of failing the whole request. */
function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

/** Code-unit order, not locale order: both sides must sort the same way on any machine. */
function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
