import { timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import {
  canonicalRequest,
  parseAuthorization,
  parseSdkDate,
  SDK_DATE_HEADER,
  sdkDate,
  signature,
  stringToSign,
} from '../huawei/signer.ts';

/**
 * The simulator's side of access-key signing: it checks an `SDK-HMAC-SHA256` request the way the
 * API gateway does, from the request as received (method, raw path and query, the headers the
 * signature names, the body bytes), so a client that signs anything other than what it sends is
 * refused. Messages follow the gateway's (APIGW.0301, "Incorrect IAM authentication
 * information: ..."); the ones marked SIM are stand-ins.
 */

/** The gateway refuses a signature dated more than 15 minutes from its own clock, either way. */
export const MAX_CLOCK_SKEW_MS = 15 * 60_000;

export interface SimAccessKey {
  ak: string;
  sk: string;
  /** The project the key's user may call (the `X-Project-Id` it must send). */
  projectId: string;
  /** A temporary key: requests must carry this `X-Security-Token`. */
  securityToken?: string;
  /** A temporary key stops working at this instant. */
  expiresAtMs?: number;
}

export interface ReceivedRequest {
  method: string;
  /** Path and query exactly as received. */
  target: string;
  headers: IncomingHttpHeaders;
  body: Uint8Array;
}

export interface AuthRefusal {
  status: 401;
  body: { error_code: string; error_msg: string; request_id: string };
}

export class SimulatedAccessKeys {
  private readonly keys = new Map<string, SimAccessKey & { projects: Set<string> }>();

  /**
   * Asked once before a key is refused as unknown: `serve --simulate` reads the secrets file
   * again, so a key put in it a moment ago is known before the first request signed with it.
   */
  onUnknown: (() => void) | undefined;

  constructor(private readonly now: () => number) {}

  /**
   * Registers a key; the same key added again for another project may call that one too (one
   * secret can serve several accounts), while a new secret key or token replaces the old.
   */
  add(key: SimAccessKey): void {
    const known = this.keys.get(key.ak);
    const same = known && known.sk === key.sk && known.securityToken === key.securityToken;
    this.keys.set(key.ak, {
      ...key,
      projects: new Set([...(same ? known.projects : []), key.projectId]),
    });
  }

  revoke(ak: string): void {
    this.keys.delete(ak);
  }

  /** Whether the request is signed with an access key (and so is this module's to check). */
  static isSigned(headers: IncomingHttpHeaders): boolean {
    return /^SDK-HMAC-SHA256\s/.test(first(headers.authorization) ?? '');
  }

  /** Checks a signed request for a call in `projectId`: undefined when it may go through. */
  verify(request: ReceivedRequest, projectId: string): AuthRefusal | undefined {
    const parsed = parseAuthorization(first(request.headers.authorization) ?? '');
    if (!parsed) return this.refuse('SIM: the Authorization header is malformed');
    const signed = parsed.signedHeaders;
    if (!signed.includes(SDK_DATE_HEADER)) return this.refuse('SIM: x-sdk-date is not a signed header');
    const missing = signed.filter((name) => first(request.headers[name]) === undefined);
    if (missing.length > 0) return this.refuse(`SIM: signed header ${missing.join(', ')} is missing`);
    const dateText = first(request.headers[SDK_DATE_HEADER])!;
    const dateMs = parseSdkDate(dateText);
    if (dateMs === undefined) return this.refuse('SIM: x-sdk-date is not in the format YYYYMMDDTHHMMSSZ');
    const now = this.now();
    if (Math.abs(now - dateMs) > MAX_CLOCK_SKEW_MS) {
      // The gateway's own wording: the request is dated too far from the server's clock.
      return this.refuse(
        `calc aksk signature fail:signature expired, signature time:${dateText},server time:${sdkDate(now)}`,
      );
    }
    if (!this.keys.has(parsed.access)) this.onUnknown?.();
    const key = this.keys.get(parsed.access);
    if (!key) return this.refuse('SIM: the access key does not exist');
    const expected = signature(key.sk, stringToSign(dateText, this.canonical(request, signed)));
    if (!equalHex(expected, parsed.signature)) return this.refuse('verify aksk signature fail');
    if (key.securityToken !== undefined) {
      const token = first(request.headers['x-security-token']);
      if (token === undefined) return this.refuse('SIM: a temporary access key needs X-Security-Token');
      if (!signed.includes('x-security-token') || token !== key.securityToken)
        return this.refuse('SIM: the security token is invalid');
      if (key.expiresAtMs !== undefined && key.expiresAtMs <= now)
        return this.refuse('SIM: the security token has expired');
    }
    const project = first(request.headers['x-project-id']);
    if (project === undefined) return this.refuse('SIM: X-Project-Id is missing');
    if (project !== projectId || !key.projects.has(projectId))
      return this.refuse('SIM: X-Project-Id does not match the project of the call');
    return undefined;
  }

  private canonical(request: ReceivedRequest, signed: readonly string[]): string {
    const headers: Record<string, string> = {};
    for (const name of signed) headers[name] = first(request.headers[name])!;
    return canonicalRequest({ ...request, headers }, signed);
  }

  private refuse(reason: string): AuthRefusal {
    return {
      status: 401,
      body: {
        error_code: 'APIGW.0301',
        error_msg: `Incorrect IAM authentication information: ${reason}`,
        request_id: `sim-${Math.random().toString(16).slice(2, 14)}`,
      },
    };
  }
}

/** Constant time, as the gateway must: a timing difference would leak the signature byte by byte. */
function equalHex(a: string, b: string): boolean {
  const x = Buffer.from(a, 'utf8');
  const y = Buffer.from(b, 'utf8');
  return x.length === y.length && timingSafeEqual(x, y);
}

const first = (value: string | string[] | undefined): string | undefined =>
  Array.isArray(value) ? value.join(', ') : value;
