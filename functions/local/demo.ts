import { randomBytes } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Config } from '../engine/config/schema.ts';
import { MemorySecretSource } from '../stores/secrets.ts';
import { HuaweiSimulator } from './simulator.ts';

export interface Demo {
  simulator: HuaweiSimulator;
  secrets: MemorySecretSource;
  /** Where the generated secrets were written, for `trigger` to read the webhook key from. */
  secretsFile: string;
  /** Points every account of a config at the simulator. */
  transform(config: Config): Config;
}

/**
 * `serve --simulate`: starts the simulator, points every account at it, and generates demo
 * secrets (a token per account, a webhook key) so the whole product runs on a fresh machine.
 */
export async function startDemo(config: Config, stateDir: string): Promise<Demo> {
  const simulator = new HuaweiSimulator({ latencyMs: 20 });
  const url = await simulator.start();
  const values: Record<string, unknown> = {
    [config.webhook.secret]: { key: randomBytes(24).toString('hex') },
  };
  const seeded = new Set<string>();
  const seedAccounts = (c: Config) => {
    for (const [name, account] of Object.entries(c.accounts)) {
      const token = `demo-token-${name}`;
      values[account.secret] = { token };
      simulator.addToken(token, account.projectId);
    }
    for (const [name, target] of Object.entries(c.targets)) {
      if (seeded.has(name)) continue;
      seeded.add(name);
      simulator.seed({ ...c, targets: { [name]: target } });
    }
  };
  seedAccounts(config);
  const secrets = new MemorySecretSource(values);
  await mkdir(stateDir, { recursive: true });
  const secretsFile = join(stateDir, 'demo-secrets.json');
  await writeFile(secretsFile, `${JSON.stringify(values, null, 2)}\n`, { mode: 0o600 });
  return {
    simulator,
    secrets,
    secretsFile,
    transform(c) {
      seedAccounts(c);
      for (const [name, account] of Object.entries(c.accounts))
        secrets.set(account.secret, { token: `demo-token-${name}` });
      const accounts = Object.fromEntries(
        Object.entries(c.accounts).map(([name, account]) => [
          name,
          { ...account, endpoint: url, endpoints: undefined },
        ]),
      );
      return { ...c, accounts };
    },
  };
}
