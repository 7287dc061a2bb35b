import { createHmac, timingSafeEqual } from 'node:crypto';

export const TIMESTAMP_HEADER = 'x-nightshift-timestamp';
export const SIGNATURE_HEADER = 'x-nightshift-signature';
/** Requests signed further than this from now are refused. */
export const CLOCK_WINDOW_SECONDS = 300;

/** `sha256=<hex HMAC-SHA256(key, timestamp + "." + raw body)>` */
export function sign(key: string, timestamp: string, body: string | Buffer): string {
  const mac = createHmac('sha256', key);
  mac.update(`${timestamp}.`);
  mac.update(body);
  return `sha256=${mac.digest('hex')}`;
}

export type SignatureCheck = { ok: true } | { ok: false; reason: string };

/** Verifies a request's signature in constant time; never says which part of a MAC was wrong. */
export function verifySignature(
  key: string,
  headers: Record<string, string | undefined>,
  body: string | Buffer,
  nowMs: number,
): SignatureCheck {
  const timestamp = headers[TIMESTAMP_HEADER];
  const signature = headers[SIGNATURE_HEADER];
  if (!timestamp || !signature) {
    return { ok: false, reason: `${TIMESTAMP_HEADER} and ${SIGNATURE_HEADER} headers are required` };
  }
  if (!/^\d{1,12}$/.test(timestamp)) return { ok: false, reason: `${TIMESTAMP_HEADER} must be unix seconds` };
  if (Math.abs(nowMs / 1000 - Number(timestamp)) > CLOCK_WINDOW_SECONDS) {
    return { ok: false, reason: `${TIMESTAMP_HEADER} is more than ${CLOCK_WINDOW_SECONDS} s from now` };
  }
  const expected = Buffer.from(sign(key, timestamp, body));
  const given = Buffer.from(signature);
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
    return { ok: false, reason: 'the signature does not match' };
  }
  return { ok: true };
}
