import type { AccountConfig } from '../engine/config/schema.ts';
import { ErrorCode } from '../engine/error-codes.ts';
import type { StatusRead } from '../engine/states.ts';
import { SecretError, SecretNotSetError } from '../stores/secrets.ts';
import { type Service, serviceBase } from './endpoints.ts';
import { UpstreamError } from './errors.ts';
import type { Admit, HttpClient, HttpResponse } from './http.ts';
import { requestAuth, secretValues } from './request-auth.ts';
import type { AccountAuth, TokenProvider } from './tokens.ts';

export interface UpstreamContext {
  http: HttpClient;
  tokens: TokenProvider;
  /** Epoch ms (real clock): see `HttpRequest.deadline`. */
  deadline?: number;
  /** See `HttpRequest.signal`. */
  signal?: AbortSignal;
  /** For the one state-changing call of this context: see `HttpRequest.admit`. */
  admit?: Admit;
  /** For the one state-changing call of this context: see `HttpRequest.prepare`. */
  prepare?: () => Promise<boolean>;
  /** For the one status read of this context, asked as it goes out (a hands-off may have begun). */
  admitRead?: Admit;
}

export interface AccountRef {
  name: string;
  config: AccountConfig;
}

/** How one upstream call went for one target. */
export interface CallOutcome {
  ok: boolean;
  httpStatus?: number;
  errorCode?: string;
  errorMessage?: string;
  /** HTTP attempts made, retries and the retry after a new token included */
  attempts: number;
}

export interface ServiceCall {
  service: Service;
  method: 'GET' | 'POST' | 'PUT';
  /** The real path, ids filled in. */
  path: string;
  /** The documented call, e.g. `PUT /v2/{project_id}/tasks/{task_id}/action/start`. */
  call: string;
  body?: unknown;
  /** See `HttpRequest.changesState`. */
  changesState?: boolean;
}

/**
 * Calls a service with the account's token or access-key signature. On 401 the authorization is
 * fetched again once (the secret re-read, or IAM asked anew) and the call repeated once. Any
 * credential value an answer quotes back is masked before anyone reads it.
 */
export async function authorizedCall(
  ctx: UpstreamContext,
  account: AccountRef,
  spec: ServiceCall,
): Promise<HttpResponse> {
  const url = `${serviceBase(account.config, spec.service)}${spec.path}`;
  // Admitted once, at the first send: the retry after a new token is the same call, with the
  // body the admission settled on (a DRS batch may have lost jobs to it).
  let body = spec.body;
  const admit: Admit | undefined =
    spec.changesState && ctx.admit
      ? async () => {
          const admitted = await ctx.admit!();
          if (admitted && admitted.body !== undefined) body = admitted.body;
          return admitted;
        }
      : spec.changesState
        ? undefined
        : ctx.admitRead;
  const send = (auth: AccountAuth, first: boolean) =>
    ctx.http.request({
      account: account.name,
      method: spec.method,
      url,
      call: spec.call,
      ...requestAuth(auth, account.config.projectId, ctx.tokens.now),
      mask: secretValues(auth),
      body,
      ...(spec.changesState ? { changesState: true } : {}),
      ...(ctx.deadline === undefined ? {} : { deadline: ctx.deadline }),
      ...(ctx.signal ? { signal: ctx.signal } : {}),
      ...(first && admit ? { admit } : {}),
      ...(first && spec.changesState && ctx.prepare ? { prepare: ctx.prepare } : {}),
    });
  const auth = await ctx.tokens.auth(account.name, account.config, ctx.deadline);
  const first = await send(auth, true);
  if (first.status !== 401) return first;
  const fresh = await ctx.tokens.refresh(account.name, account.config, auth, ctx.deadline);
  const second = await send(fresh, false);
  return { ...second, attempts: first.attempts + second.attempts };
}

/** `error_code` and `error_msg` of an upstream answer, if it carries them. */
export function upstreamError(body: unknown): { code: string; message: string } | undefined {
  if (typeof body !== 'object' || body === null) return undefined;
  const b = body as Record<string, unknown>;
  if (typeof b.error_code === 'string' && b.error_code !== '') {
    return { code: b.error_code, message: String(b.error_msg ?? b.message ?? '') };
  }
  return undefined;
}

export function succeeded(response: HttpResponse): CallOutcome {
  return { ok: true, httpStatus: response.status, attempts: response.attempts };
}

/** A failed outcome whose message names the call, the HTTP status and the upstream code. */
export function failed(
  call: string,
  response: HttpResponse,
  fallback: { code?: string; message: string },
): CallOutcome {
  const upstream = upstreamError(response.body);
  const code = upstream?.code ?? fallback.code ?? ErrorCode.httpStatus;
  const message = upstream?.message || fallback.message;
  return {
    ok: false,
    httpStatus: response.status,
    errorCode: code,
    errorMessage: `${call} answered ${response.status} ${code}: ${message}`,
    attempts: response.attempts,
  };
}

/** Turns a thrown error into a failed outcome, so one failing target never stops the others. */
export function outcomeOfError(error: unknown): CallOutcome {
  if (error instanceof UpstreamError) {
    return {
      ok: false,
      ...(error.httpStatus === undefined ? {} : { httpStatus: error.httpStatus }),
      errorCode: error.code,
      errorMessage: error.message,
      attempts: error.attempts,
    };
  }
  if (error instanceof SecretNotSetError) {
    return { ok: false, errorCode: ErrorCode.secretNotSet, errorMessage: error.message, attempts: 0 };
  }
  if (error instanceof SecretError) {
    return { ok: false, errorCode: ErrorCode.secret, errorMessage: error.message, attempts: 0 };
  }
  const message = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  return { ok: false, errorCode: ErrorCode.internal, errorMessage: message, attempts: 0 };
}

/** A status read that failed, with the code and message of the failed call. */
export function unreadable(outcome: CallOutcome): StatusRead {
  return {
    observation: null,
    error: {
      code: outcome.errorCode ?? ErrorCode.internal,
      message: outcome.errorMessage ?? 'status read failed',
    },
  };
}

export const is2xx = (status: number): boolean => status >= 200 && status < 300;
