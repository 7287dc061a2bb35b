import { afterEach, describe, expect, it } from 'vitest';
import { PROJECT, type Rig, startRig, TOKEN } from '../helpers/simulator.ts';

const IAM_USER = { domain: 'acme', user: 'nightshift-bot', password: 'pa55-w0rd' };
const HOUR = 3600_000;

describe('tokens', () => {
  let rig: Rig;
  afterEach(async () => {
    await rig.close();
  });

  it('on 401 re-reads a token secret once and retries with the new token', async () => {
    // Prepare: the token was rotated in the secret store and the old one revoked
    rig = await startRig();
    await rig.run([{ target: 'face-search', action: 'start' }]);
    rig.sim.revokeToken(TOKEN);
    rig.sim.addToken('rotated-token', PROJECT);
    rig.secrets.set('nightshift/prod', { token: 'rotated-token' });
    // Act
    const [result] = await rig.run([{ target: 'face-search', action: 'stop' }]);
    // Assess
    expect(result).toMatchObject({ ok: true, attempts: 2 });
    const stops = rig.sim.requestsTo('/action/stop');
    expect(stops.map((r) => r.headers['x-auth-token'])).toEqual([TOKEN, 'rotated-token']);
  });

  it('fails clearly when the new token is refused too, after exactly one retry', async () => {
    rig = await startRig();
    rig.sim.revokeToken(TOKEN);
    const [result] = await rig.run([{ target: 'face-search', action: 'start' }]);
    expect(result).toMatchObject({ ok: false, httpStatus: 401, errorCode: 'APIGW.0301', attempts: 2 });
    expect(rig.sim.requests).toHaveLength(2);
  });

  it('gets a project-scoped token from IAM once and shares it between concurrent calls', async () => {
    // Prepare
    rig = await startRig({ secret: { iam: IAM_USER } });
    rig.sim.addUser(IAM_USER);
    // Act
    const results = await rig.run([
      { target: 'face-search', action: 'start' },
      { target: 'load-test', action: 'start' },
      { target: 'orders-sync', action: 'pause' },
    ]);
    // Assess
    expect(results.every((r) => r.ok)).toBe(true);
    const iam = rig.sim.requestsTo('/v3/auth/tokens', 'POST');
    expect(iam).toHaveLength(1);
    expect(iam[0]!.path).toBe('/v3/auth/tokens?nocatalog=true');
    expect(iam[0]!.headers['content-type']).toBe('application/json');
    expect(iam[0]!.body).toEqual({
      auth: {
        identity: {
          methods: ['password'],
          password: { user: { domain: { name: 'acme' }, name: 'nightshift-bot', password: 'pa55-w0rd' } },
        },
        scope: { project: { id: PROJECT } },
      },
    });
    const used = new Set(
      rig.sim.requests.filter((r) => !r.path.startsWith('/v3/auth')).map((r) => r.headers['x-auth-token']),
    );
    expect(used.size).toBe(1);
    expect(String([...used][0])).toMatch(/^MIIsim/);
  });

  it('reuses an IAM token until an hour before it expires', async () => {
    // Prepare
    let now = Date.parse('2027-01-01T00:00:00Z');
    rig = await startRig({ secret: { iam: IAM_USER }, now: () => now });
    rig.sim.addUser(IAM_USER);
    const iamCalls = () => rig.sim.requestsTo('/v3/auth/tokens').length;
    // Act / Assess
    await rig.run([{ target: 'face-search', action: 'start' }]);
    now += 22 * HOUR + 59 * 60_000;
    await rig.run([{ target: 'face-search', action: 'stop' }]);
    expect(iamCalls()).toBe(1);
    now += 2 * 60_000; // 23 h 01 min: inside the last hour
    const [result] = await rig.run([{ target: 'face-search', action: 'start' }]);
    expect(iamCalls()).toBe(2);
    expect(result!.ok).toBe(true);
  });

  it('goes back to IAM after a 401 and retries once', async () => {
    rig = await startRig({ secret: { iam: IAM_USER } });
    rig.sim.addUser(IAM_USER);
    await rig.run([{ target: 'face-search', action: 'start' }]);
    rig.sim.script({ path: '/action/stop' }, [{ kind: 'expire-token' }]);
    const [result] = await rig.run([{ target: 'face-search', action: 'stop' }]);
    expect(result).toMatchObject({ ok: true, attempts: 2 });
    expect(rig.sim.requestsTo('/v3/auth/tokens')).toHaveLength(2);
  });

  it('reports IAM refusing the credentials, naming the account and not the password', async () => {
    rig = await startRig({ secret: { iam: { ...IAM_USER, password: 'wrong-password-value' } } });
    rig.sim.addUser(IAM_USER);
    const [result] = await rig.run([{ target: 'face-search', action: 'start' }]);
    expect(result).toMatchObject({ ok: false, httpStatus: 401, errorCode: '401' });
    expect(result!.errorMessage).toMatch(
      /IAM refused a token for account "prod": POST \/v3\/auth\/tokens answered 401 401: The username or password is wrong/,
    );
    expect(JSON.stringify(result)).not.toContain('wrong-password-value');
  });

  it.each([
    ['a missing secret', undefined, /secret "nightshift\/prod" is not set/],
    ['a secret that is not JSON', 'token=abc-secret-value', /not JSON/],
    [
      'a secret with none of token, iam, aksk',
      { tokn: 'abc-secret-value' },
      /holds none of "token", "iam", "aksk"/,
    ],
    [
      'a secret with two forms at once',
      { token: 'abc-secret-value', aksk: { ak: 'abc-secret-value', sk: 'abc-secret-value' } },
      /holds more than one of "token", "iam", "aksk"/,
    ],
    ['an access key lacking its secret key', { aksk: { ak: 'abc-secret-value' } }, /aksk lacks sk/],
    [
      'an access key with a misspelt field',
      { aksk: { ak: 'abc-secret-value', sk: 'abc-secret-value', securitytoken: 'abc-secret-value' } },
      /aksk has unknown field securitytoken/,
    ],
    [
      'an access key pasted with a line break',
      { aksk: { ak: 'abc-secret-value', sk: 'abc-secret-value\n' } },
      /aksk.sk has leading or trailing white space/,
    ],
    [
      'IAM credentials lacking a password',
      { iam: { domain: 'd', user: 'abc-secret-value' } },
      /iam lacks password/,
    ],
  ])('reports %s by name without its value', async (_name, secret, message) => {
    rig = await startRig();
    if (secret === undefined) rig.secrets.delete('nightshift/prod');
    else rig.secrets.set('nightshift/prod', secret);
    const [result] = await rig.run([{ target: 'face-search', action: 'start' }]);
    expect(result).toMatchObject({ ok: false, errorCode: 'NIGHTSHIFT.SECRET', attempts: 0 });
    expect(result!.errorMessage).toMatch(message);
    expect(result!.errorMessage).not.toContain('abc-secret-value');
    expect(rig.sim.requests).toHaveLength(0);
  });
});
