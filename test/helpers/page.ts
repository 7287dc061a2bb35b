import type { ApiRequest, ApiResponse, Router } from '../../functions/api/router.ts';
import type { PageScope } from '../../functions/engine/ledger.ts';
import { makeSignInToken } from '../../functions/page/sign-in.ts';

/** A request to one of the page's routes, as a browser sends it (a form post is urlencoded). */
export function pageRequest(
  method: string,
  path: string,
  options: {
    query?: Record<string, string>;
    cookie?: string;
    form?: Record<string, string | string[]>;
    headers?: Record<string, string>;
    /** The path prefix the client sees (an API Gateway stage), e.g. `/prod`. */
    prefix?: string;
  } = {},
): ApiRequest {
  const query = new URLSearchParams(options.query ?? {}).toString();
  const body = new URLSearchParams();
  for (const [name, value] of Object.entries(options.form ?? {}))
    for (const v of Array.isArray(value) ? value : [value]) body.append(name, v);
  return {
    method,
    path,
    target: `${options.prefix ?? ''}${path}${query ? `?${query}` : ''}`,
    query: options.query ?? {},
    headers: {
      host: '127.0.0.1:8787',
      ...(options.form ? { 'content-type': 'application/x-www-form-urlencoded' } : {}),
      ...(options.cookie ? { cookie: `nightshift_session=${options.cookie}` } : {}),
      ...options.headers,
    },
    body: Buffer.from(options.form ? body.toString() : ''),
  };
}

/** The session cookie's value from an answer's Set-Cookie. */
export function cookieOf(answer: ApiResponse): string | undefined {
  return /^nightshift_session=([^;]*)/.exec(answer.headers['set-cookie'] ?? '')?.[1];
}

/** The CSRF token the page put in its forms. */
export function csrfOf(html: string): string {
  const match = /name="csrf" value="([^"]+)"/.exec(html);
  if (!match) throw new Error('no CSRF token in the page');
  return match[1]!;
}

/** Signs in through the page's routes with a fresh link; the session's cookie value and CSRF token. */
export async function signIn(
  router: Router,
  key: string,
  now: number,
  options: { scope?: PageScope; as?: string } = {},
): Promise<{ cookie: string; csrf: string }> {
  const { token } = makeSignInToken(key, {
    now,
    ttlMs: 15 * 60_000,
    scope: options.scope ?? 'write',
    as: options.as ?? 'alice@laptop',
  });
  const answer = await router.handle(pageRequest('POST', '/signin', { form: { token } }));
  const cookie = cookieOf(answer);
  if (answer.status !== 303 || !cookie) throw new Error(`sign-in failed: ${answer.status} ${answer.body}`);
  const page = await router.handle(pageRequest('GET', '/', { cookie }));
  return { cookie, csrf: csrfOf(page.body) };
}
