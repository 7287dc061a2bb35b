import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Router } from '../../functions/api/router.ts';
import type { HistoryEntry } from '../../functions/engine/ledger.ts';
import { makeSignInToken } from '../../functions/page/sign-in.ts';
import { type ApiRig, startApiRig, WEBHOOK_KEY } from '../helpers/api.ts';
import { cookieOf, pageRequest, signIn } from '../helpers/page.ts';

const HOUR = 3600_000;

/** The page's routes through the shared router (as `serve` and the api Lambda run them). */
describe('the page: sign-in, sessions and the override forms', () => {
  let api: ApiRig;
  beforeEach(async () => {
    api = await startApiRig();
  });
  afterEach(async () => {
    await api.close();
  });
  const handle = (...args: Parameters<typeof pageRequest>) => api.router.handle(pageRequest(...args));
  const link = (options: { scope?: 'read' | 'write'; key?: string; ttlMs?: number } = {}) =>
    makeSignInToken(options.key ?? WEBHOOK_KEY, {
      now: api.now,
      ttlMs: options.ttlMs ?? 15 * 60_000,
      scope: options.scope ?? 'write',
      as: 'alice@laptop',
    }).token;
  const overrideForm = (csrf: string, more: Record<string, string | string[]> = {}) => ({
    csrf,
    nonce: `nonce-${Math.random().toString(36).slice(2)}-0123456789`,
    targets: ['orders-sync'],
    state: 'running',
    until: '23:00',
    reason: 'release tonight',
    ...more,
  });

  it('without a session GET / answers 401 with a sign-in notice and no data, under a strict CSP', async () => {
    const answer = await handle('GET', '/');
    expect(answer.status).toBe(401);
    expect(answer.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(answer.body).toContain('Sign in to Nightshift');
    expect(answer.body).toContain('npx nightshift open');
    for (const name of ['orders-sync', 'billing-sync', 'face-search', 'data-target', 'office'])
      expect(answer.body).not.toContain(name);
    const csp = answer.headers['content-security-policy']!;
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("form-action 'self'");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).not.toContain('unsafe-inline');
    expect(csp).not.toMatch(/https?:/);
    expect(answer.headers['referrer-policy']).toBe('same-origin');
    expect(answer.headers['x-content-type-options']).toBe('nosniff');
  });

  it('a link is shown, then exchanged once for an HttpOnly SameSite=Strict cookie (Secure only over https); used, it is refused', async () => {
    const token = link();
    const shown = await handle('GET', '/signin', { query: { token } });
    expect(shown.status).toBe(200);
    expect(shown.body).toContain('alice@laptop');
    expect(shown.body).toMatch(/<button type="submit" class="primary" autofocus>Sign in<\/button>/);
    // Showing it (a link preview, say) uses nothing up: it can be shown again.
    expect((await handle('GET', '/signin', { query: { token } })).status).toBe(200);

    const signedIn = await handle('POST', '/signin', { form: { token } });
    expect(signedIn.status).toBe(303);
    expect(signedIn.headers.location).toBe('/');
    const setCookie = signedIn.headers['set-cookie']!;
    expect(setCookie).toMatch(
      /^nightshift_session=[A-Za-z0-9_-]{43}; Path=\/; Max-Age=43200; HttpOnly; SameSite=Strict$/,
    );

    const again = await handle('POST', '/signin', { form: { token } });
    expect(again.status).toBe(401);
    expect(again.body).toContain('already used');
    expect(cookieOf(again)).toBeUndefined();
    expect((await handle('GET', '/signin', { query: { token } })).body).toContain('already used');

    // Another site cannot sign a visitor in, even with a good link (a session of its choosing).
    const fromElsewhere = await handle('POST', '/signin', {
      form: { token: link() },
      headers: { origin: 'https://evil.example', 'sec-fetch-site': 'cross-site' },
    });
    expect(fromElsewhere.status).toBe(403);
    expect(cookieOf(fromElsewhere)).toBeUndefined();

    const https = await handle('POST', '/signin', {
      form: { token: link() },
      headers: { 'x-forwarded-proto': 'https' },
    });
    expect(https.headers['set-cookie']).toMatch(/; Secure$/);
  });

  it('refuses a link that expired, was made with another key, or was tampered with', async () => {
    const expired = link({ ttlMs: 60_000 });
    api.now += 2 * 60_000;
    expect((await handle('POST', '/signin', { form: { token: expired } })).body).toContain('expired');
    const foreign = link({ key: 'another-key-0123456789abcdef' });
    expect((await handle('POST', '/signin', { form: { token: foreign } })).body).toContain(
      'not made with this server',
    );
    const [v, payload, mac] = link({ scope: 'read' }).split('.');
    const widened = Buffer.from(
      JSON.stringify({ ...JSON.parse(Buffer.from(payload!, 'base64url').toString()), scope: 'write' }),
    ).toString('base64url');
    const tampered = await handle('POST', '/signin', { form: { token: `${v}.${widened}.${mac}` } });
    expect(tampered.status).toBe(401);
    expect(cookieOf(tampered)).toBeUndefined();
    expect((await handle('GET', '/signin', { query: { token: 'nonsense' } })).body).toContain('damaged');
  });

  it('signed in, GET / shows the week, status, overrides and history with a CSRF token in each form', async () => {
    const { cookie } = await signIn(api.router, WEBHOOK_KEY, api.now);
    const answer = await handle('GET', '/', { cookie });
    expect(answer.status).toBe(200);
    for (const text of [
      'id="week"',
      'id="status"',
      'id="overrides"',
      'id="history"',
      'data-target="orders-sync"',
      'Create override',
      'alice@laptop',
    ])
      expect(answer.body).toContain(text);
    // Monday 05:00 UTC: the UTC window 08:00-20:00 holds the DRS jobs paused until 08:00.
    expect(answer.body).toMatch(
      /data-state="paused" data-from="2027-03-29T00:00Z" data-to="2027-03-29T08:00Z"/,
    );
    expect(answer.body).not.toContain(WEBHOOK_KEY);
  });

  it('creates an override from the form (time read in the zone shown), once however often the form is sent', async () => {
    const { cookie, csrf } = await signIn(api.router, WEBHOOK_KEY, api.now);
    const form = overrideForm(csrf, { tz: 'Europe/Berlin' });
    const created = await handle('POST', '/overrides', { cookie, form });
    expect(created.status).toBe(303);
    const location = created.headers.location!;
    expect(location).toMatch(/^\/\?tz=Europe%2FBerlin&notice=created&id=ovr-[0-9a-f]{8}#overrides$/);
    const [override] = await api.ledger.overrides(api.now);
    expect(override).toMatchObject({
      targets: ['orders-sync'],
      state: 'running',
      // 23:00 in Berlin on 29 March 2027 (CEST, UTC+2)
      until: '2027-03-29T21:00:00.000Z',
      reason: 'release tonight',
      createdBy: 'alice@laptop',
    });
    // A second press of the button: the same answer, nothing new.
    const again = await handle('POST', '/overrides', { cookie, form });
    expect(again.headers.location).toBe(location);
    expect(await api.ledger.overrides(api.now)).toHaveLength(1);
    const shown = await handle('GET', '/', {
      cookie,
      query: { tz: 'Europe/Berlin', notice: 'created', id: override!.id },
    });
    expect(shown.body).toContain(
      `Override ${override!.id} created: orders-sync held running until Mon 29 Mar 2027 23:00 Europe/Berlin (21:00 UTC)`,
    );
    expect(shown.body).toMatch(new RegExp(`data-override="${override!.id}" data-state="running"`));

    const removed = await handle('POST', '/overrides/remove', { cookie, form: { csrf, id: override!.id } });
    expect(removed.status).toBe(303);
    expect(removed.headers.location).toContain('notice=removed');
    expect(await api.ledger.overrides(api.now)).toEqual([]);
    const gone = await handle('POST', '/overrides/remove', { cookie, form: { csrf, id: override!.id } });
    expect(gone.headers.location).toContain('notice=gone');
  });

  it('tells serve’s running tick at once when the form creates or removes an override', async () => {
    let changes = 0;
    const router = new Router({
      config: async () => api.config,
      secrets: api.secrets,
      upstream: api.upstream,
      ledger: api.ledger,
      now: () => api.now,
      onOverridesChanged: () => {
        changes += 1;
      },
    });
    const { cookie, csrf } = await signIn(router, WEBHOOK_KEY, api.now);
    await router.handle(pageRequest('POST', '/overrides', { cookie, form: overrideForm(csrf) }));
    expect(changes).toBe(1);
    // A refused form changed nothing, and says nothing.
    await router.handle(
      pageRequest('POST', '/overrides', { cookie, form: overrideForm(csrf, { until: 'later' }) }),
    );
    expect(changes).toBe(1);
    const [override] = await api.ledger.overrides(api.now);
    await router.handle(
      pageRequest('POST', '/overrides/remove', { cookie, form: { csrf, id: override!.id } }),
    );
    expect(changes).toBe(2);
  });

  it('a schedule expands to its targets; one schedule alone', async () => {
    const { cookie, csrf } = await signIn(api.router, WEBHOOK_KEY, api.now);
    await handle('POST', '/overrides', {
      cookie,
      form: overrideForm(csrf, { targets: ['schedule:sync'], state: 'paused' }),
    });
    expect((await api.ledger.overrides(api.now))[0]!.targets).toEqual(['orders-sync', 'billing-sync']);
    const mixed = await handle('POST', '/overrides', {
      cookie,
      form: overrideForm(csrf, { targets: ['schedule:sync', 'face-search'] }),
    });
    expect(mixed.status).toBe(400);
    expect(mixed.body).toContain('one schedule alone');
  });

  it('a form with a problem comes back with the error at its field, the values kept, and nothing created', async () => {
    const { cookie, csrf } = await signIn(api.router, WEBHOOK_KEY, api.now);
    const cases: [Record<string, string | string[]>, number, string, RegExp][] = [
      [{ until: 'later' }, 400, 'until', /Until must be an ISO 8601 instant .* or a local time in UTC/],
      [{ until: '2027-04-20 08:00' }, 400, 'until', /at most 168 hours/],
      [{ targets: ['face-search'], state: 'paused' }, 422, 'state', /vias-task, which cannot be paused/],
      [{ targets: [] }, 400, 'targets', /Choose at least one target/],
      [{ reason: ' ' }, 400, 'reason', /Reason is required/],
    ];
    for (const [change, status, field, message] of cases) {
      const answer = await handle('POST', '/overrides', { cookie, form: overrideForm(csrf, change) });
      expect(answer.status, JSON.stringify(change)).toBe(status);
      expect(answer.body).toMatch(message);
      expect(answer.body).toContain('role="alert"');
      expect(answer.body).toMatch(new RegExp(`id="ov-${field}"[^>]*aria-invalid="true"`));
    }
    const kept = await handle('POST', '/overrides', {
      cookie,
      form: overrideForm(csrf, { until: 'later', reason: 'DBA <b>' }),
    });
    expect(kept.body).toContain('value="later"');
    expect(kept.body).toContain('value="DBA &lt;b&gt;"');
    expect(await api.ledger.overrides(api.now)).toEqual([]);
  });

  it('changes nothing without a session, without the CSRF token, from another site, or in a read-only session', async () => {
    const writer = await signIn(api.router, WEBHOOK_KEY, api.now);
    const reader = await signIn(api.router, WEBHOOK_KEY, api.now, { scope: 'read' });
    const attempts: { options: Parameters<typeof pageRequest>[2]; status: number }[] = [
      { options: { form: overrideForm(writer.csrf) }, status: 401 },
      { options: { cookie: writer.cookie, form: overrideForm('forged') }, status: 403 },
      { options: { cookie: writer.cookie, form: overrideForm(reader.csrf) }, status: 403 },
      {
        options: {
          cookie: writer.cookie,
          form: overrideForm(writer.csrf),
          headers: { 'sec-fetch-site': 'cross-site' },
        },
        status: 403,
      },
      {
        options: {
          cookie: writer.cookie,
          form: overrideForm(writer.csrf),
          headers: { origin: 'https://evil.example' },
        },
        status: 403,
      },
      { options: { cookie: reader.cookie, form: overrideForm(reader.csrf) }, status: 403 },
    ];
    for (const { options, status } of attempts) {
      const answer = await handle('POST', '/overrides', options);
      expect(answer.status, JSON.stringify(options?.headers ?? options?.cookie ?? 'no cookie')).toBe(status);
      expect(answer.body).toContain('nothing was changed');
    }
    expect(await api.ledger.overrides(api.now)).toEqual([]);
    // The read-only page has no override form and no Remove buttons.
    const page = (await handle('GET', '/', { cookie: reader.cookie })).body;
    expect(page).toContain('This session is read-only');
    expect(page).not.toContain('Create override');
    // Removing needs the write scope too.
    const created = await handle('POST', '/overrides', {
      cookie: writer.cookie,
      form: overrideForm(writer.csrf),
    });
    const id = new URL(created.headers.location!, 'http://x').searchParams.get('id')!;
    const refused = await handle('POST', '/overrides/remove', {
      cookie: reader.cookie,
      form: { csrf: reader.csrf, id },
    });
    expect(refused.status).toBe(403);
    expect(await api.ledger.overrides(api.now)).toHaveLength(1);
  });

  it('sign-out ends the session: the cookie is cleared and GET / asks to sign in again', async () => {
    const { cookie, csrf } = await signIn(api.router, WEBHOOK_KEY, api.now);
    const out = await handle('POST', '/signout', { cookie, form: { csrf } });
    expect(out.status).toBe(303);
    expect(out.headers['set-cookie']).toMatch(
      /^nightshift_session=deleted; Path=\/; Max-Age=0; HttpOnly; SameSite=Strict$/,
    );
    const after = await handle('GET', '/', { cookie, query: { notice: 'signed-out' } });
    expect(after.status).toBe(401);
    expect(after.body).toContain('You are signed out');
  });

  it('a session ends after 12 hours', async () => {
    const { cookie } = await signIn(api.router, WEBHOOK_KEY, api.now);
    api.now += 12 * HOUR - 1;
    expect((await handle('GET', '/', { cookie })).status).toBe(200);
    api.now += 1;
    expect((await handle('GET', '/', { cookie })).status).toBe(401);
  });

  it('history: newest first, filtered by target and result, fifty to a page', async () => {
    const entries: HistoryEntry[] = Array.from({ length: 120 }, (_, i) => ({
      id: `e${i}`,
      recordedAt: new Date(api.now - (120 - i) * 60_000).toISOString(),
      trigger: 'tick',
      schedule: 'sync',
      result: {
        target: i % 2 === 0 ? 'orders-sync' : 'billing-sync',
        kind: 'drs-job',
        action: 'pause',
        ok: i % 10 !== 0,
        status: i % 10 === 0 ? 'failed' : 'succeeded',
        ...(i % 10 === 0 ? { errorCode: 'DRS.10000010', errorMessage: 'job busy' } : {}),
        attempts: 1,
        durationMs: 30,
      },
    }));
    await api.ledger.record(entries);
    const { cookie } = await signIn(api.router, WEBHOOK_KEY, api.now);
    const rowsOf = (body: string) => [
      ...body.matchAll(/<tr data-result="(\w[\w-]*)">\n<td>([^<]+)<\/td>\n<td>([^<]+)<\/td>/g),
    ];
    const first = (await handle('GET', '/', { cookie })).body;
    expect(rowsOf(first)).toHaveLength(50);
    expect(rowsOf(first)[0]![2]).toBe('Mon 29 Mar 04:59');
    expect(first).toContain('Older →');
    const third = (await handle('GET', '/', { cookie, query: { hpage: '2' } })).body;
    expect(rowsOf(third)).toHaveLength(20);
    expect(third).not.toContain('Older →');
    const failed = (await handle('GET', '/', { cookie, query: { result: 'failed', target: 'orders-sync' } }))
      .body;
    expect(rowsOf(failed).map((r) => [r[1], r[3]])).toEqual(
      Array.from({ length: 12 }, () => ['failed', 'orders-sync']),
    );
    expect(failed).toContain('DRS.10000010');
  });

  it('behind a named API Gateway stage, links and redirects keep the prefix', async () => {
    const answer = await handle('POST', '/signin', { form: { token: link() }, prefix: '/prod' });
    expect(answer.headers.location).toBe('/prod/');
    const cookie = cookieOf(answer)!;
    const page = (await handle('GET', '/', { cookie, prefix: '/prod' })).body;
    expect(page).toContain('action="/prod/overrides"');
    expect(page).toContain('href="/prod/?week=');
  });

  it('wrong methods are 405 with Allow; a form that is not urlencoded is 415', async () => {
    const put = await handle('PUT', '/');
    expect(put.status).toBe(405);
    expect(put.headers.allow).toBe('GET, HEAD');
    const { cookie } = await signIn(api.router, WEBHOOK_KEY, api.now);
    const json = await api.router.handle({
      ...pageRequest('POST', '/overrides', { cookie }),
      headers: {
        host: '127.0.0.1:8787',
        cookie: `nightshift_session=${cookie}`,
        'content-type': 'application/json',
      },
      body: Buffer.from('{}'),
    });
    expect(json.status).toBe(415);
  });
});
