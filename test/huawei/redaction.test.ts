import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { type ApiRig, signedRequest, startApiRig, WEBHOOK_KEY } from '../helpers/api.ts';
import { PROJECT, type Rig, startRig } from '../helpers/simulator.ts';

/** Sentinels: secret values an upstream echoes back in its error bodies. */
const TOKEN = 'SENTINEL-TOKEN-5c1d0e77aa';
const PASSWORD = 'SENTINEL-PASSWORD-"q\\uote-93';
const IAM_USER = { domain: 'acme', user: 'nightshift-bot', password: PASSWORD };

describe('secret values echoed by upstream never reach a result', () => {
  let rig: Rig | undefined;
  let api: ApiRig | undefined;
  afterEach(async () => {
    await rig?.close();
    await api?.close();
    rig = api = undefined;
  });

  const echo = `token ${TOKEN} again ${JSON.stringify(TOKEN)}`;

  it.each([
    ['500 JSON', { kind: 'respond', status: 500, body: { error_code: 'X.500', error_msg: echo } }],
    ['400 JSON', { kind: 'respond', status: 400, body: { error_code: 'X.400', error_msg: echo } }],
    ['401 JSON', { kind: 'respond', status: 401, body: { error_code: 'APIGW.0301', error_msg: echo } }],
    ['HTML', { kind: 'non-json', status: 502, body: `<html><body>${TOKEN}</body></html>` }],
  ] as const)('a %s body', async (_name, fault) => {
    // Prepare: a ready token whose value upstream echoes
    rig = await startRig({ secret: { token: TOKEN } });
    rig.sim.addToken(TOKEN, PROJECT);
    rig.sim.script({ path: '/action/start' }, [fault as never], { repeat: true });
    // Act
    const [result] = await rig.run([{ target: 'face-search', action: 'start' }]);
    // Assess
    expect(result!.ok).toBe(false);
    expect(result!.errorMessage).toMatch(/REDACTED/);
    expect(JSON.stringify(result)).not.toContain(TOKEN);
  });

  it('IAM echoing the password, and a service echoing the token IAM issued', async () => {
    // Prepare
    rig = await startRig({ secret: { iam: IAM_USER } });
    rig.sim.addUser(IAM_USER);
    rig.sim.script({ path: '/v3/auth/tokens' }, [
      { kind: 'respond', status: 401, body: { error: { code: 401, message: `wrong password ${PASSWORD}` } } },
    ]);
    // Act
    const [refused] = await rig.run([{ target: 'face-search', action: 'start' }]);
    await rig.run([{ target: 'face-search', action: 'start' }]);
    const issued = String(rig.sim.requestsTo('/action/start').at(-1)!.headers['x-auth-token']);
    rig.sim.script({ path: '/action/stop' }, [
      { kind: 'respond', status: 400, body: { error_code: 'X.400', error_msg: `bad token ${issued}` } },
    ]);
    const [echoed] = await rig.run([{ target: 'face-search', action: 'stop' }]);
    // Assess
    expect(JSON.stringify(refused)).not.toContain('SENTINEL-PASSWORD');
    expect(refused!.errorMessage).toMatch(/REDACTED/);
    expect(issued.length).toBeGreaterThan(10);
    expect(JSON.stringify(echoed)).not.toContain(issued);
  });

  it('through the HTTP API: neither the answer nor the history holds the token or the webhook key', async () => {
    // Prepare
    api = await startApiRig();
    const token = String((JSON.parse(await api.secrets.get('nightshift/prod')) as { token: string }).token);
    api.sim.script(
      { path: '/action/start' },
      [{ kind: 'respond', status: 500, body: { error_code: 'X', error_msg: `${token} ${WEBHOOK_KEY}` } }],
      { repeat: true },
    );
    // Act
    const answer = await api.router.handle(
      signedRequest('POST', '/v1/actions', JSON.stringify({ action: 'start', targets: ['face-search'] }), {
        now: api.now,
      }),
    );
    // Assess
    expect(answer.status).toBe(502);
    const history = readFileSync(join(api.ledger.dir, 'history.jsonl'), 'utf8');
    for (const text of [answer.body, history]) {
      expect(text).not.toContain(token);
      expect(text).not.toContain(WEBHOOK_KEY);
    }
  });
});
