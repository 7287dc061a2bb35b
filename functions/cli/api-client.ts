import { randomUUID } from 'node:crypto';
import { request } from 'undici';
import { SIGNATURE_HEADER, sign, TIMESTAMP_HEADER } from '../api/signature.ts';
import type { CliIo } from './io.ts';
import { UsageError } from './io.ts';

/** The API could not be reached, or did not answer JSON. */
export class ApiCallError extends Error {
  override readonly name = 'ApiCallError';
}

export interface ApiAnswer {
  status: number;
  // biome-ignore lint/suspicious/noExplicitAny: the JSON document as the API sent it
  body: any;
}

/** The base URL of `--url`, checked. */
export function apiUrl(text: string | undefined): string | undefined {
  if (text === undefined) return undefined;
  if (!/^https?:\/\//.test(text)) throw new UsageError('--url must be an http(s):// URL');
  return text.replace(/\/+$/, '');
}

/**
 * One signed request to a running Nightshift HTTP API, with the key in NIGHTSHIFT_WEBHOOK_KEY
 * (as `trigger` signs). The answer is parsed JSON; an error answer is returned, not thrown.
 */
export async function callApi(
  io: CliIo,
  base: string,
  method: string,
  path: string,
  options: { query?: Record<string, string | undefined>; body?: unknown } = {},
): Promise<ApiAnswer> {
  const key = io.env.NIGHTSHIFT_WEBHOOK_KEY;
  if (!key) throw new UsageError('NIGHTSHIFT_WEBHOOK_KEY must hold the webhook signing key');
  const query = new URLSearchParams();
  for (const [name, value] of Object.entries(options.query ?? {}))
    if (value !== undefined) query.set(name, value);
  // One signature is good for one request: a nonce keeps two identical requests within the same
  // second (say two `override list`) from looking like a replay. The routes ignore it.
  query.set('nonce', randomUUID().slice(0, 8));
  const endpoint = new URL(`${base}${path}?${query}`);
  const body = options.body === undefined ? '' : JSON.stringify(options.body);
  const timestamp = String(Math.floor(io.now().getTime() / 1000));
  let answer: { statusCode: number; text: string };
  try {
    const response = await request(endpoint, {
      method: method as 'GET',
      headers: {
        ...(body ? { 'content-type': 'application/json' } : {}),
        [TIMESTAMP_HEADER]: timestamp,
        // The path and query as they go on the wire (a stage prefix included) are signed.
        [SIGNATURE_HEADER]: sign(key, timestamp, method, `${endpoint.pathname}${endpoint.search}`, body),
      },
      ...(body ? { body } : {}),
      headersTimeout: 120_000,
      bodyTimeout: 120_000,
    });
    answer = { statusCode: response.statusCode, text: await response.body.text() };
  } catch (error) {
    throw new ApiCallError(`cannot reach ${base}: ${(error as Error).message}`, { cause: error });
  }
  try {
    return { status: answer.statusCode, body: JSON.parse(answer.text) };
  } catch (error) {
    throw new ApiCallError(`${base} answered ${answer.statusCode} with something other than JSON`, {
      cause: error,
    });
  }
}

/** The API's refusal as a CLI error: the request's own fault (400/404/422) is bad usage. */
export function refusal(answer: ApiAnswer): Error {
  const error = answer.body?.error;
  const message = error ? `${answer.status} ${error.code}: ${error.message}` : `answered ${answer.status}`;
  return [400, 404, 422].includes(answer.status) ? new UsageError(message) : new ApiCallError(message);
}
