import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { AKSKSigner } from '@huaweicloud/huaweicloud-sdk-core/auth/AKSKSigner.js';
import { BasicCredentials } from '@huaweicloud/huaweicloud-sdk-core/auth/BasicCredentials.js';
import { describe, expect, it } from 'vitest';
import { requestAuth } from '../../functions/huawei/request-auth.ts';
import {
  authorizationHeader,
  canonicalQuery,
  canonicalRequest,
  canonicalUri,
  parseAuthorization,
  parseSdkDate,
  sdkDate,
  sha256Hex,
  signature,
  signRequest,
  stringToSign,
} from '../../functions/huawei/signer.ts';

const EMPTY_SHA256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';
const PROJECT = '054ba152d480d55b2f5dc0069e7ddef0';

describe('SDK-HMAC-SHA256: known answers from the API Request Signing Guide', () => {
  // The guide's worked example: its hashed canonical request, date, AK and SK, and the
  // signature and Authorization header it arrives at.
  const guide = {
    ak: 'QTWAOYTTINDUT2QVKYUC',
    sk: 'MFyfvK41ba2giqM7Uio6PznpdUKGpownRZlmVmHc',
    date: '20191115T033655Z',
    hashedCanonical: 'b25362e603ee30f4f25e7858e8a7160fd36e803bb2dfe206278659d71a9bcd7a',
    signature: '7be6668032f70418fcc22abc52071e57aff61b84a1d2381bb430d6870f4f6ebe',
  };

  it('signs the string to sign of the guide to the guide’s signature', () => {
    const toSign = `SDK-HMAC-SHA256\n${guide.date}\n${guide.hashedCanonical}`;
    expect(signature(guide.sk, toSign)).toBe(guide.signature);
  });

  it('writes the guide’s Authorization header, byte for byte', () => {
    expect(authorizationHeader(guide.ak, ['content-type', 'host', 'x-sdk-date'], guide.signature)).toBe(
      'SDK-HMAC-SHA256 Access=QTWAOYTTINDUT2QVKYUC, SignedHeaders=content-type;host;x-sdk-date, ' +
        'Signature=7be6668032f70418fcc22abc52071e57aff61b84a1d2381bb430d6870f4f6ebe',
    );
  });

  it('builds the string to sign from the date and the hex SHA-256 of the canonical request', () => {
    const canonical = `GET\n/\n\nhost:a\nx-sdk-date:20191115T033655Z\n\nhost;x-sdk-date\n${EMPTY_SHA256}`;
    expect(stringToSign(guide.date, canonical)).toBe(
      `SDK-HMAC-SHA256\n20191115T033655Z\n${sha256Hex(canonical)}`,
    );
  });

  it('lays the canonical request out as the gateway prints it (GET /test, host and date signed)', () => {
    // The gateway's APIG.0303 answer quotes its canonical request with | for line breaks:
    // GET|/test/||host:<host>|x-sdk-date:20230527T015431Z||host;x-sdk-date|e3b0c442...
    const canonical = canonicalRequest(
      { method: 'GET', target: '/test', headers: { Host: 'example.com', 'X-Sdk-Date': '20230527T015431Z' } },
      ['host', 'x-sdk-date'],
    );
    expect(canonical.replaceAll('\n', '|')).toBe(
      `GET|/test/||host:example.com|x-sdk-date:20230527T015431Z||host;x-sdk-date|${EMPTY_SHA256}`,
    );
  });

  it('ends the canonical URI with /, encodes each segment per RFC 3986, and keeps an existing /', () => {
    expect(canonicalUri('/v3/p/jobs/batch-pause-task')).toBe('/v3/p/jobs/batch-pause-task/');
    expect(canonicalUri('/app1/')).toBe('/app1/');
    expect(canonicalUri('/')).toBe('/');
    expect(canonicalUri('/a b/%7Euser/x*y')).toBe('/a%20b/~user/x%2Ay/');
  });

  it('sorts the query by name then value and encodes names and values per RFC 3986', () => {
    expect(canonicalQuery('?b=2&a=1')).toBe('a=1&b=2');
    expect(canonicalQuery('name=a b&name=A&flag')).toBe('flag=&name=A&name=a%20b');
    expect(canonicalQuery('x=%2a&y=~')).toBe('x=%2A&y=~');
    expect(canonicalQuery('')).toBe('');
  });

  it('hashes the exact body bytes, multi-byte characters included', () => {
    const body = Buffer.from('{"name":"夜班"}', 'utf8');
    const canonical = canonicalRequest({ method: 'POST', target: '/x', headers: { host: 'h' }, body }, [
      'host',
    ]);
    expect(canonical.endsWith(`\n${sha256Hex(body)}`)).toBe(true);
    expect(sha256Hex(body)).not.toBe(sha256Hex('{"name":"??"}'));
  });

  it('formats and reads X-Sdk-Date as YYYYMMDDTHHMMSSZ in UTC, and rejects anything else', () => {
    const ms = Date.parse('2019-11-15T03:36:55.789Z');
    expect(sdkDate(ms)).toBe('20191115T033655Z');
    expect(parseSdkDate('20191115T033655Z')).toBe(Date.parse('2019-11-15T03:36:55Z'));
    for (const bad of ['2019-11-15T03:36:55Z', '20191115T033655', '20190230T000000Z', '20191115T036655Z']) {
      expect(parseSdkDate(bad)).toBeUndefined();
    }
  });

  it('reads its own Authorization header back', () => {
    const headers = signRequest(
      { method: 'GET', target: '/', headers: { host: 'h' } },
      { ak: 'AK', sk: 'SK' },
      Date.parse('2019-11-15T03:36:55Z'),
    );
    expect(parseAuthorization(headers.authorization!)).toEqual({
      access: 'AK',
      signedHeaders: ['host', 'x-sdk-date'],
      signature: expect.stringMatching(/^[0-9a-f]{64}$/),
    });
    expect(parseAuthorization('SDK-HMAC-SHA256 Access=AK')).toBeUndefined();
  });
});

describe('SDK-HMAC-SHA256: cross-checked against the official Node core SDK’s signer', () => {
  const key = { ak: 'HPUAL4EXAMPLEAK8XRE1', sk: 'a9Zk2ExampleSecretKeyForCrossCheck0000001' };
  const date = '20261130T010203Z';
  const at = parseSdkDate(date)!;

  /** Our headers for a request, signed the way the HTTP client signs an attempt. */
  function ours(method: string, url: string, body: unknown, securityToken?: string): Record<string, string> {
    const auth = requestAuth(
      { kind: 'aksk', key: { ...key, ...(securityToken ? { securityToken } : {}) } },
      PROJECT,
      () => at,
    );
    const headers: Record<string, string> = { accept: 'application/json', ...auth.headers };
    const bytes = body === undefined ? undefined : Buffer.from(JSON.stringify(body), 'utf8');
    if (bytes) headers['content-type'] = 'application/json';
    return { ...headers, ...auth.sign!({ method, url: new URL(url), headers, body: bytes }) };
  }

  /** The SDK's headers for the same request, its date fixed to ours. */
  function theirs(
    method: string,
    url: string,
    body: unknown,
    securityToken?: string,
  ): Record<string, string> {
    const u = new URL(url);
    const headers: Record<string, string> = {
      'X-Sdk-Date': date,
      accept: 'application/json',
      'X-Project-Id': PROJECT,
      ...(securityToken ? { 'X-Security-Token': securityToken } : {}),
      // The SDK's signer reads content-type unconditionally; it signs it only when present.
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    };
    const credential = new BasicCredentials().withAk(key.ak).withSk(key.sk);
    return AKSKSigner.sign(
      {
        endpoint: `${u.origin}${u.pathname}`,
        method,
        headers,
        queryParams: Object.fromEntries(u.searchParams),
        ...(body === undefined ? {} : { data: body }),
      },
      credential,
    ) as Record<string, string>;
  }

  const cases: [string, string, string, unknown, string?][] = [
    [
      'a DRS pause batch',
      'POST',
      `https://drs.cn-north-4.myhuaweicloud.com/v3/${PROJECT}/jobs/batch-pause-task`,
      {
        jobs: [
          { job_id: 'c7debc9c-8e09-4a5d-8dd6-cc44f78jb20r', pause_mode: 'target' },
          { job_id: '8d0e8e36-a618-490d-8a46-8c61ac9jb502', pause_mode: 'all' },
        ],
      },
    ],
    [
      'a CPTS start with an enterprise project',
      'POST',
      `https://cpts.cn-north-4.myhuaweicloud.com/v1/${PROJECT}/test-suites/7/tasks/42`,
      {
        cluster_id: 3,
        cluster_type: 'private-cluster',
        without_package: 0,
        network_info: { network_type: 'internet' },
        status: 9,
        enterprise_project_id: 'ep-1',
      },
    ],
    [
      'a VIAS stop, no body',
      'PUT',
      `https://vias.cn-north-4.myhuaweicloud.com/v2/${PROJECT}/tasks/t-1/action/stop`,
      undefined,
    ],
    [
      'a query string and a port',
      'GET',
      `https://iam.example.com:8443/v3/projects?name=cn-north-4&enabled=true`,
      undefined,
    ],
    [
      'a temporary key with its security token',
      'POST',
      `https://drs.cn-north-4.myhuaweicloud.com/v3/${PROJECT}/jobs/batch-retry-task`,
      { jobs: [{ job_id: '8d0e8e36-a618-490d-8a46-8c61ac9jb502' }] },
      'gQpjbi1ub3J0aC00LXNlY3VyaXR5LXRva2VuLWV4YW1wbGU=',
    ],
  ];

  it.each(cases)('signs %s exactly as the SDK does', (_name, method, url, body, securityToken) => {
    // Act
    const mine = ours(method, url, body, securityToken);
    const sdk = theirs(method, url, body, securityToken);
    // Assess: same signed headers, same signature, same header values
    expect(mine.authorization).toBe(sdk.Authorization);
    expect(mine['x-sdk-date']).toBe(date);
    expect(mine.host).toBe(sdk.host);
    expect(mine['x-project-id']).toBe(PROJECT);
    if (securityToken) expect(mine['x-security-token']).toBe(securityToken);
  });

  it('differs from the SDK as soon as one body byte differs: the signature covers the bytes', () => {
    const url = `https://drs.cn-north-4.myhuaweicloud.com/v3/${PROJECT}/jobs/batch-pause-task`;
    const body = { jobs: [{ job_id: '8d0e8e36-a618-490d-8a46-8c61ac9jb502', pause_mode: 'target' }] };
    const other = { jobs: [{ job_id: '8d0e8e36-a618-490d-8a46-8c61ac9jb502', pause_mode: 'all' }] };
    expect(ours('POST', url, body).authorization).not.toBe(theirs('POST', url, other).Authorization);
  });
});

describe('the official SDK stays a test-only dependency', () => {
  it('is imported by no file that runs in the product (functions/, lib/, bin/)', () => {
    const files = ['functions', 'lib', 'bin'].flatMap((dir) =>
      readdirSync(dir, { recursive: true, encoding: 'utf8' })
        .filter((f) => /\.(ts|mjs|js)$/.test(f))
        .map((f) => join(dir, f)),
    );
    expect(files.length).toBeGreaterThan(20);
    const importing = files.filter((f) => readFileSync(f, 'utf8').includes('@huaweicloud/'));
    expect(importing).toEqual([]);
  });
});
