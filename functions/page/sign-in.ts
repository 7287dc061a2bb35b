import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { PageScope } from '../engine/ledger.ts';

/**
 * Sign-in links and session cookies of the page.
 *
 * A link carries a token `v1.<payload>.<mac>`: the payload (base64url JSON) names the link's id,
 * its expiry, its scope and who it is for; the MAC is HMAC-SHA256 with the webhook key over a
 * label and the payload, so only a holder of the key (`nightshift open`, `serve`) makes links,
 * and a request signature can never pass for a link or the reverse. The server exchanges a link
 * once (its id is marked used in the ledger) for a session: a random cookie value, of which the
 * ledger keeps only the SHA-256. The CSRF token of a session is an HMAC of its cookie value, so it
 * needs no storage and is worthless without the cookie.
 */

export const SESSION_COOKIE = 'nightshift_session';
/** A session lasts an on-call shift. */
export const SESSION_TTL_MS = 12 * 3600_000;
export const DEFAULT_LINK_TTL_MS = 15 * 60_000;
/** A link is a bearer credential: it may not outlive a day. */
export const MAX_LINK_TTL_MS = 24 * 3600_000;

const LINK_LABEL = 'nightshift-sign-in-link.v1.';
const CSRF_LABEL = 'nightshift-page-csrf.v1';

export interface LinkClaims {
  /** Random: the ledger marks it used. */
  id: string;
  /** Epoch ms. */
  exp: number;
  scope: PageScope;
  /** Who the link is for: shown on the page, recorded as `createdBy`. */
  as: string;
}

export type LinkCheck =
  | { ok: true; claims: LinkClaims }
  | { ok: false; reason: 'malformed' | 'signature' | 'expired' };

export function makeSignInToken(
  key: string,
  options: { now: number; ttlMs: number; scope: PageScope; as: string },
): { token: string; claims: LinkClaims } {
  if (!(options.ttlMs > 0 && options.ttlMs <= MAX_LINK_TTL_MS))
    throw new RangeError(`a sign-in link lasts more than 0 and at most ${MAX_LINK_TTL_MS / 3600_000} hours`);
  const claims: LinkClaims = {
    id: randomBytes(16).toString('base64url'),
    exp: options.now + options.ttlMs,
    scope: options.scope,
    as: options.as,
  };
  const payload = Buffer.from(JSON.stringify(claims)).toString('base64url');
  return { token: `v1.${payload}.${mac(key, payload)}`, claims };
}

/** The link's URL on a server whose base URL (scheme, host, any stage prefix) is `base`. */
export function signInUrl(base: string, token: string): string {
  return `${base.replace(/\/+$/, '')}/signin?token=${token}`;
}

/** Checks a token's MAC (in constant time), shape and expiry; whether it was used is the ledger's. */
export function checkSignInToken(key: string, token: string, now: number): LinkCheck {
  const parts = token.split('.');
  if (parts.length !== 3 || parts[0] !== 'v1' || !/^[A-Za-z0-9_-]{1,2000}$/.test(parts[1]!))
    return { ok: false, reason: 'malformed' };
  const expected = Buffer.from(mac(key, parts[1]!));
  const given = Buffer.from(parts[2]!);
  if (given.length !== expected.length || !timingSafeEqual(given, expected))
    return { ok: false, reason: 'signature' };
  let claims: LinkClaims;
  try {
    claims = JSON.parse(Buffer.from(parts[1]!, 'base64url').toString('utf8')) as LinkClaims;
  } catch {
    return { ok: false, reason: 'malformed' };
  }
  if (
    typeof claims.id !== 'string' ||
    typeof claims.exp !== 'number' ||
    (claims.scope !== 'read' && claims.scope !== 'write') ||
    typeof claims.as !== 'string'
  )
    return { ok: false, reason: 'malformed' };
  if (claims.exp <= now) return { ok: false, reason: 'expired' };
  return { ok: true, claims };
}

function mac(key: string, payload: string): string {
  return createHmac('sha256', key).update(LINK_LABEL).update(payload).digest('base64url');
}

/** SHA-256 hex: how the ledger knows a cookie value or a link id without holding it. */
export function hashOf(value: string): string {
  return createHash('sha256').update(value).digest('hex');
}

export function newSessionId(): string {
  return randomBytes(32).toString('base64url');
}

export function csrfTokenOf(sessionId: string): string {
  return createHmac('sha256', sessionId).update(CSRF_LABEL).digest('base64url');
}

export function csrfMatches(sessionId: string, given: string | undefined): boolean {
  if (!given) return false;
  const expected = Buffer.from(csrfTokenOf(sessionId));
  const actual = Buffer.from(given);
  return actual.length === expected.length && timingSafeEqual(actual, expected);
}

/** The session cookie's value from a `Cookie` header, if any and well-formed. */
export function sessionIdOf(cookieHeader: string | undefined): string | undefined {
  if (!cookieHeader) return undefined;
  for (const part of cookieHeader.split(';')) {
    const eq = part.indexOf('=');
    if (eq === -1 || part.slice(0, eq).trim() !== SESSION_COOKIE) continue;
    const value = part.slice(eq + 1).trim();
    if (/^[A-Za-z0-9_-]{43}$/.test(value)) return value;
  }
  return undefined;
}

/** `Set-Cookie` for a session: HttpOnly, SameSite=Strict, Secure over https. */
export function sessionCookie(sessionId: string, maxAgeMs: number, secure: boolean): string {
  return [
    `${SESSION_COOKIE}=${sessionId}`,
    'Path=/',
    `Max-Age=${Math.floor(maxAgeMs / 1000)}`,
    'HttpOnly',
    'SameSite=Strict',
    ...(secure ? ['Secure'] : []),
  ].join('; ');
}

export function clearedSessionCookie(secure: boolean): string {
  return sessionCookie('', 0, secure).replace(`${SESSION_COOKIE}=;`, `${SESSION_COOKIE}=deleted;`);
}

/** `15m`, `2h`, `1d`, `90s`, or combined as `1h30m`: a duration in ms, or undefined when unreadable. */
export function parseDuration(text: string): number | undefined {
  const match = /^(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$/.exec(text.trim());
  if (!match || text.trim() === '') return undefined;
  const [, d, h, m, s] = match.map((v) => Number(v ?? 0));
  return (((d! * 24 + h!) * 60 + m!) * 60 + s!) * 1000;
}
