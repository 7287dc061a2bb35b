import { createHmac, timingSafeEqual } from 'node:crypto';

export const TIMESTAMP_HEADER = 'x-nightshift-timestamp';
export const SIGNATURE_HEADER = 'x-nightshift-signature';
/** Requests signed further than this from now are refused; a signature is remembered this long. */
export const CLOCK_WINDOW_SECONDS = 300;

/**
 * `sha256=<hex HMAC-SHA256(key, timestamp + "." + METHOD + "." + target + "." + raw body)>`, where
 * target is the path and query string exactly as sent (`/v1/plan?hours=24`). Covering the method
 * and target keeps a signature made for one route (say an empty-bodied GET) from being valid on
 * any other.
 */
export function sign(
  key: string,
  timestamp: string,
  method: string,
  target: string,
  body: string | Buffer,
): string {
  const mac = createHmac('sha256', key);
  mac.update(`${timestamp}.${method.toUpperCase()}.${target}.`);
  mac.update(body);
  return `sha256=${mac.digest('hex')}`;
}

/** What a signature covers, as the server received it. */
export interface SignedRequest {
  method: string;
  /** Path and query string exactly as sent. */
  target: string;
  /** Lower-case names. */
  headers: Record<string, string | undefined>;
  body: string | Buffer;
}

export type SignatureCheck = { ok: true; timestamp: number } | { ok: false; reason: string };

/** Verifies a request's signature in constant time; never says which part of a MAC was wrong. */
export function verifySignature(key: string, request: SignedRequest, nowMs: number): SignatureCheck {
  const timestamp = request.headers[TIMESTAMP_HEADER];
  const signature = request.headers[SIGNATURE_HEADER];
  if (!timestamp || !signature) {
    return { ok: false, reason: `${TIMESTAMP_HEADER} and ${SIGNATURE_HEADER} headers are required` };
  }
  if (!/^\d{1,12}$/.test(timestamp)) return { ok: false, reason: `${TIMESTAMP_HEADER} must be unix seconds` };
  if (Math.abs(nowMs / 1000 - Number(timestamp)) > CLOCK_WINDOW_SECONDS) {
    return { ok: false, reason: `${TIMESTAMP_HEADER} is more than ${CLOCK_WINDOW_SECONDS} s from now` };
  }
  const expected = Buffer.from(sign(key, timestamp, request.method, request.target, request.body));
  const given = Buffer.from(signature);
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
    return { ok: false, reason: 'the signature does not match' };
  }
  return { ok: true, timestamp: Number(timestamp) };
}
