import { randomBytes, randomUUID } from 'node:crypto';
import { link, mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
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
  await mkdir(stateDir, { recursive: true });
  const secretsFile = join(stateDir, 'demo-secrets.json');
  const webhookKey = await keepWebhookKey(secretsFile, config.webhook.secret);
  const simulator = new HuaweiSimulator({ latencyMs: 20 });
  const url = await simulator.start();
  const values: Record<string, unknown> = {
    [config.webhook.secret]: { key: webhookKey },
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
  // Same key, and the account tokens are fixed: rewriting the file changes nothing a reader has.
  await writeAtomically(secretsFile, `${JSON.stringify(values, null, 2)}\n`);
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

/**
 * The demo webhook key of this state folder: the one already in `demo-secrets.json`, or a new one
 * published with an exclusive link, so two `serve --simulate` starting together agree on one key
 * and a second one never breaks the first one's clients.
 */
async function keepWebhookKey(file: string, secretName: string): Promise<string> {
  for (let attempt = 0; attempt < 3; attempt++) {
    const existing = await readKey(file, secretName);
    if (existing) return existing;
    const key = randomBytes(24).toString('hex');
    const tmp = `${file}.${process.pid}.${randomUUID()}.tmp`;
    await writeFile(tmp, `${JSON.stringify({ [secretName]: { key } }, null, 2)}\n`, { mode: 0o600 });
    try {
      // link() fails if the file exists: only one process publishes its key.
      await link(tmp, file);
      return key;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    } finally {
      await rm(tmp, { force: true });
    }
  }
  throw new Error(`cannot read the demo webhook key from ${file}; delete the file to get a new one`);
}

async function readKey(file: string, secretName: string): Promise<string | undefined> {
  try {
    const key = (JSON.parse(await readFile(file, 'utf8')) as Record<string, { key?: unknown }>)[secretName]
      ?.key;
    return typeof key === 'string' && key.length >= 16 ? key : undefined;
  } catch {
    return undefined;
  }
}

async function writeAtomically(file: string, text: string): Promise<void> {
  const tmp = `${file}.${process.pid}.${randomUUID()}.tmp`;
  await writeFile(tmp, text, { mode: 0o600 });
  await rename(tmp, file);
}
