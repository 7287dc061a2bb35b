import type { AccountConfig } from '../engine/config/schema.ts';
import { ErrorCode } from '../engine/error-codes.ts';
import { rememberSecret } from '../observability/redact.ts';
import type { SecretSource } from '../stores/secrets.ts';
import { type Credentials, parseCredentials } from './credentials.ts';
import { serviceBase } from './endpoints.ts';
import { UpstreamError } from './errors.ts';
import type { HttpClient } from './http.ts';
import type { AccessKey } from './signer.ts';

/** IAM tokens are reused until this long before they expire. */
export const TOKEN_REFRESH_MARGIN_MS = 60 * 60 * 1000;
const IAM_CALL = 'POST /v3/auth/tokens';
/** Credential fields that are names, not secrets; every other string field is redacted. */
const PUBLIC_CREDENTIAL_FIELDS = new Set(['kind', 'domain', 'user', 'endpoint']);

/** How an account's requests are authorized: a token header, or an access-key signature. */
export type AccountAuth = { kind: 'token'; token: string } | { kind: 'aksk'; key: AccessKey };

interface CachedAuth {
  auth: AccountAuth;
  /** undefined for what is taken as is from the secret (a token, an access key) */
  expiresAtMs: number | undefined;
}

/**
 * What each account authorizes its requests with: a token taken from the secret or fetched from
 * IAM with the secret's credentials (cached until an hour before it expires), or the secret's
 * access key, which needs no token at all. Concurrent callers share one secret read and one IAM
 * call.
 */
export class TokenProvider {
  private readonly cache = new Map<string, CachedAuth>();
  private readonly pending = new Map<string, Promise<CachedAuth>>();
  /**
   * The clock tokens expire by and signatures are dated with. Outside tests it must be the real
   * one (never serve's scaled demo clock): the gateway refuses a signature 15 minutes off.
   */
  readonly now: () => number;

  constructor(
    private readonly secrets: SecretSource,
    private readonly http: HttpClient,
    options: { now?: () => number } = {},
  ) {
    this.now = options.now ?? Date.now;
  }

  /** A usable authorization for the account. */
  async auth(accountName: string, account: AccountConfig, deadline?: number): Promise<AccountAuth> {
    const cached = this.cache.get(accountName);
    if (
      cached &&
      (cached.expiresAtMs === undefined || cached.expiresAtMs - TOKEN_REFRESH_MARGIN_MS > this.now())
    ) {
      return cached.auth;
    }
    return (await this.load(accountName, account, false, deadline)).auth;
  }

  /**
   * A fresh authorization after upstream refused `rejected`: the secret is read again (a rotated
   * token or access key is picked up) and, for IAM credentials, a new token fetched. If another
   * caller already replaced it, that one is used.
   */
  async refresh(
    accountName: string,
    account: AccountConfig,
    rejected: AccountAuth,
    deadline?: number,
  ): Promise<AccountAuth> {
    const cached = this.cache.get(accountName);
    if (cached && cached.auth !== rejected) return cached.auth;
    this.cache.delete(accountName);
    return (await this.load(accountName, account, true, deadline)).auth;
  }

  /** Concurrent callers share one fetch, bounded by the deadline of the caller that started it. */
  private load(
    accountName: string,
    account: AccountConfig,
    refresh: boolean,
    deadline: number | undefined,
  ): Promise<CachedAuth> {
    let promise = this.pending.get(accountName);
    if (!promise) {
      promise = this.fetch(accountName, account, refresh, deadline).finally(() =>
        this.pending.delete(accountName),
      );
      this.pending.set(accountName, promise);
    }
    return promise;
  }

  private async fetch(
    accountName: string,
    account: AccountConfig,
    refresh: boolean,
    deadline: number | undefined,
  ): Promise<CachedAuth> {
    const credentials = parseCredentials(account.secret, await this.secrets.get(account.secret, { refresh }));
    // Known before the first call, so an upstream echoing any of them is scrubbed.
    for (const [field, value] of Object.entries(credentials))
      if (!PUBLIC_CREDENTIAL_FIELDS.has(field) && typeof value === 'string') rememberSecret(value);
    let entry: CachedAuth;
    if (credentials.kind === 'token') {
      entry = { auth: { kind: 'token', token: credentials.token }, expiresAtMs: undefined };
    } else if (credentials.kind === 'aksk') {
      const { ak, sk, securityToken } = credentials;
      entry = {
        auth: { kind: 'aksk', key: { ak, sk, ...(securityToken === undefined ? {} : { securityToken }) } },
        expiresAtMs: undefined,
      };
    } else {
      const { token, expiresAtMs } = await this.fromIam(accountName, account, credentials, deadline);
      rememberSecret(token);
      entry = { auth: { kind: 'token', token }, expiresAtMs };
    }
    this.cache.set(accountName, entry);
    return entry;
  }

  private async fromIam(
    accountName: string,
    account: AccountConfig,
    credentials: Extract<Credentials, { kind: 'iam' }>,
    deadline: number | undefined,
  ): Promise<{ token: string; expiresAtMs: number }> {
    const base = credentials.endpoint?.replace(/\/+$/, '') ?? serviceBase(account, 'iam');
    const response = await this.http.request({
      account: accountName,
      method: 'POST',
      url: `${base}/v3/auth/tokens?nocatalog=true`,
      call: IAM_CALL,
      mask: [credentials.password],
      ...(deadline === undefined ? {} : { deadline }),
      body: {
        auth: {
          identity: {
            methods: ['password'],
            password: {
              user: {
                domain: { name: credentials.domain },
                name: credentials.user,
                password: credentials.password,
              },
            },
          },
          scope: { project: { id: account.projectId } },
        },
      },
    });
    const header = response.headers['x-subject-token'];
    const token = Array.isArray(header) ? header[0] : header;
    const body = response.body as { token?: { expires_at?: unknown } } | undefined;
    if (response.status !== 201 && response.status !== 200) {
      const { code, message } = iamError(response.body);
      throw new UpstreamError(
        `IAM refused a token for account "${accountName}": ${IAM_CALL} answered ${response.status} ${code}: ${message}`,
        { call: IAM_CALL, code, httpStatus: response.status, attempts: response.attempts },
      );
    }
    const expiresAtMs =
      typeof body?.token?.expires_at === 'string' ? Date.parse(body.token.expires_at) : Number.NaN;
    if (!token || Number.isNaN(expiresAtMs)) {
      throw new UpstreamError(
        `IAM answered ${response.status} for account "${accountName}" without an X-Subject-Token header or token.expires_at`,
        {
          call: IAM_CALL,
          code: ErrorCode.iam,
          httpStatus: response.status,
          attempts: response.attempts,
        },
      );
    }
    return { token, expiresAtMs };
  }
}

function iamError(body: unknown): { code: string; message: string } {
  const b = (body ?? {}) as Record<string, unknown>;
  if (typeof b.error_code === 'string') return { code: b.error_code, message: String(b.error_msg ?? '') };
  const nested = b.error as Record<string, unknown> | undefined;
  if (nested && typeof nested === 'object') {
    return {
      code: String(nested.code ?? ErrorCode.iam),
      message: String(nested.message ?? nested.title ?? ''),
    };
  }
  return { code: ErrorCode.iam, message: 'no error details' };
}
