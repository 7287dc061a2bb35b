import { createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { PAGE_CSP, PAGE_SCRIPT, PAGE_STYLE } from '../../functions/page/assets.ts';
import { html, raw } from '../../functions/page/html.ts';
import {
  checkSignInToken,
  clearedSessionCookie,
  csrfMatches,
  csrfTokenOf,
  makeSignInToken,
  newSessionId,
  parseDuration,
  sessionCookie,
  sessionIdOf,
  signInUrl,
} from '../../functions/page/sign-in.ts';
import { GENERATED, pageAssetsText } from '../../scripts/build-page-assets.ts';

const KEY = 'sign-in-test-key-0123456789abcdef';
const NOW = Date.parse('2027-03-26T18:00:00Z');

describe('sign-in links', () => {
  it('a link made with the key checks out until it expires, with its scope and name', () => {
    const { token, claims } = makeSignInToken(KEY, {
      now: NOW,
      ttlMs: 15 * 60_000,
      scope: 'read',
      as: 'auditor',
    });
    expect(token).toMatch(/^v1\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{43}$/);
    expect(checkSignInToken(KEY, token, NOW + 15 * 60_000 - 1)).toEqual({ ok: true, claims });
    expect(claims).toMatchObject({ exp: NOW + 15 * 60_000, scope: 'read', as: 'auditor' });
    expect(checkSignInToken(KEY, token, NOW + 15 * 60_000)).toEqual({ ok: false, reason: 'expired' });
    expect(signInUrl('https://abc.execute-api.eu-central-1.amazonaws.com/prod/', token)).toBe(
      `https://abc.execute-api.eu-central-1.amazonaws.com/prod/signin?token=${token}`,
    );
    // Each link is its own: one id per link.
    expect(makeSignInToken(KEY, { now: NOW, ttlMs: 60_000, scope: 'read', as: 'a' }).claims.id).not.toBe(
      claims.id,
    );
  });

  it('refuses another key, a changed payload, and anything malformed', () => {
    const { token } = makeSignInToken(KEY, { now: NOW, ttlMs: 60_000, scope: 'read', as: 'a' });
    expect(checkSignInToken('another-key-0123456789abcdef', token, NOW)).toEqual({
      ok: false,
      reason: 'signature',
    });
    const [v, payload, mac] = token.split('.');
    const changed = Buffer.from(
      JSON.stringify({ ...JSON.parse(Buffer.from(payload!, 'base64url').toString()), exp: NOW + 1e12 }),
    ).toString('base64url');
    expect(checkSignInToken(KEY, `${v}.${changed}.${mac}`, NOW)).toEqual({ ok: false, reason: 'signature' });
    for (const bad of ['', 'v1', 'v2.a.b', `v1.${payload}`, `v1.${payload}.${mac}.x`, 'v1.***.abc'])
      expect(checkSignInToken(KEY, bad, NOW)).toEqual({ ok: false, reason: 'malformed' });
    expect(() => makeSignInToken(KEY, { now: NOW, ttlMs: 25 * 3600_000, scope: 'write', as: 'a' })).toThrow(
      /24 hours/,
    );
  });

  it('a request signature and a link MAC never stand for each other (labelled HMAC inputs)', () => {
    const { token } = makeSignInToken(KEY, { now: NOW, ttlMs: 60_000, scope: 'write', as: 'a' });
    const [, payload, mac] = token.split('.');
    // The link MAC is not a bare HMAC of the payload, which someone might get signed elsewhere.
    expect(createHmac('sha256', KEY).update(payload!).digest('base64url')).not.toBe(mac);
  });
});

describe('session cookies and CSRF tokens', () => {
  it('the cookie is HttpOnly and SameSite=Strict, Secure over https; its value is read back only when well-formed', () => {
    const id = newSessionId();
    expect(id).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(sessionCookie(id, 12 * 3600_000, false)).toBe(
      `nightshift_session=${id}; Path=/; Max-Age=43200; HttpOnly; SameSite=Strict`,
    );
    expect(sessionCookie(id, 60_000, true)).toMatch(/; Secure$/);
    expect(clearedSessionCookie(true)).toBe(
      'nightshift_session=deleted; Path=/; Max-Age=0; HttpOnly; SameSite=Strict; Secure',
    );
    expect(sessionIdOf(`theme=dark; nightshift_session=${id}; other=1`)).toBe(id);
    expect(sessionIdOf('nightshift_session=deleted')).toBeUndefined();
    expect(sessionIdOf(`nightshift_session=${id}x`)).toBeUndefined();
    expect(sessionIdOf(undefined)).toBeUndefined();
  });

  it('the CSRF token belongs to its session', () => {
    const a = newSessionId();
    const b = newSessionId();
    expect(csrfMatches(a, csrfTokenOf(a))).toBe(true);
    expect(csrfMatches(a, csrfTokenOf(b))).toBe(false);
    expect(csrfMatches(a, undefined)).toBe(false);
    expect(csrfMatches(a, '')).toBe(false);
  });

  it.each([
    ['15m', 900_000],
    ['90s', 90_000],
    ['2h', 7_200_000],
    ['1h30m', 5_400_000],
    ['1d', 86_400_000],
    ['', undefined],
    ['15', undefined],
    ['m', undefined],
    ['-5m', undefined],
    ['1.5h', undefined],
  ])('parseDuration(%j) is %j', (text, ms) => {
    expect(parseDuration(text)).toBe(ms);
  });
});

describe('HTML and the page’s assets', () => {
  it('escapes every interpolated value unless it is markup made here', () => {
    const name = '<script>alert("x")</script> & \'co\'';
    expect(html`<p title="${name}">${name}</p>`.text).toBe(
      '<p title="&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;co&#39;">&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;co&#39;</p>',
    );
    expect(html`<ul>${['a<', 'b'].map((x) => html`<li>${x}</li>`)}</ul>`.text).toBe(
      '<ul><li>a&lt;</li><li>b</li></ul>',
    );
    expect(html`${undefined}${null}${false}${0}${raw('<br>')}`.text).toBe('0<br>');
  });

  it(`${GENERATED} is built from functions/page/client/ (run \`npm run page-assets\` after changing them)`, async () => {
    expect(readFileSync(GENERATED, 'utf8')).toBe(await pageAssetsText());
  });

  it('the script and style sheet stay under 100 KB together, and the CSP allows exactly them and this origin', () => {
    expect(Buffer.byteLength(PAGE_SCRIPT) + Buffer.byteLength(PAGE_STYLE)).toBeLessThan(100 * 1024);
    const directives = Object.fromEntries(
      PAGE_CSP.split('; ').map((d) => [d.split(' ')[0], d.split(' ').slice(1).join(' ')]),
    );
    expect(directives).toEqual({
      'default-src': "'none'",
      'script-src': expect.stringMatching(/^'sha256-[A-Za-z0-9+/]{43}='$/),
      'style-src': expect.stringMatching(/^'sha256-[A-Za-z0-9+/]{43}='$/),
      'img-src': "'self' data:",
      'connect-src': "'self'",
      'form-action': "'self'",
      'frame-ancestors': "'none'",
      'base-uri': "'none'",
    });
  });
});
