import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { parseConfig } from '../../functions/engine/config/validate.ts';
import { HuaweiSimulator } from '../../functions/local/simulator.ts';
import { runCli } from '../helpers/cli.ts';
import { rawConfig } from '../helpers/config.ts';
import { PROJECT } from '../helpers/simulator.ts';

const SENTINEL_AK = 'SENTINELAK7F3A9C0001';
const SENTINEL_SK = 'SENTINEL-SK-51be02-secret-access-key';
const SENTINEL_SECURITY_TOKEN = 'SENTINEL-SECURITY-TOKEN-9d4e11';

describe('nightshift run with an access-key secret', () => {
  let sim: HuaweiSimulator;
  let configFile: string;
  let secretsFile: string;

  beforeAll(async () => {
    sim = new HuaweiSimulator();
    const url = await sim.start();
    const dir = mkdtempSync(join(tmpdir(), 'nightshift-aksk-'));
    const config = rawConfig([], {
      accounts: {
        prod: { region: 'cn-north-4', projectId: PROJECT, secret: 'nightshift/prod', endpoint: url },
      },
    });
    configFile = join(dir, 'schedule.json');
    writeFileSync(configFile, JSON.stringify(config));
    secretsFile = join(dir, 'secrets.json');
    writeFileSync(
      secretsFile,
      JSON.stringify({
        'nightshift/prod': {
          aksk: { ak: SENTINEL_AK, sk: SENTINEL_SK, securityToken: SENTINEL_SECURITY_TOKEN },
        },
      }),
    );
    sim.seed(parseConfig(config));
  });
  afterAll(async () => {
    await sim.stop();
  });
  beforeEach(() => {
    sim.clearScripts();
    sim.accessKeys.revoke(SENTINEL_AK);
  });

  const run = (...args: string[]) =>
    runCli(['run', '--config', configFile, '--secrets', secretsFile, ...args]);

  it('carries actions out with the signed calls alone', async () => {
    // Prepare
    sim.addAccessKey({
      ak: SENTINEL_AK,
      sk: SENTINEL_SK,
      projectId: PROJECT,
      securityToken: SENTINEL_SECURITY_TOKEN,
    });
    // Act
    const result = await run('--action', 'pause', '--target', 'replication', '--json');
    // Assess
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout).results.map((r: { ok: boolean }) => r.ok)).toEqual([true, true]);
    expect(sim.requestsTo('/v3/auth/tokens')).toHaveLength(0);
  });

  it('never prints the AK, SK or security token, whatever fails', async () => {
    // Prepare: the gateway knows another secret key for this AK, and one answer quotes them all
    sim.addAccessKey({ ak: SENTINEL_AK, sk: 'another-secret-key', projectId: PROJECT });
    const quoting = {
      kind: 'respond' as const,
      status: 401,
      body: {
        error_code: 'APIGW.0301',
        error_msg: `refused ${SENTINEL_AK} ${SENTINEL_SK} ${SENTINEL_SECURITY_TOKEN}`,
      },
    };
    sim.script({ path: '/action/start' }, [quoting, quoting]);
    // Act
    const outputs = [
      await run('--action', 'pause', '--target', 'replication'),
      await run('--action', 'pause', '--target', 'replication', '--json'),
      await run('--action', 'start', '--target', 'face-search', '--json'),
    ];
    // Assess
    for (const output of outputs) {
      expect(output.code).toBe(1);
      for (const secret of [SENTINEL_AK, SENTINEL_SK, SENTINEL_SECURITY_TOKEN]) {
        expect(output.stdout + output.stderr).not.toContain(secret);
      }
    }
    expect(outputs[0]!.stdout).toMatch(/APIGW.0301/);
    expect(outputs[2]!.stdout).toMatch(/refused \[REDACTED\] \[REDACTED\] \[REDACTED\]/);
  });
});
