import { SecretsProvider } from '@aws-lambda-powertools/parameters/secrets';
import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SecretError, type SecretSource } from './secrets.ts';

export const DEFAULT_SECRET_MAX_AGE_SECONDS = 300;

/**
 * Secrets Manager through Powertools Parameters: values are cached for a few minutes per
 * container, and `refresh` (after upstream answered 401) fetches the current value.
 */
export class SecretsManagerSource implements SecretSource {
  private readonly provider: SecretsProvider;
  private readonly maxAgeSeconds: number;

  constructor(options: { client?: SecretsManagerClient; maxAgeSeconds?: number } = {}) {
    this.provider = new SecretsProvider(options.client ? { awsSdkV3Client: options.client } : {});
    this.maxAgeSeconds = options.maxAgeSeconds ?? DEFAULT_SECRET_MAX_AGE_SECONDS;
  }

  async get(name: string, options: { refresh?: boolean } = {}): Promise<string> {
    let value: unknown;
    try {
      value = await this.provider.get(name, {
        maxAge: this.maxAgeSeconds,
        forceFetch: options.refresh ?? false,
      });
    } catch (error) {
      // The SDK's message names the secret and the reason, never its value.
      const reason = (error as { cause?: { name?: string } }).cause?.name ?? (error as Error).name;
      throw new SecretError(`cannot read secret "${name}" from Secrets Manager: ${reason}`, { cause: error });
    }
    if (typeof value !== 'string') throw new SecretError(`secret "${name}" has no string value`);
    return value;
  }
}
