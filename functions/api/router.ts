import { createHash, randomUUID } from 'node:crypto';
import * as z from 'zod';
import type { Config } from '../engine/config/schema.ts';
import type { ActionResult, Upstream } from '../engine/executor.ts';
import { ACTIONS } from '../engine/kinds.ts';
import type { HistoryEntry, Ledger, StoredAnswer } from '../engine/ledger.ts';
import { carryOut } from '../engine/on-demand.ts';
import { due } from '../engine/planner.ts';
import { selectTargets, TargetSelectionError } from '../engine/targets.ts';
import { type Log, silentLog } from '../observability/log.ts';
import { logFields } from '../observability/log-fields.ts';
import type { SecretSource } from '../stores/secrets.ts';
import { CLOCK_WINDOW_SECONDS, SIGNATURE_HEADER, verifySignature } from './signature.ts';

export const MAX_BODY_BYTES = 64 * 1024;
const MAX_PLAN_HOURS = 24 * 31;
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
}

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
}

const actionsBody = z.strictObject({
  action: z.enum(ACTIONS as [string, ...string[]], { error: `action must be one of ${ACTIONS.join(', ')}` }),
  targets: z.array(z.string().min(1)).min(1, 'targets must name at least one target').max(1000).optional(),
  schedule: z.string().min(1).optional(),
  dryRun: z.boolean().optional(),
  force: z.boolean().optional(),
  reason: z.string().max(1000).optional(),
});

class HttpError extends Error {
  override readonly name = 'HttpError';
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

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
      this.log.error('request failed', { requestId, path: request.path, error: describe(error) });
      return json(500, { error: { code: 'internal', message: `internal error (request ${requestId})` } });
    }
  }

  private async route(request: ApiRequest, requestId: string): Promise<ApiResponse> {
    const path = request.path.replace(/\/+$/, '') || '/';
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
      default:
        throw new HttpError(404, 'not_found', `no route ${request.method} ${path}`);
    }
  }

  private async key(refresh: boolean): Promise<string> {
    try {
      const name = this.deps.webhookSecret ?? (await this.deps.config()).webhook.secret;
      return webhookKeyOf(name, await this.deps.secrets.get(name, { refresh }));
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

  private async plan(request: ApiRequest): Promise<ApiResponse> {
    await this.authenticate(request);
    const text = request.query.hours ?? '24';
    const hours = Number(text);
    if (!/^\d+$/.test(text) || hours < 1 || hours > MAX_PLAN_HOURS) {
      throw new HttpError(400, 'bad_request', `hours must be a whole number from 1 to ${MAX_PLAN_HOURS}`);
    }
    const now = this.now();
    return json(200, due(await this.deps.config(), now, now + hours * 3600_000));
  }

  private async actions(request: ApiRequest, requestId: string): Promise<ApiResponse> {
    if (request.body.length > MAX_BODY_BYTES) {
      throw new HttpError(413, 'payload_too_large', `the body exceeds ${MAX_BODY_BYTES} bytes`);
    }
    await this.authenticate(request);
    let document: unknown;
    try {
      document = JSON.parse(request.body.toString('utf8'));
    } catch {
      throw new HttpError(400, 'bad_request', 'the body is not valid JSON');
    }
    const parsed = actionsBody.safeParse(document);
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      const where = issue.path.length > 0 ? `${issue.path.join('.')}: ` : '';
      const message =
        issue.code === 'unrecognized_keys'
          ? `unknown field ${issue.keys.map((k) => `"${k}"`).join(', ')}`
          : issue.message;
      throw new HttpError(400, 'bad_request', `${where}${message}`);
    }
    const body = parsed.data;
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
    if (idempotencyKey !== undefined) {
      if (idempotencyKey.length === 0 || idempotencyKey.length > 255) {
        throw new HttpError(400, 'bad_request', 'Idempotency-Key must be 1 to 255 characters');
      }
      const fingerprint = createHash('sha256').update(request.body).digest('hex');
      const begun = await this.deps.ledger.beginIdempotent(idempotencyKey, fingerprint);
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
    }

    try {
      const results = await carryOut(
        config,
        names.map((target) => ({ target, action: body.action })),
        {
          upstream: this.deps.upstream,
          dryRun: body.dryRun ?? false,
          force: body.force ?? false,
        },
      );
      // Counted before anything else can fail, so an on-demand failure always reaches the alarm.
      this.deps.onResults?.(results);
      await this.deps.ledger.record(
        results.map((result) => this.historyEntry(result, requestId, body.reason)),
      );
      for (const result of results)
        this.log.info('action', { trigger: 'http', requestId, ...logFields(result) });
      const answer = json(statusOf(results), { results });
      if (idempotencyKey !== undefined) {
        await this.deps.ledger.completeIdempotent(idempotencyKey, {
          status: answer.status,
          body: answer.body,
        });
      }
      return answer;
    } catch (error) {
      if (idempotencyKey !== undefined)
        await this.deps.ledger.abandonIdempotent(idempotencyKey).catch(() => undefined);
      throw error;
    }
  }

  private historyEntry(result: ActionResult, requestId: string, reason: string | undefined): HistoryEntry {
    return {
      recordedAt: new Date(this.now()).toISOString(),
      trigger: 'http',
      requestId,
      ...(reason === undefined ? {} : { reason }),
      result,
    };
  }
}

/** 200 when all succeeded, 502 when all failed, 207 in between. */
function statusOf(results: readonly ActionResult[]): number {
  const failed = results.filter((r) => !r.ok).length;
  if (failed === 0) return 200;
  return failed === results.length ? 502 : 207;
}

function json(status: number, value: unknown, headers: Record<string, string> = {}): ApiResponse {
  return {
    status,
    headers: { 'content-type': 'application/json', 'cache-control': 'no-store', ...headers },
    body: JSON.stringify(value),
  };
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

function describe(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}

/** Reads `{"key": "..."}` from the webhook secret. */
function webhookKeyOf(secretName: string, value: string): string {
  try {
    const key = (JSON.parse(value) as { key?: unknown }).key;
    if (typeof key === 'string' && key.length >= 16) return key;
  } catch {
    // fall through: never echo the value
  }
  throw new Error(`secret "${secretName}" must hold {"key": "<at least 16 characters>"}`);
}
