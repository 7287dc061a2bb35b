import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { sign } from '../../functions/api/signature.ts';
import { handler as api } from '../../functions/handlers/api.ts';
import { makeSignInToken } from '../../functions/page/sign-in.ts';
import { type AwsRig, startAwsRig, WEBHOOK } from '../helpers/aws-env.ts';
import { httpApiEvent } from '../helpers/events.ts';
import { csrfOf } from '../helpers/page.ts';

/** A browser's request as API Gateway (payload 2.0) hands it over: cookies apart, forms base64. */
function browserEvent(
  method: string,
  path: string,
  options: {
    cookie?: string;
    form?: Record<string, string>;
    query?: Record<string, string>;
    stage?: string;
  } = {},
): APIGatewayProxyEventV2 {
  const event = httpApiEvent({
    method,
    path,
    ...(options.query ? { query: options.query } : {}),
    ...(options.stage ? { stage: options.stage } : {}),
    ...(options.form
      ? {
          body: new URLSearchParams(options.form).toString(),
          base64: true,
          headers: {
            'content-type': 'application/x-www-form-urlencoded',
            origin: 'https://abc123.execute-api.eu-central-1.amazonaws.com',
            'sec-fetch-site': 'same-origin',
          },
        }
      : {}),
  });
  return options.cookie ? { ...event, cookies: [`nightshift_session=${options.cookie}`, 'other=1'] } : event;
}

describe('the page through the api Lambda (API Gateway events, DynamoDB ledger on dynalite)', () => {
  let rig: AwsRig;
  afterEach(async () => {
    vi.restoreAllMocks();
    await rig.stop();
  });
  const quiet = () => {
    vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
    vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
  };

  it('signs in by link (cookie in `cookies`, Secure over https), shows the page, and creates an override from the form', async () => {
    rig = await startAwsRig([
      { id: 'office', targets: ['replication'], timezone: 'UTC', window: 'Mon-Fri 08:00-20:00' },
    ]);
    quiet();
    const signedOut = await api(browserEvent('GET', '/'));
    expect(signedOut.statusCode).toBe(401);
    expect(signedOut.headers!['content-type']).toBe('text/html; charset=utf-8');
    expect(signedOut.body).toContain('Sign in to Nightshift');

    const { token } = makeSignInToken(WEBHOOK, {
      now: Date.now(),
      ttlMs: 600_000,
      scope: 'write',
      as: 'oncall',
    });
    expect((await api(browserEvent('GET', '/signin', { query: { token } }))).statusCode).toBe(200);
    const signedIn = await api(browserEvent('POST', '/signin', { form: { token } }));
    expect(signedIn.statusCode).toBe(303);
    expect(signedIn.headers!.location).toBe('/');
    expect(signedIn.headers).not.toHaveProperty('set-cookie');
    expect(signedIn.cookies).toEqual([
      expect.stringMatching(/^nightshift_session=[\w-]{43}; .*HttpOnly; SameSite=Strict; Secure$/),
    ]);
    const cookie = /^nightshift_session=([\w-]{43});/.exec(signedIn.cookies![0]!)![1]!;
    // The link is used up, in every container: the ledger remembers it.
    expect((await api(browserEvent('POST', '/signin', { form: { token } }))).statusCode).toBe(401);

    const shown = await api(browserEvent('GET', '/', { cookie }));
    expect(shown.statusCode).toBe(200);
    expect(shown.body).toContain('data-target="orders-sync"');
    expect(shown.headers!['content-security-policy']).toContain("default-src 'none'");

    const until = new Date(Date.now() + 3600_000).toISOString();
    const created = await api(
      browserEvent('POST', '/overrides', {
        cookie,
        form: {
          csrf: csrfOf(shown.body!),
          nonce: 'lambda-nonce-0123456789',
          targets: 'orders-sync',
          state: 'running',
          until,
          reason: 'release tonight',
        },
      }),
    );
    expect(created.statusCode).toBe(303);
    expect(created.headers!.location).toMatch(/^\/\?notice=created&id=ovr-[0-9a-f]{8}#overrides$/);
    const timestamp = String(Math.floor(Date.now() / 1000));
    const listed = await api(
      httpApiEvent({
        method: 'GET',
        path: '/v1/overrides',
        headers: {
          'x-nightshift-timestamp': timestamp,
          'x-nightshift-signature': sign(WEBHOOK, timestamp, 'GET', '/v1/overrides', ''),
        },
      }),
    );
    expect(JSON.parse(listed.body!).overrides).toEqual([
      expect.objectContaining({
        targets: ['orders-sync'],
        state: 'running',
        createdBy: 'oncall',
        until: new Date(Date.parse(until)).toISOString(),
      }),
    ]);
  });

  it('behind a named stage, the redirects and the page’s links carry the stage', async () => {
    rig = await startAwsRig([
      { id: 'office', targets: ['replication'], timezone: 'UTC', window: 'Mon-Fri 08:00-20:00' },
    ]);
    quiet();
    const { token } = makeSignInToken(WEBHOOK, {
      now: Date.now(),
      ttlMs: 600_000,
      scope: 'read',
      as: 'auditor',
    });
    const signedIn = await api(browserEvent('POST', '/signin', { form: { token }, stage: 'prod' }));
    expect(signedIn.headers!.location).toBe('/prod/');
    const cookie = /^nightshift_session=([\w-]{43});/.exec(signedIn.cookies![0]!)![1]!;
    const shown = await api(browserEvent('GET', '/', { cookie, stage: 'prod' }));
    expect(shown.body).toContain('action="/prod/signout"');
    expect(shown.body).toContain('This session is read-only');
  });
});
