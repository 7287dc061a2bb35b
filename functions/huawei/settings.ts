import type { HttpSettings } from './http.ts';

/** Environment variables that tune upstream calls, shared by the CLI, `serve` and the Lambdas. */
export const UPSTREAM_ENV = {
  timeoutMs: 'NIGHTSHIFT_UPSTREAM_TIMEOUT_MS',
  maxRetries: 'NIGHTSHIFT_UPSTREAM_MAX_RETRIES',
  maxInFlightPerAccount: 'NIGHTSHIFT_UPSTREAM_MAX_IN_FLIGHT',
} as const;

/** Reads upstream settings from the environment; a bad value is an error naming the variable. */
export function httpSettingsFromEnv(env: Record<string, string | undefined>): Partial<HttpSettings> {
  const settings: Partial<HttpSettings> = {};
  const read = (key: keyof typeof UPSTREAM_ENV, min: number, max: number) => {
    const name = UPSTREAM_ENV[key];
    const text = env[name];
    if (text === undefined || text === '') return;
    const value = Number(text);
    if (!Number.isInteger(value) || value < min || value > max) {
      throw new RangeError(`${name} must be an integer from ${min} to ${max}, got "${text}"`);
    }
    settings[key] = value;
  };
  read('timeoutMs', 100, 120_000);
  read('maxRetries', 0, 10);
  read('maxInFlightPerAccount', 1, 256);
  return settings;
}
