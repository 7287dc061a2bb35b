import { randomBytes, randomUUID } from 'node:crypto';
import { readFileSync, unwatchFile, watchFile } from 'node:fs';
import { link, mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Config } from '../engine/config/schema.ts';
import { parseCredentials } from '../huawei/credentials.ts';
import { FileSecretSource, SecretError, type SecretSource } from '../stores/secrets.ts';
import { HuaweiSimulator } from './simulator.ts';

export interface Demo {
  simulator: HuaweiSimulator;
  /** The secrets the runtime reads: the secrets file, every read also told to the simulator. */
  secrets: SecretSource;
  /** The secrets file: the one given with --secrets, or the generated `DIR/demo-secrets.json`. */
  secretsFile: string;
  /** Whether `secretsFile` is the generated one (its account entries are kept as edited). */
  generated: boolean;
  /** `DIR/simulator-config.json`: the config as the runtime uses it, for `run --config`. */
  configFile: string;
  /** Points every account of a config at the simulator. */
  transform(config: Config): Config;
  stop(): Promise<void>;
}

export const DEMO_SECRETS_FILE = 'demo-secrets.json';
export const SIMULATOR_CONFIG_FILE = 'simulator-config.json';

/**
 * `serve --simulate`: starts the simulator, points every account at it, and makes sure each
 * account has a secret the simulator accepts, whatever its form. Without `--secrets` the secrets
 * are `DIR/demo-secrets.json`: generated once (a token per account, a webhook key), and kept as
 * the user edits them, so an account can be switched to an access key (`aksk`) or IAM
 * credentials (`iam`) to try them; a missing or unusable account entry gets a demo token. With
 * `--secrets FILE` that file is used as it is and never written. Either way the simulator is told
 * every credential in the file, at start and whenever the file changes, so the runtime and any
 * `nightshift run --secrets` on the same file are accepted.
 */
export async function startDemo(
  config: Config,
  stateDir: string,
  options: { secretsFile?: string } = {},
): Promise<Demo> {
  await mkdir(stateDir, { recursive: true });
  const generated = options.secretsFile === undefined;
  const secretsFile = options.secretsFile ?? join(stateDir, DEMO_SECRETS_FILE);
  if (generated) await keepWebhookKey(secretsFile, config.webhook.secret);
  const simulator = new HuaweiSimulator({ latencyMs: 20 });
  const url = await simulator.start();
  const configFile = join(stateDir, SIMULATOR_CONFIG_FILE);
  let current = config;
  const seeded = new Set<string>();
  const file = new FileSecretSource(secretsFile);

  /** Tells the simulator the credentials a secret value holds, for every account naming it. */
  const teach = (name: string, value: string) => {
    const accounts = Object.values(current.accounts).filter((a) => a.secret === name);
    if (accounts.length === 0) return;
    let credentials: ReturnType<typeof parseCredentials>;
    try {
      credentials = parseCredentials(name, value);
    } catch {
      return; // the runtime reports a malformed secret itself, by name
    }
    for (const account of accounts) {
      if (credentials.kind === 'token') simulator.addToken(credentials.token, account.projectId);
      else if (credentials.kind === 'aksk')
        simulator.addAccessKey({
          ak: credentials.ak,
          sk: credentials.sk,
          projectId: account.projectId,
          ...(credentials.securityToken === undefined ? {} : { securityToken: credentials.securityToken }),
        });
      else
        simulator.addUser({
          domain: credentials.domain,
          user: credentials.user,
          password: credentials.password,
        });
    }
  };
  const teachValues = (values: Record<string, unknown>) => {
    for (const [name, value] of Object.entries(values))
      teach(name, typeof value === 'string' ? value : JSON.stringify(value));
  };
  const teachAll = async () => teachValues(await readSecrets(secretsFile));
  // A credential the simulator does not know yet may have been put in the file a moment ago.
  simulator.onUnknownCredentials = () => teachValues(readSecretsNow(secretsFile));
  const prepare = async (c: Config) => {
    current = c;
    for (const [name, target] of Object.entries(c.targets)) {
      if (seeded.has(name)) continue;
      seeded.add(name);
      simulator.seed({ ...c, targets: { [name]: target } });
    }
    if (generated) await addMissingAccountSecrets(secretsFile, c);
    await teachAll();
  };
  await prepare(config);
  const secrets: SecretSource = {
    async get(name, getOptions) {
      let value: string;
      try {
        value = await file.get(name, getOptions);
      } catch (error) {
        // An entry added since the file was read (an account the config gained, an edit): read again.
        if (getOptions?.refresh || !(error instanceof SecretError)) throw error;
        value = await file.get(name, { refresh: true });
      }
      teach(name, value);
      return value;
    },
  };
  // An edit of the file (an account switched to an access key, say) is known to the simulator
  // within a second, before a `nightshift run` with the same file needs it.
  watchFile(secretsFile, { interval: 1000 }, () => void teachAll().catch(() => undefined));
  const transform = (c: Config): Config => {
    void prepare(c).catch(() => undefined);
    const accounts = Object.fromEntries(
      Object.entries(c.accounts).map(([name, account]) => [
        name,
        { ...account, endpoint: url, endpoints: undefined },
      ]),
    );
    const pointed = { ...c, accounts };
    void writeAtomically(configFile, `${JSON.stringify(pointed, null, 2)}\n`).catch(() => undefined);
    return pointed;
  };
  return {
    simulator,
    secrets,
    secretsFile,
    generated,
    configFile,
    transform,
    async stop() {
      unwatchFile(secretsFile);
      await simulator.stop();
    },
  };
}

async function readSecrets(file: string): Promise<Record<string, unknown>> {
  try {
    return objectOf(JSON.parse(await readFile(file, 'utf8')));
  } catch {
    return {};
  }
}

/** The same, at once: the simulator's credential checks are synchronous. */
function readSecretsNow(file: string): Record<string, unknown> {
  try {
    return objectOf(JSON.parse(readFileSync(file, 'utf8')));
  } catch {
    return {};
  }
}

const objectOf = (value: unknown): Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : {};

/**
 * Gives each account of the config a demo token in the generated file, unless its entry already
 * holds credentials of some form (a token, an access key, IAM credentials): those are the user's
 * edits and stay as they are.
 */
async function addMissingAccountSecrets(file: string, config: Config): Promise<void> {
  const values = await readSecrets(file);
  let changed = false;
  for (const [name, account] of Object.entries(config.accounts)) {
    const value = values[account.secret];
    if (value !== undefined && usable(account.secret, value)) continue;
    values[account.secret] = { token: `demo-token-${name}` };
    changed = true;
  }
  if (changed) await writeAtomically(file, `${JSON.stringify(values, null, 2)}\n`);
}

function usable(name: string, value: unknown): boolean {
  try {
    parseCredentials(name, typeof value === 'string' ? value : JSON.stringify(value));
    return true;
  } catch {
    return false;
  }
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
    const values = await readSecrets(file);
    const key = randomBytes(24).toString('hex');
    if (Object.keys(values).length > 0) {
      // A file without a usable key (edited by hand): add one, keeping the rest.
      await writeAtomically(file, `${JSON.stringify({ ...values, [secretName]: { key } }, null, 2)}\n`);
      continue;
    }
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
  const key = (await readSecrets(file))[secretName] as { key?: unknown } | undefined;
  return typeof key?.key === 'string' && key.key.length >= 16 ? key.key : undefined;
}

async function writeAtomically(file: string, text: string): Promise<void> {
  const tmp = `${file}.${process.pid}.${randomUUID()}.tmp`;
  await writeFile(tmp, text, { mode: 0o600 });
  await rename(tmp, file);
}
