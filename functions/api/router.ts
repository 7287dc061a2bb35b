import { createHash, randomUUID } from 'node:crypto';
import * as z from 'zod';
import type { Config } from '../engine/config/schema.ts';
import { ErrorCode, HttpErrorCode } from '../engine/error-codes.ts';
import type { ActionResult, Upstream } from '../engine/executor.ts';
import { calendarDateProblem } from '../engine/instants.ts';
import { ACTIONS } from '../engine/kinds.ts';
import {
  DEFAULT_IN_PROGRESS_MS,
  type HistoryEntry,
  type Ledger,
  newId,
  type StoredAnswer,
} from '../engine/ledger.ts';
import { carryOut } from '../engine/on-demand.ts';
import { withOverrideRows } from '../engine/overrides.ts';
import { due } from '../engine/planner.ts';
import { selectTargets, TargetSelectionError } from '../engine/targets.ts';
import { type Log, silentLog } from '../observability/log.ts';
import { logFields } from '../observability/log-fields.ts';
import { redact, rememberSecret } from '../observability/redact.ts';
import { PAGE_PATHS } from '../page/paths.ts';
import type { SecretSource } from '../stores/secrets.ts';
import { savings } from './savings-route.ts';
import { CLOCK_WINDOW_SECONDS, SIGNATURE_HEADER, verifySignature } from './signature.ts';
import * as state from './state-routes.ts';

export const MAX_BODY_BYTES = 64 * 1024;
const MAX_PLAN_HOURS = 24 * 31;
/** The most bytes of one plan answer: Lambda answers are limited to 6 MB. */
export const PLAN_MAX_BYTES = 4 * 1024 * 1024;
const PLAN_STEP_MS = 3600_000;
const KEY_REFRESH_INTERVAL_MS = 60_000;

/** A request as the router sees it, whatever carried it (node:http, API Gateway). */
export interface ApiRequest {
  method: string;
  path: string;
  /** The request target exactly as sent: path and query string (`/v1/plan?hours=24`). Signed. */
  target: string;
  query: Record<string, string | undefined>;
  /** Lower-case names. */
  headers: Record<string, string | undefined>;
  /** The raw body; a body longer than the limit may be cut at limit + 1 bytes. */
  body: Buffer;
  requestId?: string;
  /**
   * Epoch ms (real clock) by which the answer must be sent: the api Lambda's end, or serve's
   * budget per request. Upstream calls stop in time to record and answer before it.
   */
  deadline?: number;
}

/** Kept between the end of upstream work and the deadline: recording and answering. */
export const ANSWER_MARGIN_MS = 2_000;
/** An Idempotency-Key is held this much beyond its request's deadline. */
const IN_PROGRESS_MARGIN_MS = 5_000;

export interface ApiResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

export interface RouterDeps {
  /** The config in force (the last good one). */
  config(): Promise<Config>;
  /** Where the webhook signing key is read: the `key` of the secret named by `webhook.secret`. */
  secrets: SecretSource;
  /**
   * The webhook secret's name when the deployment fixes it (the stack's stack-scoped secret);
   * otherwise the config's `webhook.secret`.
   */
  webhookSecret?: string;
  upstream: Upstream;
  ledger: Ledger;
  now?: () => number;
  log?: Log;
  /** Called with the results of each action request: metrics. */
  onResults?: (results: readonly ActionResult[]) => void;
  /** Who acts, for leases: this process or container; each request adds its own id. */
  owner?: string;
  /** Whether a lease's owner is known to have stopped (see the local runtime). */
  isOwnerGone?: (owner: string) => boolean;
  /** Called when an override was created or removed here: `serve` tells its running tick. */
  onOverridesChanged?: () => void;
}

/**
 * A JSON body checked against its schema: 415 `unsupported_media_type` unless it is sent as
 * `application/json` (a form or `text/plain` body is refused, not guessed at), then 400
 * `bad_request` naming the first problem.
 */
export function parseBody<T>(request: ApiRequest, schema: z.ZodType<T>): T {
  const type = request.headers['content-type'];
  if (type === undefined || !/^application\/json\s*(;|$)/i.test(type.trim()))
    throw new HttpError(
      415,
      'unsupported_media_type',
      `send the body as JSON with Content-Type: application/json${type === undefined ? '' : ` (got "${type.slice(0, 100)}")`}`,
    );
  let document: unknown;
  try {
    document = JSON.parse(request.body.toString('utf8'));
  } catch {
    throw new HttpError(400, 'bad_request', 'the body is not valid JSON');
  }
  const parsed = schema.safeParse(document);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const where = issue.path.length > 0 ? `${issue.path.join('.')}: ` : '';
    const message =
      issue.code === 'unrecognized_keys'
        ? `unknown field ${issue.keys.map((k) => `"${k}"`).join(', ')}`
        : issue.message;
    throw new HttpError(400, 'bad_request', `${where}${message}`);
  }
  return parsed.data;
}

const actionsBody = z.strictObject({
  action: z.enum(ACTIONS as [string, ...string[]], { error: `action must be one of ${ACTIONS.join(', ')}` }),
  targets: z.array(z.string().min(1)).min(1, 'targets must name at least one target').max(1000).optional(),
  schedule: z.string().min(1).optional(),
  dryRun: z.boolean().optional(),
  force: z.boolean().optional(),
  reason: z.string().max(1000).optional(),
});

export class HttpError extends Error {
  override readonly name = 'HttpError';
  constructor(
    readonly status: number,
    readonly code: HttpErrorCode,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

/** File-system errors that say the state folder cannot be written or read, not that the code erred. */
const STORAGE_FAULTS = new Set(['ENOSPC', 'EDQUOT', 'EROFS', 'EACCES', 'EPERM', 'EIO']);

/**
 * The HTTP API of the contract, framework-free: `POST /v1/actions`, `GET /v1/plan`,
 * `GET /v1/health`. Used by `nightshift serve` and by the api Lambda.
 */
export class Router {
  private readonly now: () => number;
  private readonly log: Log;
  private lastKeyRefresh = 0;

  constructor(private readonly deps: RouterDeps) {
    this.now = deps.now ?? Date.now;
    this.log = deps.log ?? silentLog;
  }

  async handle(request: ApiRequest): Promise<ApiResponse> {
    const requestId = request.requestId ?? randomUUID();
    try {
      return await this.route(request, requestId);
    } catch (error) {
      if (error instanceof HttpError)
        return json(error.status, { error: { code: error.code, message: error.message } }, error.headers);
      // Never a stack trace: the log has the details, the caller a request id.
      this.log.error('request failed', { requestId, path: request.path, error: redact(describe(error)) });
      // Not a fault inside Nightshift: the operator's to fix, and the caller's to retry.
      if (STORAGE_FAULTS.has((error as NodeJS.ErrnoException).code ?? ''))
        return json(503, {
          error: {
            code: HttpErrorCode.stateUnwritable,
            message: `the state folder cannot be written (${redact((error as Error).message)}); try again once it can (GET /v1/history shows what was done)`,
          },
        });
      return json(500, {
        error: { code: HttpErrorCode.internal, message: `internal error (request ${requestId})` },
      });
    }
  }

  private async route(request: ApiRequest, requestId: string): Promise<ApiResponse> {
    const path = request.path.replace(/\/+$/, '') || '/';
    if (PAGE_PATHS.has(path)) return this.page(request, path);
    const allow = (methods: string) => {
      if (!methods.split(', ').includes(request.method)) {
        throw new HttpError(405, 'method_not_allowed', `${request.method} is not allowed on ${path}`, {
          allow: methods,
        });
      }
    };
    switch (path) {
      case '/v1/health':
        allow('GET, HEAD');
        return json(200, { ok: true });
      case '/v1/actions':
        allow('POST');
        return this.actions(request, requestId);
      case '/v1/plan':
        allow('GET');
        return this.plan(request);
      // ---- overrides, status and history (see state-routes.ts) ----
      case '/v1/overrides':
        allow('GET, POST');
        return this.stateRoute(request, (deps) =>
          request.method === 'POST'
            ? this.idempotentChange(request, requestId, () => state.createOverride(request, deps))
            : state.listOverrides(deps),
        );
      case '/v1/status':
        allow('GET');
        return this.stateRoute(request, (deps) => state.status(request, deps));
      case '/v1/history':
        allow('GET');
        return this.stateRoute(request, (deps) => state.history(request, deps));
      case '/v1/savings':
        allow('GET');
        return this.stateRoute(request, (deps) => savings(request, deps));
      default: {
        const override = /^\/v1\/overrides\/([^/]+)$/.exec(path);
        if (override) {
          allow('DELETE');
          return this.stateRoute(request, (deps) =>
            this.idempotentChange(request, requestId, () =>
              state.deleteOverride(safeDecode(override[1]!), deps),
            ),
          );
        }
        throw new HttpError(404, 'not_found', `no route ${request.method} ${path}`);
      }
    }
  }

  /** A signed route of overrides, status or history: size limit, signature, then the handler. */
  private async stateRoute(
    request: ApiRequest,
    handler: (deps: state.StateRouteDeps) => Promise<ApiResponse>,
  ): Promise<ApiResponse> {
    if (request.body.length > MAX_BODY_BYTES) {
      throw new HttpError(413, 'payload_too_large', `the body exceeds ${MAX_BODY_BYTES} bytes`);
    }
    await this.authenticate(request);
    return handler({
      config: await this.deps.config(),
      ledger: this.deps.ledger,
      upstream: this.deps.upstream,
      now: this.now(),
      log: this.log,
    });
  }

  // ---- the page (functions/page/): sessions instead of signatures, HTML answers ----
  private async page(request: ApiRequest, path: string): Promise<ApiResponse> {
    if (request.body.length > MAX_BODY_BYTES) {
      throw new HttpError(413, 'payload_too_large', `the body exceeds ${MAX_BODY_BYTES} bytes`);
    }
    const { servePage } = await import('../page/routes.ts');
    return servePage(request, path, {
      config: await this.deps.config(),
      ledger: this.deps.ledger,
      upstream: this.deps.upstream,
      now: this.now(),
      log: this.log,
      key: async (fresh) => {
        if (!fresh) return this.key(false);
        // A rotated key: read the secret again, at most once a minute (as for signatures).
        if (this.now() - this.lastKeyRefresh <= KEY_REFRESH_INTERVAL_MS) return undefined;
        this.lastKeyRefresh = this.now();
        return this.key(true);
      },
      onOverridesChanged: () => this.deps.onOverridesChanged?.(),
    });
  }

  private async key(refresh: boolean): Promise<string> {
    try {
      const name = this.deps.webhookSecret ?? (await this.deps.config()).webhook.secret;
      const key = webhookKeyOf(name, await this.deps.secrets.get(name, { refresh }));
      rememberSecret(key);
      return key;
    } catch (error) {
      this.log.error('webhook key unavailable', { error: describe(error) });
      throw new HttpError(503, 'webhook_key_unavailable', 'the webhook signing key is not configured');
    }
  }

  private async authenticate(request: ApiRequest): Promise<void> {
    let check = verifySignature(await this.key(false), request, this.now());
    // A rotated key: read the secret again, at most once a minute.
    if (
      !check.ok &&
      check.reason === 'the signature does not match' &&
      this.now() - this.lastKeyRefresh > KEY_REFRESH_INTERVAL_MS
    ) {
      this.lastKeyRefresh = this.now();
      check = verifySignature(await this.key(true), request, this.now());
    }
    if (!check.ok) throw new HttpError(401, 'unauthorized', check.reason);

    // A valid signature is good for one request. It is remembered in the ledger, shared by every
    // process and container, until its timestamp leaves the window (after that the timestamp
    // check refuses it). A retry carrying the same Idempotency-Key as the first passes, so the
    // idempotency store can return the first answer; the signature does not cover headers, so
    // another key (or none) on a seen signature is a replay.
    const idempotencyKey = request.headers['idempotency-key'];
    const memory = await this.deps.ledger.rememberSignature(request.headers[SIGNATURE_HEADER]!, {
      ...(idempotencyKey === undefined ? {} : { idempotencyKey }),
      expiresAt: (check.timestamp + CLOCK_WINDOW_SECONDS + 1) * 1000,
    });
    if (memory.seen && (idempotencyKey === undefined || memory.idempotencyKey !== idempotencyKey)) {
      throw new HttpError(
        401,
        'replayed',
        'this signature was already used: sign every request anew (a retry meant to get the first answer carries the same Idempotency-Key)',
      );
    }
  }

  /**
   * The plan for `(from, from + hours]` (from: now unless `from` is given; `until` may replace
   * `hours`). An answer stops, at a whole instant, before it grows past `PLAN_MAX_BYTES`; then
   * `Nightshift-Plan-Truncated: true` and `Nightshift-Plan-Next` (the request for the rest) say so.
   */
  private async plan(request: ApiRequest): Promise<ApiResponse> {
    await this.authenticate(request);
    const now = this.now();
    const from = request.query.from === undefined ? now : parseInstant('from', request.query.from);
    let to: number;
    if (request.query.until !== undefined) {
      to = parseInstant('until', request.query.until);
      if (to <= from || to - from > MAX_PLAN_HOURS * 3600_000)
        throw new HttpError(
          400,
          'bad_request',
          `until must be after from, by at most ${MAX_PLAN_HOURS} hours`,
        );
    } else {
      const text = request.query.hours ?? '24';
      const hours = Number(text);
      if (!/^\d+$/.test(text) || hours < 1 || hours > MAX_PLAN_HOURS) {
        throw new HttpError(400, 'bad_request', `hours must be a whole number from 1 to ${MAX_PLAN_HOURS}`);
      }
      to = from + hours * 3600_000;
    }
    const config = await this.deps.config();
    const overrides = await this.deps.ledger.overrides(now);
    // Built an hour at a time, so a huge plan is never computed whole just to be cut.
    const parts: string[] = [];
    let size = 2;
    for (let start = from; start < to; start += PLAN_STEP_MS) {
      const end = Math.min(to, start + PLAN_STEP_MS);
      // An override is listed once: in the first hour if already in force, else in the hour it starts.
      const starting = overrides.filter((o) =>
        start === from ? Date.parse(o.from) <= end : Date.parse(o.from) > start && Date.parse(o.from) <= end,
      );
      const rows = withOverrideRows(due(config, start, end), starting, start === from ? from : start, end);
      for (let i = 0; i < rows.length; ) {
        // All rows of one instant go together: a page never splits an instant.
        let j = i;
        const texts: string[] = [];
        while (j < rows.length && rows[j]!.at === rows[i]!.at) texts.push(JSON.stringify(rows[j++]));
        const added = texts.reduce((sum, t) => sum + Buffer.byteLength(t) + 1, 0);
        if (size + added > PLAN_MAX_BYTES && parts.length > 0) {
          const lastAt = JSON.parse(parts.at(-1)!).at as string;
          const next = `/v1/plan?${new URLSearchParams({ from: lastAt, until: new Date(to).toISOString() })}`;
          return json(
            200,
            undefined,
            {
              'nightshift-plan-truncated': 'true',
              'nightshift-plan-next': next,
            },
            `[${parts.join(',')}]`,
          );
        }
        parts.push(...texts);
        size += added;
        i = j;
      }
    }
    return json(200, undefined, {}, `[${parts.join(',')}]`);
  }

  private async actions(request: ApiRequest, requestId: string): Promise<ApiResponse> {
    if (request.body.length > MAX_BODY_BYTES) {
      throw new HttpError(413, 'payload_too_large', `the body exceeds ${MAX_BODY_BYTES} bytes`);
    }
    await this.authenticate(request);
    const body = parseBody(request, actionsBody);
    if ((body.targets === undefined) === (body.schedule === undefined)) {
      throw new HttpError(400, 'bad_request', 'give exactly one of "targets" and "schedule"');
    }
    const config = await this.deps.config();
    let names: string[];
    try {
      names = selectTargets(
        config,
        body.schedule === undefined ? { targets: body.targets! } : { schedule: body.schedule },
        body.action,
      );
    } catch (error) {
      if (error instanceof TargetSelectionError) {
        throw error.reason === 'not-found'
          ? new HttpError(404, 'not_found', error.message)
          : new HttpError(422, 'unsupported_action', error.message);
      }
      throw error;
    }

    const idempotencyKey = request.headers['idempotency-key'];
    const begun = await this.beginIdempotent(request);
    if (begun) return begun;

    // Whether upstream may have been called: from then on the key is never released at once,
    // whatever fails, since a retry would act a second time.
    let upstreamCalled = false;
    const upstream: Upstream = {
      perform: (...args) => {
        upstreamCalled = true;
        return this.deps.upstream.perform(...args);
      },
      // Status reads change nothing: a retry after one of them alone is harmless.
      observe: (...args) => this.deps.upstream.observe(...args),
    };
    let results: ActionResult[];
    try {
      const workDeadline = request.deadline === undefined ? undefined : request.deadline - ANSWER_MARGIN_MS;
      // Hands-off means no call of any kind, on-demand ones included, unless forced.
      const handsOff = body.force
        ? new Map()
        : await state.handsOffTargets(this.deps.ledger, names, this.now());
      if (handsOff.size === names.length)
        throw new HttpError(
          409,
          'hands_off',
          `${[...handsOff].map(([t, o]) => `${t} is hands-off (override ${o.id} until ${o.until})`).join('; ')}: remove the override, or send "force": true`,
        );
      const called = await withinDeadline(
        carryOut(
          config,
          names.filter((n) => !handsOff.has(n)).map((target) => ({ target, action: body.action })),
          {
            upstream,
            ledger: this.deps.ledger,
            owner: `${this.deps.owner ?? 'api'}/${requestId}`,
            trigger: 'http',
            now: () => this.now(),
            requestId,
            ...(body.reason === undefined ? {} : { reason: body.reason }),
            dryRun: body.dryRun ?? false,
            force: body.force ?? false,
            ...(workDeadline === undefined ? {} : { deadline: workDeadline }),
            overrides: () => this.deps.ledger.overrides(this.now()),
            ...(this.deps.isOwnerGone ? { isOwnerGone: this.deps.isOwnerGone } : {}),
            onLedgerError: (error, target) =>
              this.log.error('ledger write failed during an on-demand action', {
                requestId,
                target,
                error: redact(describe(error)),
              }),
          },
        ),
        // A backstop for work the upstream deadline does not cover (a secret read that hangs).
        request.deadline === undefined ? undefined : request.deadline - ANSWER_MARGIN_MS / 2,
      );
      results = state.withHandsOff(names, called, handsOff, config, body.action);
    } catch (error) {
      // Upstream may have acted: the key stays in progress until it expires on its own.
      if (idempotencyKey !== undefined && !upstreamCalled)
        await this.deps.ledger.abandonIdempotent(idempotencyKey).catch(() => undefined);
      throw error;
    }
    // Counted before anything else can fail, so an on-demand failure always reaches the alarm.
    this.deps.onResults?.(results);
    try {
      // Calls and their outcomes are recorded by carryOut as they happen (one entry per call);
      // what it did not see is recorded here: dry runs and targets left alone for hands-off.
      await this.deps.ledger.record(
        results
          .filter((result) => result.status === 'dry-run' || result.errorCode === ErrorCode.handsOff)
          .map((result) => this.historyEntry(result, requestId, body.reason)),
      );
    } catch (error) {
      // The actions happened: the caller gets their results, and the log has every one of them.
      this.log.error('history not recorded; the results are in the answer and the action log lines', {
        requestId,
        error: redact(describe(error)),
      });
    }
    for (const result of results)
      this.log.info('action', { trigger: 'http', requestId, ...logFields(result) });
    const answer = answerOf(results);
    if (idempotencyKey !== undefined) await this.keepAnswer(idempotencyKey, answer, requestId);
    return answer;
  }

  /**
   * Starts an idempotent request when it carries an `Idempotency-Key`: a repeat of a finished one
   * gets its first answer (returned here), one still running 409, the key with another request
   * 422. The fingerprint covers method, path and body, so one key never matches two requests.
   */
  private async beginIdempotent(request: ApiRequest): Promise<ApiResponse | undefined> {
    const idempotencyKey = request.headers['idempotency-key'];
    if (idempotencyKey === undefined) return undefined;
    if (idempotencyKey.length === 0 || idempotencyKey.length > 255) {
      throw new HttpError(400, 'bad_request', 'Idempotency-Key must be 1 to 255 characters');
    }
    const fingerprint = createHash('sha256')
      .update(`${request.method} ${request.path}\n`)
      .update(request.body)
      .digest('hex');
    // Held just beyond this request's deadline: a request that dies in flight frees its key.
    const budget = request.deadline === undefined ? DEFAULT_IN_PROGRESS_MS : request.deadline - Date.now();
    const begun = await this.deps.ledger.beginIdempotent(idempotencyKey, fingerprint, {
      inProgressMs: Math.max(0, budget) + IN_PROGRESS_MARGIN_MS,
    });
    if (begun.kind === 'replay') return replay(begun.answer);
    if (begun.kind === 'in-progress') {
      throw new HttpError(
        409,
        'idempotency_in_progress',
        'a request with this Idempotency-Key is still running',
      );
    }
    if (begun.kind === 'mismatch') {
      throw new HttpError(
        422,
        'idempotency_mismatch',
        'this Idempotency-Key was used with a different request',
      );
    }
    return undefined;
  }

  /**
   * A route that changes the ledger (create or remove an override), made idempotent: a repeat
   * with the same Idempotency-Key gets the first answer and changes nothing again. A request
   * that fails before it changed anything frees its key, so it can be sent again.
   */
  private async idempotentChange(
    request: ApiRequest,
    requestId: string,
    change: () => Promise<ApiResponse>,
  ): Promise<ApiResponse> {
    const key = request.headers['idempotency-key'];
    const begun = await this.beginIdempotent(request);
    if (begun) return begun;
    let answer: ApiResponse;
    try {
      answer = await change();
    } catch (error) {
      if (key !== undefined) {
        if (error instanceof HttpError) {
          // A refusal is an answer too: a repeat gets the same refusal, whatever happens meanwhile.
          const refusal = json(error.status, { error: { code: error.code, message: error.message } });
          await this.keepAnswer(key, refusal, requestId);
        } else await this.deps.ledger.abandonIdempotent(key).catch(() => undefined);
      }
      throw error;
    }
    this.deps.onOverridesChanged?.();
    if (key !== undefined) await this.keepAnswer(key, answer, requestId);
    return answer;
  }

  /**
   * Stores the answer for repeats, trying twice. If the store keeps failing the key is left in
   * progress (repeats get 409 until it expires), never released: a retry would act again.
   */
  private async keepAnswer(key: string, answer: ApiResponse, requestId: string): Promise<void> {
    for (let attempt = 1; attempt <= 2; attempt++) {
      try {
        await this.deps.ledger.completeIdempotent(key, { status: answer.status, body: answer.body });
        return;
      } catch (error) {
        this.log.error('idempotent answer not kept', { requestId, attempt, error: redact(describe(error)) });
      }
    }
  }

  private historyEntry(result: ActionResult, requestId: string, reason: string | undefined): HistoryEntry {
    return {
      id: newId(),
      recordedAt: new Date(this.now()).toISOString(),
      trigger: 'http',
      requestId,
      ...(reason === undefined ? {} : { reason }),
      result,
    };
  }
}

/**
 * 504 when the deadline cut some calls short (their outcome is unknown; what is known comes
 * along), else the status of `statusOf`.
 */
function answerOf(results: readonly ActionResult[]): ApiResponse {
  const cut = results.filter((r) => r.errorCode === ErrorCode.deadline).length;
  if (cut === 0) return json(statusOf(results), { results });
  return json(504, {
    error: {
      code: HttpErrorCode.deadlineExceeded,
      message: `${cut} of ${results.length} target(s) had no answer before the request's deadline; their outcome is unknown (see the history)`,
    },
    results,
  });
}

/** The work's result, or a 504 when it is still running at `deadline` (epoch ms, real clock). */
async function withinDeadline<T>(work: Promise<T>, deadline: number | undefined): Promise<T> {
  if (deadline === undefined) return work;
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () =>
        reject(
          new HttpError(
            504,
            'deadline_exceeded',
            'the request could not finish before its deadline; its outcome is unknown (see the history)',
          ),
        ),
      Math.max(0, deadline - Date.now()),
    );
  });
  try {
    return await Promise.race([work, expired]);
  } finally {
    clearTimeout(timer);
  }
}

/** 200 when all succeeded, 502 when all failed, 207 in between. */
function statusOf(results: readonly ActionResult[]): number {
  const failed = results.filter((r) => !r.ok).length;
  if (failed === 0) return 200;
  return failed === results.length ? 502 : 207;
}

export function json(
  status: number,
  value: unknown,
  headers: Record<string, string> = {},
  text: string = JSON.stringify(value),
): ApiResponse {
  return {
    status,
    headers: { 'content-type': 'application/json', 'cache-control': 'no-store', ...headers },
    body: text,
  };
}

function parseInstant(name: string, text: string): number {
  const ms = Date.parse(text);
  if (!/^\d{4}-\d{2}-\d{2}T/.test(text) || Number.isNaN(ms))
    throw new HttpError(400, 'bad_request', `${name} must be an ISO 8601 instant, e.g. 2027-03-29T06:00:00Z`);
  // Date.parse rolls 2027-02-30 over into March: refuse the impossible date as such.
  const problem = calendarDateProblem(text);
  if (problem) throw new HttpError(400, 'bad_request', `${name}: ${problem}`);
  return ms;
}

function replay(answer: StoredAnswer): ApiResponse {
  return {
    status: answer.status,
    headers: {
      'content-type': 'application/json',
      'cache-control': 'no-store',
      'idempotency-replayed': 'true',
    },
    body: answer.body,
  };
}

/** A path segment decoded, or as sent when it is not valid percent-encoding (then it names nothing). */
function safeDecode(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

function describe(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}

/** Reads `{"key": "..."}` from the webhook secret. */
export function webhookKeyOf(secretName: string, value: string): string {
  try {
    const key = (JSON.parse(value) as { key?: unknown }).key;
    if (typeof key === 'string' && key.length >= 16) return key;
  } catch {
    // fall through: never echo the value
  }
  throw new Error(`secret "${secretName}" must hold {"key": "<at least 16 characters>"}`);
}
