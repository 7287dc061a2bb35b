import { ErrorCode } from '../engine/error-codes.ts';
import { redact, rememberSecret } from '../observability/redact.ts';
import { Semaphore } from './concurrency.ts';
import { UpstreamError } from './errors.ts';
import {
  Agent,
  announcing,
  type Dispatcher,
  request as dispatch,
  errors as undiciErrors,
} from './undici-core.ts';

export interface HttpSettings {
  /** Per attempt, headers and body included. Default 10 s. */
  timeoutMs: number;
  /** Retries after the first attempt. Default 3. */
  maxRetries: number;
  /** First backoff cap; doubles per retry (full jitter picks 0..cap). Default 250 ms. */
  baseDelayMs: number;
  maxDelayMs: number;
  /** A longer `Retry-After` is not waited for: the answer is returned as it is. Default 30 s. */
  maxRetryAfterMs: number;
  /** Requests in flight per account. Default 16. */
  maxInFlightPerAccount: number;
  /** A longer answer is not read: the call fails (`ErrorCode.badResponse`). Default 1 MiB. */
  maxResponseBytes: number;
}

export const DEFAULT_HTTP_SETTINGS: HttpSettings = {
  timeoutMs: 10_000,
  maxRetries: 3,
  baseDelayMs: 250,
  maxDelayMs: 8_000,
  maxRetryAfterMs: 30_000,
  maxInFlightPerAccount: 16,
  maxResponseBytes: 1024 * 1024,
};

/** No new attempt is started with less time than this left before the deadline. */
const MIN_ATTEMPT_MS = 250;

export interface HttpRequest {
  /** The account the call is made for: the unit of the concurrency bound. */
  account: string;
  method: 'GET' | 'POST' | 'PUT';
  url: string;
  /** The call as documented, e.g. `POST /v3/{project_id}/jobs/batch-pause-task`: used in errors. */
  call: string;
  headers?: Record<string, string>;
  body?: unknown;
  /**
   * The call changes state upstream: an attempt that timed out may have been applied with its
   * answer lost, so it is not sent again; a status read settles what happened.
   */
  changesState?: boolean;
  /** Adds headers computed from the request exactly as it goes out: the access-key signature. */
  sign?: RequestSigner;
  /** Credential values masked wherever the answer quotes them back (its body, an error). */
  mask?: readonly string[];
  /**
   * Epoch milliseconds (real clock) by which the caller needs an outcome, e.g. a Lambda's end
   * minus a margin. Every attempt, backoff and `Retry-After` wait fits before it; when it comes
   * first the call fails with `ErrorCode.deadline` (or returns the last answer as it is).
   */
  deadline?: number;
  /** Aborts the request: it is not sent after this fires; an attempt under way is cut short. */
  signal?: AbortSignal;
  /**
   * Asked once, when the request is about to be sent for the first time (its connection slot is
   * held): `false` and it is not sent (`ErrorCode.notSent`); an object may give the body to send
   * instead. The engine records the call in flight here, so a call is marked only as it goes out.
   */
  admit?: Admit;
  /**
   * Asked once, before the request waits for its connection slot: `false` and it is not sent
   * (`ErrorCode.notSent`). For the slow part of an admission (the engine writes the call's
   * in-flight record here), so that no slot is held while it is done; `admit` then makes the
   * last check as the request goes out. At most `maxInFlightPerAccount` prepared requests of an
   * account wait for a slot at once: a process stopped while they wait leaves no more than that
   * many calls recorded in flight and never sent.
   */
  prepare?: () => Promise<boolean>;
}

/**
 * An admission: `false` (not sent), or the body to send instead and `sending`, called
 * synchronously at the last moment before the request's bytes are written to the connection
 * (again for a retry); if it throws, the request is not sent (`ErrorCode.notSent`).
 */
export type Admit = () => Promise<false | { body?: unknown; sending?: () => void }>;

/** `sending` refused the request: it was not written. */
class SendingRefused extends Error {
  override readonly name = 'SendingRefused';
}

/**
 * Called for every attempt with the method, URL, headers (lower-case names) and the exact body
 * bytes about to be sent; returns headers to add.
 */
export type RequestSigner = (request: {
  method: string;
  url: URL;
  headers: Readonly<Record<string, string>>;
  body: Uint8Array | undefined;
}) => Record<string, string>;

export interface HttpResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  /** Parsed JSON, or undefined for an empty body. */
  body: unknown;
  attempts: number;
}

const RETRY_STATUSES = new Set([429, 500, 502, 503, 504]);

export interface HttpClientOptions extends Partial<HttpSettings> {
  dispatcher?: Dispatcher;
  /** Injected for tests of the backoff. */
  random?: () => number;
  sleep?: (ms: number) => Promise<void>;
  /** Called before each retry with the delay chosen: for logs and tests. */
  onRetry?: (info: { call: string; attempt: number; delayMs: number; reason: string }) => void;
}

/**
 * JSON over HTTP to Huawei Cloud: keep-alive pools per origin, a timeout on every attempt,
 * retries with exponential backoff and full jitter honouring `Retry-After`, and a bound on the
 * requests in flight per account.
 */
export class HttpClient {
  readonly settings: HttpSettings;
  private readonly dispatcher: Dispatcher;
  private readonly ownsDispatcher: boolean;
  private readonly random: () => number;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly onRetry: HttpClientOptions['onRetry'];
  private readonly perAccount = new Map<string, Semaphore>();
  /** Requests prepared (see `HttpRequest.prepare`) and waiting for a slot, per account. */
  private readonly preparedPerAccount = new Map<string, Semaphore>();

  constructor(options: HttpClientOptions = {}) {
    const { dispatcher, random, sleep, onRetry, ...settings } = options;
    this.settings = { ...DEFAULT_HTTP_SETTINGS, ...stripUndefined(settings) };
    this.ownsDispatcher = dispatcher === undefined;
    // Agent keeps one keep-alive pool per origin.
    this.dispatcher =
      dispatcher ??
      new Agent({
        keepAliveTimeout: 30_000,
        connections: Math.max(this.settings.maxInFlightPerAccount, 16),
        headersTimeout: this.settings.timeoutMs,
        bodyTimeout: this.settings.timeoutMs,
      });
    this.random = random ?? Math.random;
    this.sleep = sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
    this.onRetry = onRetry;
  }

  async request(req: HttpRequest): Promise<HttpResponse> {
    // Scrubbed from the answer as it is read (see `redact`), whatever the caller does with it.
    for (const value of req.mask ?? []) rememberSecret(value);
    const left = () => (req.deadline === undefined ? Number.POSITIVE_INFINITY : req.deadline - Date.now());
    const state: AttemptState = { admitted: req.admit === undefined, body: req.body };
    if (req.prepare) {
      if (left() <= 0 || req.signal?.aborted) throw deadlineError(req, 0);
      state.prepared = await this.semaphore(req.account, this.preparedPerAccount).acquire();
      let ready: boolean;
      try {
        ready = await req.prepare();
      } catch {
        // A preparation that fails (the ledger could not record the call) is a refusal.
        ready = false;
      }
      if (!ready) {
        state.prepared();
        throw notSentError(req);
      }
    }
    try {
      return await this.attempts(req, state, left);
    } finally {
      // Released once the first attempt holds a slot, or here if it never got one.
      state.prepared?.();
    }
  }

  private async attempts(req: HttpRequest, state: AttemptState, left: () => number): Promise<HttpResponse> {
    const { maxRetries } = this.settings;
    for (let attempt = 1; ; attempt++) {
      if (left() <= 0 || req.signal?.aborted) throw deadlineError(req, attempt - 1);
      const outcome = await this.attempt(req, attempt, left(), state);
      if (outcome.kind === 'fatal') throw outcome.error;
      const last = attempt > maxRetries;
      if (outcome.kind === 'response') {
        const { response } = outcome;
        if (!RETRY_STATUSES.has(response.status) || last) return finish(req, response);
        const retryAfter = parseRetryAfter(response.headers['retry-after']);
        if (retryAfter !== undefined && retryAfter > this.settings.maxRetryAfterMs)
          return finish(req, response);
        const delayMs = this.delay(attempt, retryAfter);
        // No time to wait and try again before the deadline: the answer as it is.
        if (delayMs + MIN_ATTEMPT_MS > left()) return finish(req, response);
        await this.backoff(req, attempt, `HTTP ${response.status}`, delayMs);
      } else {
        if (
          last ||
          outcome.error.code === ErrorCode.deadline ||
          (req.changesState && outcome.error.code === ErrorCode.timeout)
        )
          throw outcome.error;
        const delayMs = this.delay(attempt, undefined);
        if (delayMs + MIN_ATTEMPT_MS > left()) throw outcome.error;
        await this.backoff(req, attempt, outcome.error.message, delayMs);
      }
    }
  }

  async close(): Promise<void> {
    if (this.ownsDispatcher) await this.dispatcher.close();
  }

  /** Full jitter under an exponential cap, or `Retry-After` when that is longer. */
  private delay(attempt: number, retryAfterMs: number | undefined): number {
    const cap = Math.min(this.settings.maxDelayMs, this.settings.baseDelayMs * 2 ** (attempt - 1));
    const jitter = this.random() * cap;
    return Math.max(jitter, retryAfterMs ?? 0);
  }

  private async backoff(req: HttpRequest, attempt: number, reason: string, delayMs: number) {
    this.onRetry?.({ call: req.call, attempt, delayMs, reason });
    await this.sleep(delayMs);
  }

  private semaphore(account: string, perAccount = this.perAccount): Semaphore {
    let semaphore = perAccount.get(account);
    if (!semaphore) {
      semaphore = new Semaphore(this.settings.maxInFlightPerAccount);
      perAccount.set(account, semaphore);
    }
    return semaphore;
  }

  private async attempt(
    req: HttpRequest,
    attempt: number,
    leftMs: number,
    state: AttemptState,
  ): Promise<
    | { kind: 'response'; response: RawResponse & { attempts: number } }
    | { kind: 'error'; error: UpstreamError }
    /** Not worth a retry. */
    | { kind: 'fatal'; error: UpstreamError }
  > {
    const release = await this.semaphore(req.account).acquire();
    // A slot is held: the next prepared request of the account may be prepared.
    state.prepared?.();
    // Waiting for a slot counts against the deadline too: nothing is sent once it has passed.
    const left = req.deadline === undefined ? leftMs : req.deadline - Date.now();
    if (left < MIN_ATTEMPT_MS || req.signal?.aborted) {
      release();
      return { kind: 'fatal', error: deadlineError(req, attempt - 1) };
    }
    if (!state.admitted) {
      let admitted: Awaited<ReturnType<Admit>>;
      try {
        admitted = await req.admit!();
      } catch {
        // An admission that fails (the ledger could not record the call) is a refusal.
        admitted = false;
      }
      if (!admitted) {
        release();
        return { kind: 'fatal', error: notSentError(req) };
      }
      state.admitted = true;
      if (admitted.body !== undefined) state.body = admitted.body;
      if (admitted.sending) {
        const sending = admitted.sending;
        state.dispatcher = announcing(this.dispatcher, () => {
          try {
            sending();
          } catch (error) {
            throw new SendingRefused(String(error), { cause: error });
          }
        });
      }
    }
    const abort = new AbortController();
    const cutByDeadline = left < this.settings.timeoutMs;
    const timer = setTimeout(() => abort.abort(), Math.max(0, Math.min(this.settings.timeoutMs, left)));
    const onAbort = () => abort.abort();
    req.signal?.addEventListener('abort', onAbort, { once: true });
    try {
      const url = new URL(req.url);
      const headers: Record<string, string> = { accept: 'application/json', ...req.headers };
      // Serialized once to bytes: what is signed is what is sent, byte for byte.
      let body: Buffer | undefined;
      if (state.body !== undefined) {
        body = Buffer.from(JSON.stringify(state.body), 'utf8');
        headers['content-type'] = 'application/json';
      }
      if (req.sign) Object.assign(headers, req.sign({ method: req.method, url, headers, body }));
      const res = await dispatch(state.dispatcher ?? this.dispatcher, {
        origin: url.origin,
        path: `${url.pathname}${url.search}`,
        method: req.method,
        headers,
        body,
        signal: abort.signal,
      });
      const limit = this.settings.maxResponseBytes;
      const read = await readCapped(res.body, Number(res.headers['content-length']), limit);
      if (read === undefined) {
        return {
          kind: 'fatal',
          error: new UpstreamError(
            `${req.call} answered ${res.statusCode} with a body larger than ${limit} bytes; it was not read`,
            {
              call: req.call,
              code: ErrorCode.badResponse,
              httpStatus: res.statusCode,
              attempts: attempt,
            },
          ),
        };
      }
      // Scrubbed at the source: every message, result and log line derived from it is clean.
      const text = redact(read);
      return {
        kind: 'response',
        response: { status: res.statusCode, headers: res.headers, text, attempts: attempt },
      };
    } catch (error) {
      if (error instanceof SendingRefused)
        return {
          kind: 'fatal',
          error: new UpstreamError(`${req.call}: not sent: ${error.message}`, {
            call: req.call,
            // A retry refused: the attempts before it went out.
            code: attempt === 1 ? ErrorCode.notSent : ErrorCode.network,
            attempts: attempt - 1,
            cause: error.cause,
          }),
        };
      const timedOut =
        abort.signal.aborted ||
        error instanceof undiciErrors.HeadersTimeoutError ||
        error instanceof undiciErrors.BodyTimeoutError;
      const deadline = timedOut && (cutByDeadline || req.signal?.aborted === true);
      const message = deadline
        ? `${req.call}: no answer before the caller's deadline; the call may or may not have taken effect`
        : timedOut
          ? `${req.call}: no answer within ${this.settings.timeoutMs} ms`
          : `${req.call}: ${networkReason(error)}`;
      return {
        kind: 'error',
        error: new UpstreamError(`${message} (after ${attempt} attempt${attempt === 1 ? '' : 's'})`, {
          call: req.call,
          code: deadline ? ErrorCode.deadline : timedOut ? ErrorCode.timeout : ErrorCode.network,
          attempts: attempt,
          cause: error,
        }),
      };
    } finally {
      clearTimeout(timer);
      req.signal?.removeEventListener('abort', onAbort);
      release();
    }
  }
}

/**
 * What one request's attempts share: whether it was admitted, the body it goes out with, and the
 * dispatcher that tells the admission as it is written.
 */
interface AttemptState {
  admitted: boolean;
  /** Releases the request's place among the prepared ones (see `HttpRequest.prepare`). */
  prepared?: () => void;
  body: unknown;
  dispatcher?: Dispatcher;
}

function notSentError(req: HttpRequest): UpstreamError {
  return new UpstreamError(`${req.call}: not sent: it was called off just before it went out`, {
    call: req.call,
    code: ErrorCode.notSent,
    attempts: 0,
  });
}

/** The body as text, or undefined when it is (or says it is) longer than `limit` bytes. */
async function readCapped(
  body: AsyncIterable<Buffer | Uint8Array> & { destroy(error?: Error): unknown },
  declared: number,
  limit: number,
): Promise<string | undefined> {
  if (Number.isFinite(declared) && declared > limit) {
    body.destroy();
    return undefined;
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    size += chunk.length;
    if (size > limit) {
      // Stop reading: the rest never reaches memory (the connection is closed).
      body.destroy();
      return undefined;
    }
    chunks.push(Buffer.from(chunk));
  }
  return Buffer.concat(chunks).toString('utf8');
}

function deadlineError(req: HttpRequest, attempts: number): UpstreamError {
  return new UpstreamError(
    `${req.call}: not ${attempts === 0 ? 'called' : 'tried again'}: the caller's deadline has passed (after ${attempts} attempt${attempts === 1 ? '' : 's'})`,
    { call: req.call, code: ErrorCode.deadline, attempts },
  );
}

interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
}

function finish(req: HttpRequest, raw: RawResponse & { attempts: number }): HttpResponse {
  const trimmed = raw.text.trim();
  let body: unknown;
  if (trimmed !== '') {
    try {
      body = JSON.parse(trimmed);
    } catch (error) {
      const snippet = trimmed.slice(0, 80).replace(/\s+/g, ' ');
      throw new UpstreamError(
        `${req.call} answered ${raw.status} with a body that is not JSON: "${snippet}"`,
        {
          call: req.call,
          code: ErrorCode.badResponse,
          httpStatus: raw.status,
          attempts: raw.attempts,
          cause: error,
        },
      );
    }
  }
  return { status: raw.status, headers: raw.headers, body, attempts: raw.attempts };
}

/** `Retry-After` as milliseconds: delta-seconds or an HTTP date. */
export function parseRetryAfter(value: string | string[] | undefined, now = Date.now()): number | undefined {
  const text = Array.isArray(value) ? value[0] : value;
  if (text === undefined || text.trim() === '') return undefined;
  if (/^\d+(\.\d+)?$/.test(text.trim())) return Math.round(Number(text) * 1000);
  const date = Date.parse(text);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

function networkReason(error: unknown): string {
  const code = (error as { code?: string }).code;
  const message = error instanceof Error ? error.message : String(error);
  return code ? `${code} ${message}` : message;
}

function stripUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}
