import { readFile } from 'node:fs/promises';

/** A secret that is missing or malformed. Names the secret, never its value. */
export class SecretError extends Error {
  override readonly name: string = 'SecretError';
}

/**
 * An account secret that still holds the placeholder the stack created: nobody has put the
 * credentials in yet. Told apart from a malformed secret, since nothing is wrong but a step not
 * taken (ErrorCode.secretNotSet, "secret not set" in status and logs).
 */
export class SecretNotSetError extends SecretError {
  override readonly name = 'SecretNotSetError';
}

/**
 * The value the stack gives each account secret it creates, until someone puts the credentials
 * in. Its `placeholder` field is what marks a secret as not set. Never change this text: the
 * stack's template carries it, and CloudFormation writes a changed value over the credentials
 * people have put in since.
 */
export const PLACEHOLDER_SECRET = JSON.stringify({
  placeholder:
    'Nightshift: secret not set. Replace this whole value with the account credentials, e.g. {"aksk": {"ak": "<Access Key Id>", "sk": "<Secret Access Key>"}} (README: Deploy, Fill in the secrets).',
});

/**
 * Where secret values come from: Secrets Manager on AWS, a JSON file locally. `refresh` asks
 * for the current value, bypassing any cache (after upstream answered 401).
 */
export interface SecretSource {
  get(name: string, options?: { refresh?: boolean }): Promise<string>;
}

/** Secrets held in memory: tests and the `--simulate` demo. */
export class MemorySecretSource implements SecretSource {
  private readonly values: Map<string, string>;

  constructor(values: Record<string, unknown> = {}) {
    this.values = new Map(
      Object.entries(values).map(([k, v]) => [k, typeof v === 'string' ? v : JSON.stringify(v)]),
    );
  }

  set(name: string, value: unknown): void {
    this.values.set(name, typeof value === 'string' ? value : JSON.stringify(value));
  }

  delete(name: string): void {
    this.values.delete(name);
  }

  async get(name: string): Promise<string> {
    const value = this.values.get(name);
    if (value === undefined) throw new SecretError(`secret "${name}" is not set`);
    return value;
  }
}

/**
 * The local stand-in for Secrets Manager: a JSON object mapping secret names to values (objects
 * or strings). Read on first use and again on every refresh, so a rotated token is picked up.
 */
export class FileSecretSource implements SecretSource {
  private cache: Promise<Record<string, unknown>> | undefined;

  constructor(readonly path: string) {}

  async get(name: string, options: { refresh?: boolean } = {}): Promise<string> {
    if (!this.cache || options.refresh) this.cache = this.load();
    const all = await this.cache;
    if (!Object.hasOwn(all, name)) {
      throw new SecretError(`secret "${name}" is not in the secrets file ${this.path}`);
    }
    const value = all[name];
    return typeof value === 'string' ? value : JSON.stringify(value);
  }

  private async load(): Promise<Record<string, unknown>> {
    let text: string;
    try {
      text = await readFile(this.path, 'utf8');
    } catch (error) {
      this.cache = undefined;
      throw new SecretError(
        `cannot read the secrets file ${this.path}: ${(error as NodeJS.ErrnoException).code ?? error}`,
        {
          cause: error,
        },
      );
    }
    try {
      const parsed: unknown = JSON.parse(text);
      if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
        throw new Error('not a JSON object');
      return parsed as Record<string, unknown>;
    } catch {
      // The parser's message may quote the file's content, which is secret: say only where.
      this.cache = undefined;
      throw new SecretError(`the secrets file ${this.path} is not a JSON object of secret names to values`);
    }
  }
}
