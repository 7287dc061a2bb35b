import type { RequestSigner } from './http.ts';
import { signRequest } from './signer.ts';
import type { AccountAuth } from './tokens.ts';

/**
 * The headers (and, for an access key, the signer) that authorize one request of an account.
 * A token goes in `X-Auth-Token`. An access key signs each attempt as it is sent (so a retry gets
 * a fresh `X-Sdk-Date`); `X-Project-Id` scopes the call to the account's project, as the token's
 * scope does, and a temporary key carries its `X-Security-Token`. All of them are signed.
 */
export function requestAuth(
  auth: AccountAuth,
  projectId: string,
  now: () => number,
): { headers: Record<string, string>; sign?: RequestSigner } {
  if (auth.kind === 'token') return { headers: { 'x-auth-token': auth.token } };
  const { key } = auth;
  return {
    headers: {
      'x-project-id': projectId,
      ...(key.securityToken === undefined ? {} : { 'x-security-token': key.securityToken }),
    },
    sign: ({ method, url, headers, body }) => {
      // The Host header is signed, so it is set here rather than left to the HTTP library.
      const host = url.host;
      const signed = signRequest(
        { method, target: `${url.pathname}${url.search}`, headers: { ...headers, host }, body },
        key,
        now(),
      );
      return { host, ...signed };
    },
  };
}

/** The values of an authorization that must never be shown: they are masked in upstream answers. */
export function secretValues(auth: AccountAuth): string[] {
  if (auth.kind === 'token') return [auth.token];
  return [
    auth.key.ak,
    auth.key.sk,
    ...(auth.key.securityToken === undefined ? [] : [auth.key.securityToken]),
  ];
}
