import { randomBytes } from 'node:crypto';
import { type ApiRequest, type ApiResponse, HttpError } from '../api/router.ts';
import { UsageError } from '../cli/io.ts';
import { parseTime } from '../cli/time.ts';
import { calendarDataEnding } from '../engine/calendar/holidays.ts';
import { isValidTimeZone } from '../engine/calendar/zone.ts';
import type { Config } from '../engine/config/schema.ts';
import { configWarnings } from '../engine/config/warnings.ts';
import type { Upstream } from '../engine/executor.ts';
import type { HistoryEntry, Ledger, PageSession } from '../engine/ledger.ts';
import { makeOverride, type Override, OverrideError } from '../engine/overrides.ts';
import { targetStatuses } from '../engine/status.ts';
import type { Log } from '../observability/log.ts';
import { PAGE_CSP } from './assets.ts';
import { html } from './html.ts';
import {
  checkSignInToken,
  clearedSessionCookie,
  csrfMatches,
  csrfTokenOf,
  hashOf,
  type LinkCheck,
  newSessionId,
  SESSION_TTL_MS,
  sessionCookie,
  sessionIdOf,
} from './sign-in.ts';
import {
  HISTORY_RESULTS,
  type HistoryView,
  type OverrideForm,
  renderMessage,
  renderPage,
  resultWord,
} from './view-page.ts';
import { weekView } from './week.ts';
import { fullDateTimeIn } from './zone-time.ts';

/**
 * The page's routes, served by the router for `serve` and the api Lambda alike:
 * `GET /` (the page), `GET` and `POST /signin` (a sign-in link, shown, then exchanged for a
 * session cookie), `POST /signout`, and the override forms `POST /overrides` and
 * `POST /overrides/remove`. Without a session the page shows a sign-in notice and no data;
 * changes need a write session and the session's CSRF token, from this origin. (Their paths:
 * paths.ts.)
 */

export interface PageDeps {
  config: Config;
  ledger: Ledger;
  upstream: Upstream;
  now: number;
  log: Log;
  /**
   * The webhook key that signs sign-in links. `fresh: true` (after a MAC mismatch: the key may
   * have been rotated) reads it anew, or answers undefined when the router read it anew lately.
   */
  key(fresh: boolean): Promise<string | undefined>;
  /** Called when an override was created or removed here: `serve` tells its running tick. */
  onOverridesChanged?: () => void;
}

const HISTORY_PAGE = 50;
/** With a result filter, this many of the newest entries (of the target) are filtered. */
const HISTORY_SCAN = 1000;
const NONCE = /^[A-Za-z0-9_-]{16,64}$/;

interface Auth {
  id: string;
  session: PageSession;
}

/** The view's query parameters: zone, week, history filters and page. */
type View = Record<'tz' | 'week' | 'target' | 'result' | 'hpage', string | undefined>;

export async function servePage(request: ApiRequest, path: string, deps: PageDeps): Promise<ApiResponse> {
  const base = basePathOf(request);
  try {
    switch (path) {
      case '/':
        allow(request, path, 'GET, HEAD');
        return await mainPage(request, deps, base);
      case '/signin':
        allow(request, path, 'GET, POST');
        return request.method === 'POST'
          ? await signIn(request, deps, base)
          : await signInForm(request, deps, base);
      case '/signout':
        allow(request, path, 'POST');
        return await signOut(request, deps, base);
      case '/overrides':
        allow(request, path, 'POST');
        return await createOverride(request, deps, base);
      case '/overrides/remove':
        allow(request, path, 'POST');
        return await removeOverride(request, deps, base);
      default:
        throw new HttpError(404, 'not_found', `no route ${request.method} ${path}`);
    }
  } catch (error) {
    // A person reads these: an HTML page, with the status and headers of the refusal.
    if (error instanceof HttpError)
      return page(error.status, renderMessage(titleOf(error.status), error.message, { base }), error.headers);
    throw error;
  }
}

function allow(request: ApiRequest, path: string, methods: string): void {
  if (!methods.split(', ').includes(request.method))
    throw new HttpError(405, 'method_not_allowed', `${request.method} is not allowed on ${path}`, {
      allow: methods,
    });
}

function titleOf(status: number): string {
  if (status === 401) return 'Not signed in';
  if (status === 403) return 'Not allowed';
  if (status === 404) return 'Not found';
  if (status === 405) return 'Method not allowed';
  if (status === 409) return 'Already under way';
  if (status === 413) return 'Too large';
  if (status === 415) return 'Unsupported form';
  if (status >= 500) return 'Something went wrong';
  return 'Cannot do that';
}

/** An HTML answer with the page's security headers. */
export function page(status: number, body: string, headers: Record<string, string> = {}): ApiResponse {
  return {
    status,
    headers: {
      'content-type': 'text/html; charset=utf-8',
      'cache-control': 'no-store',
      'content-security-policy': PAGE_CSP,
      'x-content-type-options': 'nosniff',
      // Never to another origin (a sign-in token is in a URL); same-origin keeps the Origin header
      // on form posts, which no-referrer would turn into "null".
      'referrer-policy': 'same-origin',
      'x-frame-options': 'DENY',
      'cross-origin-opener-policy': 'same-origin',
      ...headers,
    },
    body,
  };
}

function redirect(location: string, headers: Record<string, string> = {}): ApiResponse {
  return page(303, '', { location, ...headers });
}

/**
 * The prefix the client sees before the route's path: '' on `serve` and the `$default` stage,
 * `/prod` on a named API Gateway stage. Links and redirects carry it, so they work behind either.
 */
function basePathOf(request: ApiRequest): string {
  const sent = request.target.split('?')[0]!;
  return sent.endsWith(request.path)
    ? sent.slice(0, sent.length - request.path.length).replace(/\/+$/, '')
    : '';
}

const isHttps = (request: ApiRequest) => request.headers['x-forwarded-proto'] === 'https';

// ---- sessions ----

async function sessionOf(request: ApiRequest, deps: PageDeps): Promise<Auth | undefined> {
  const id = sessionIdOf(request.headers.cookie);
  if (!id) return undefined;
  const session = await deps.ledger.session(hashOf(id), deps.now);
  return session ? { id, session } : undefined;
}

/** A form post allowed to change something: from this origin, in a session, with its CSRF token. */
async function authorizedForm(
  request: ApiRequest,
  deps: PageDeps,
  scope: 'any' | 'write',
): Promise<{ auth: Auth; form: URLSearchParams }> {
  const form = formOf(request);
  sameOriginOnly(request);
  const auth = await sessionOf(request, deps);
  if (!auth)
    throw new HttpError(
      401,
      'unauthorized',
      'You are not signed in, or your session has ended: nothing was changed. Sign in again with a new link.',
    );
  if (!csrfMatches(auth.id, form.get('csrf') ?? undefined))
    throw new HttpError(
      403,
      'forbidden',
      'This form was not sent by this session’s page (or the page is from an earlier session): nothing was changed. Reload the page and try again.',
    );
  if (scope === 'write' && auth.session.scope !== 'write')
    throw new HttpError(
      403,
      'forbidden',
      'This session is read-only: nothing was changed. Sign in with a link made without --read-only to change overrides.',
    );
  return { auth, form };
}

/**
 * Refuses a form another site made the browser send (`Sec-Fetch-Site` and `Origin`, when the
 * browser sends them; tools such as curl send neither and are judged by session and token alone).
 */
function sameOriginOnly(request: ApiRequest): void {
  const site = request.headers['sec-fetch-site'];
  const origin = request.headers.origin;
  if ((site !== undefined && site !== 'same-origin') || (origin !== undefined && !sameHost(origin, request)))
    throw new HttpError(403, 'forbidden', 'This form came from another site: nothing was changed.');
}

function sameHost(origin: string, request: ApiRequest): boolean {
  try {
    return new URL(origin).host === request.headers.host;
  } catch {
    return false;
  }
}

function formOf(request: ApiRequest): URLSearchParams {
  const type = (request.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
  if (type !== 'application/x-www-form-urlencoded')
    throw new HttpError(
      415,
      'unsupported_media_type',
      'The page’s forms are sent as application/x-www-form-urlencoded.',
    );
  return new URLSearchParams(request.body.toString('utf8'));
}

// ---- sign-in ----

async function checkToken(token: string, deps: PageDeps): Promise<LinkCheck> {
  const check = checkSignInToken((await deps.key(false))!, token, deps.now);
  if (check.ok || check.reason !== 'signature') return check;
  // The key may have been rotated since this container read it.
  const fresh = await deps.key(true);
  return fresh === undefined ? check : checkSignInToken(fresh, token, deps.now);
}

const REFUSALS: Record<Exclude<LinkCheck, { ok: true }>['reason'] | 'used', string> = {
  malformed: 'This sign-in link is damaged: copy the whole link, or ask for a new one.',
  signature:
    'This sign-in link was not made with this server’s key (or the key has changed since): ask for a new one.',
  expired: 'This sign-in link has expired: ask for a new one.',
  used: 'This sign-in link was already used: a link signs in once. Ask for a new one.',
};

function refusedLink(reason: keyof typeof REFUSALS, base: string): ApiResponse {
  return page(401, renderMessage('Sign-in link refused', REFUSALS[reason], { base, signInHelp: true }));
}

/** `GET /signin?token=`: says who the link signs in and asks for a click. Link previews change nothing. */
async function signInForm(request: ApiRequest, deps: PageDeps, base: string): Promise<ApiResponse> {
  const token = request.query.token ?? '';
  const check = await checkToken(token, deps);
  if (!check.ok) return refusedLink(check.reason, base);
  if (await deps.ledger.signInLinkUsed(hashOf(check.claims.id), deps.now)) return refusedLink('used', base);
  const { claims } = check;
  const body = html`<form method="post" action="${base}/signin">
<input type="hidden" name="token" value="${token}">
<button type="submit" class="primary" autofocus>Sign in</button>
</form>`;
  return page(
    200,
    renderMessage(
      'Sign in to Nightshift',
      html`as <strong>${claims.as}</strong>, ${claims.scope === 'write' ? 'able to create and remove overrides' : 'read-only'}. This link works once, until ${new Date(claims.exp).toISOString().replace('.000Z', 'Z')}; the session lasts ${SESSION_TTL_MS / 3600_000} hours.`,
      { base, action: body },
    ),
  );
}

/** `POST /signin`: uses the link up and sets the session cookie. */
async function signIn(request: ApiRequest, deps: PageDeps, base: string): Promise<ApiResponse> {
  const form = formOf(request);
  // Another site could otherwise sign a visitor in to a session of its own choosing.
  sameOriginOnly(request);
  const check = await checkToken(form.get('token') ?? '', deps);
  if (!check.ok) return refusedLink(check.reason, base);
  const { claims } = check;
  if (!(await deps.ledger.useSignInLink(hashOf(claims.id), claims.exp))) return refusedLink('used', base);
  const id = newSessionId();
  const session: PageSession = {
    idHash: hashOf(id),
    scope: claims.scope,
    name: claims.as,
    createdAt: new Date(deps.now).toISOString(),
    expiresAt: new Date(deps.now + SESSION_TTL_MS).toISOString(),
  };
  await deps.ledger.putSession(session);
  deps.log.info('page sign-in', {
    as: session.name,
    scope: session.scope,
    session: session.idHash.slice(0, 12),
  });
  return redirect(`${base}/`, { 'set-cookie': sessionCookie(id, SESSION_TTL_MS, isHttps(request)) });
}

async function signOut(request: ApiRequest, deps: PageDeps, base: string): Promise<ApiResponse> {
  const { auth } = await authorizedForm(request, deps, 'any');
  await deps.ledger.removeSession(auth.session.idHash);
  deps.log.info('page sign-out', { as: auth.session.name, session: auth.session.idHash.slice(0, 12) });
  return redirect(`${base}/?notice=signed-out`, { 'set-cookie': clearedSessionCookie(isHttps(request)) });
}

// ---- the page ----

function viewOf(values: { get(name: string): string | null | undefined }): View {
  const get = (name: string) => {
    const value = values.get(name);
    return value === null || value === undefined || value === '' ? undefined : value;
  };
  return {
    tz: get('tz'),
    week: get('week'),
    target: get('target'),
    result: get('result'),
    hpage: get('hpage'),
  };
}

function queryView(request: ApiRequest): View {
  return viewOf({ get: (name) => request.query[name] });
}

async function mainPage(request: ApiRequest, deps: PageDeps, base: string): Promise<ApiResponse> {
  const auth = await sessionOf(request, deps);
  if (!auth) {
    const signedOut = request.query.notice === 'signed-out';
    return page(
      401,
      renderMessage(
        signedOut ? 'Signed out' : 'Sign in to Nightshift',
        signedOut
          ? 'You are signed out. Open a new sign-in link to look again.'
          : 'This page shows the schedules, the status, the overrides and the history of this Nightshift, to people signed in with a sign-in link.',
        { base, signInHelp: true },
      ),
    );
  }
  return renderMain(deps, base, auth, queryView(request), {
    live: request.query.live === '1',
    notice: request.query.notice,
    id: request.query.id,
  });
}

interface Extras {
  status?: number;
  form?: OverrideForm;
  live?: boolean;
  notice?: string | undefined;
  id?: string | undefined;
}

async function renderMain(
  deps: PageDeps,
  base: string,
  auth: Auth,
  view: View,
  extras: Extras,
): Promise<ApiResponse> {
  const { config, ledger, now } = deps;
  const configZone = config.timezone ?? 'UTC';
  const zone = view.tz && isValidTimeZone(view.tz) ? view.tz : configZone;
  const week = view.week && isDate(view.week) ? view.week : undefined;
  const target = view.target && Object.hasOwn(config.targets, view.target) ? view.target : undefined;
  const result = (HISTORY_RESULTS as readonly string[]).includes(view.result ?? '') ? view.result : undefined;
  const hpage = Math.min(
    Math.max(0, Number.parseInt(view.hpage ?? '0', 10) || 0),
    HISTORY_SCAN / HISTORY_PAGE - 1,
  );
  const shown: View = {
    tz: zone === configZone ? undefined : zone,
    week,
    target,
    result,
    hpage: hpage > 0 ? String(hpage) : undefined,
  };
  const link = (changes: Record<string, string | undefined>, hash?: string) => {
    const params = new URLSearchParams();
    for (const [name, value] of Object.entries({ ...shown, ...changes })) if (value) params.set(name, value);
    const query = params.toString();
    return `${base}/${query ? `?${query}` : ''}${hash ? `#${hash}` : ''}`;
  };

  const overrides = await ledger.overrides(now);
  const live = extras.live === true;
  const weekShown = weekView({ config, overrides, now, zone, ...(week ? { week } : {}) });
  const [statuses, history] = await Promise.all([
    targetStatuses({
      config,
      overrides,
      upstream: deps.upstream,
      ledger,
      now,
      live,
      // In the week's order: grouped as in the config.
      targets: weekShown.groups.flatMap((g) => g.rows.map((r) => r.target)),
    }),
    historyOf(ledger, { target, result, page: hpage }),
  ]);
  const body = renderPage({
    base,
    config,
    zone,
    configZone,
    now,
    session: auth.session,
    csrf: csrfTokenOf(auth.id),
    nonce: randomBytes(18).toString('base64url'),
    link,
    view: shown,
    week: weekShown,
    statuses,
    live,
    overrides,
    history,
    warnings: warningsOf(config, now),
    ...(extras.notice ? { notice: noticeOf(extras.notice, extras.id, overrides, zone) } : {}),
    ...(extras.form ? { form: extras.form } : {}),
  });
  return page(extras.status ?? 200, body);
}

function isDate(text: string): boolean {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(text)) return false;
  const ms = Date.parse(`${text}T00:00:00Z`);
  return !Number.isNaN(ms) && new Date(ms).toISOString().startsWith(text);
}

async function historyOf(
  ledger: Ledger,
  options: { target: string | undefined; result: string | undefined; page: number },
): Promise<HistoryView> {
  const { target, result, page: n } = options;
  const limit = result ? HISTORY_SCAN : (n + 1) * HISTORY_PAGE + 1;
  const read = await ledger.history({ limit, ...(target ? { target } : {}) });
  // The ledger reads oldest first; people read the latest first.
  const newest: HistoryEntry[] = read.reverse().filter((e) => !result || resultWord(e) === result);
  return {
    entries: newest.slice(n * HISTORY_PAGE, (n + 1) * HISTORY_PAGE),
    ...(target ? { target } : {}),
    ...(result ? { result } : {}),
    page: n,
    more: newest.length > (n + 1) * HISTORY_PAGE && (n + 1) * HISTORY_PAGE < HISTORY_SCAN,
    ...(result && read.length === HISTORY_SCAN ? { scanned: HISTORY_SCAN } : {}),
  };
}

/**
 * Works out, ahead of the first view, what the page needs of a config that does not change from
 * view to view: this week's desired spans and calendar skips in the config's zone, and the
 * warnings. `serve` calls it when a config is loaded, so the first page opened answers as fast as
 * the next ones.
 */
export function preparePage(config: Config, now: number): void {
  weekView({ config, overrides: [], now, zone: config.timezone ?? 'UTC' });
  warningsOf(config, now);
}

const warningCache = new WeakMap<Config, { hour: number; warnings: { path: string; message: string }[] }>();

/** The config's validation warnings and calendar data ending soon; worked out once an hour. */
function warningsOf(config: Config, now: number): { path: string; message: string }[] {
  const hour = Math.floor(now / 3600_000);
  const cached = warningCache.get(config);
  if (cached?.hour === hour) return cached.warnings;
  const warnings = [...configWarnings(config, now), ...calendarDataEnding(config, now)].map((w) => ({
    path: w.path,
    message: w.message,
  }));
  warningCache.set(config, { hour, warnings });
  return warnings;
}

function noticeOf(
  notice: string,
  id: string | undefined,
  overrides: readonly Override[],
  zone: string,
): string | undefined {
  const override = overrides.find((o) => o.id === id);
  switch (notice) {
    case 'created':
      return override
        ? `Override ${override.id} created: ${override.targets.join(', ')} held ${override.state} until ${untilText(override.until, zone)}. The tick follows it from now on.`
        : `Override ${id ?? ''} created.`;
    case 'removed':
      return `Override ${id ?? ''} removed: the schedules decide again from the next tick.`;
    case 'gone':
      return `Override ${id ?? ''} was already removed, or has ended.`;
    default:
      return undefined;
  }
}

/** `Fri 26 Mar 2027 23:00 Europe/Berlin (22:00 UTC)`: what was asked for, both ways. */
function untilText(iso: string, zone: string): string {
  const ms = Date.parse(iso);
  return `${fullDateTimeIn(zone, ms)} ${zone} (${new Date(ms).toISOString().slice(11, 16)} UTC)`;
}

// ---- overrides ----

class FormProblem extends Error {
  override readonly name = 'FormProblem';
  constructor(
    readonly status: number,
    message: string,
    readonly field?: OverrideForm['field'],
  ) {
    super(message);
  }
}

async function createOverride(request: ApiRequest, deps: PageDeps, base: string): Promise<ApiResponse> {
  const { auth, form } = await authorizedForm(request, deps, 'write');
  const view = viewOf(form);
  const values: OverrideForm = {
    targets: form.getAll('targets').filter((t) => t !== ''),
    state: form.get('state') ?? '',
    until: (form.get('until') ?? '').trim(),
    reason: (form.get('reason') ?? '').trim(),
  };
  // A second press of the button (or a resent form) gives the first answer and creates nothing.
  const nonce = form.get('nonce') ?? '';
  const key = NONCE.test(nonce) ? `page-override:${auth.session.idHash}:${nonce}` : undefined;
  if (key) {
    const fingerprint = hashOf(JSON.stringify(values));
    const begun = await deps.ledger.beginIdempotent(key, fingerprint);
    if (begun.kind === 'replay') return redirect(begun.answer.body);
    if (begun.kind === 'in-progress')
      throw new HttpError(
        409,
        'idempotency_in_progress',
        'This override is being created already: reload the page in a moment.',
      );
    if (begun.kind === 'mismatch')
      throw new HttpError(
        409,
        'idempotency_mismatch',
        'This form was already sent with other values: reload the page and try again.',
      );
  }
  let override: Override;
  try {
    override = overrideOf(values, view, auth.session, deps);
    await deps.ledger.putOverride(override);
  } catch (error) {
    if (key) await deps.ledger.abandonIdempotent(key);
    if (!(error instanceof FormProblem)) throw error;
    return renderMain(deps, base, auth, view, {
      status: error.status,
      form: { ...values, error: error.message, ...(error.field ? { field: error.field } : {}) },
    });
  }
  deps.onOverridesChanged?.();
  deps.log.info('override created', { ...override, via: 'page' });
  const location = `${base}/?${query({ tz: view.tz, week: view.week, notice: 'created', id: override.id })}#overrides`;
  if (key) await deps.ledger.completeIdempotent(key, { status: 303, body: location });
  return redirect(location);
}

function overrideOf(values: OverrideForm, view: View, session: PageSession, deps: PageDeps): Override {
  const { config, now } = deps;
  if (values.targets.length === 0)
    throw new FormProblem(400, 'Choose at least one target, group or schedule in Targets.', 'targets');
  const schedules = values.targets.filter((t) => t.startsWith('schedule:'));
  if (schedules.length > 0 && values.targets.length > 1)
    throw new FormProblem(400, 'Choose targets and groups, or one schedule alone.', 'targets');
  if (values.until === '')
    throw new FormProblem(400, 'Until is required: when should the schedules take over again?', 'until');
  if (values.reason === '')
    throw new FormProblem(400, 'Reason is required: say why, for whoever looks next.', 'reason');
  const zone = view.tz && isValidTimeZone(view.tz) ? view.tz : (config.timezone ?? 'UTC');
  let until: number;
  try {
    until = parseTime(values.until, 'Until', zone, now);
  } catch (error) {
    if (error instanceof UsageError) throw new FormProblem(400, error.message, 'until');
    throw error;
  }
  try {
    return makeOverride(
      config,
      {
        ...(schedules.length === 1
          ? { schedule: schedules[0]!.slice('schedule:'.length) }
          : { targets: values.targets }),
        state: values.state,
        until: new Date(until).toISOString(),
        reason: values.reason,
        createdBy: session.name,
      },
      now,
    );
  } catch (error) {
    if (!(error instanceof OverrideError)) throw error;
    if (error.reason === 'not-found') throw new FormProblem(404, error.message, 'targets');
    if (error.reason === 'unsupported') throw new FormProblem(422, error.message, 'state');
    const field = /until|hours/.test(error.message)
      ? 'until'
      : /reason/.test(error.message)
        ? 'reason'
        : undefined;
    throw new FormProblem(400, error.message, field);
  }
}

async function removeOverride(request: ApiRequest, deps: PageDeps, base: string): Promise<ApiResponse> {
  const { auth, form } = await authorizedForm(request, deps, 'write');
  const view = viewOf(form);
  const id = form.get('id') ?? '';
  const removed = id === '' ? undefined : await deps.ledger.removeOverride(id);
  if (removed) {
    deps.onOverridesChanged?.();
    deps.log.info('override removed', { id, targets: removed.targets, by: auth.session.name, via: 'page' });
  }
  return redirect(
    `${base}/?${query({ tz: view.tz, week: view.week, notice: removed ? 'removed' : 'gone', id })}#overrides`,
  );
}

function query(values: Record<string, string | undefined>): string {
  const params = new URLSearchParams();
  for (const [name, value] of Object.entries(values)) if (value) params.set(name, value);
  return params.toString();
}
