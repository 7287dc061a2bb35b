import type { HttpSettings } from '../huawei/http.ts';
import { httpSettingsFromEnv } from '../huawei/settings.ts';

/** The Lambdas' settings, all from environment variables (documented in docs/deploy.md). */
export interface AwsSettings {
  tableName: string;
  appConfig: { application: string; environment: string; profile: string };
  maxLatenessMinutes: number;
  historyTtlDays: number;
  secretsMaxAgeSeconds: number;
  http: Partial<HttpSettings>;
  /** The webhook secret the stack generated; unset: the config's `webhook.secret`. */
  webhookSecret?: string;
}

export class SettingsError extends Error {
  override readonly name = 'SettingsError';
}

export function awsSettingsFromEnv(env: Record<string, string | undefined>): AwsSettings {
  const missing: string[] = [];
  const required = (name: string): string => {
    const value = env[name];
    if (!value) missing.push(name);
    return value ?? '';
  };
  const number = (name: string, fallback: number, min: number, max: number): number => {
    const text = env[name];
    if (text === undefined || text === '') return fallback;
    const value = Number(text);
    if (!Number.isInteger(value) || value < min || value > max) {
      throw new SettingsError(`${name} must be an integer from ${min} to ${max}, got "${text}"`);
    }
    return value;
  };
  const settings: AwsSettings = {
    tableName: required('NIGHTSHIFT_TABLE_NAME'),
    appConfig: {
      application: required('NIGHTSHIFT_APPCONFIG_APPLICATION'),
      environment: required('NIGHTSHIFT_APPCONFIG_ENVIRONMENT'),
      profile: required('NIGHTSHIFT_APPCONFIG_PROFILE'),
    },
    maxLatenessMinutes: number('NIGHTSHIFT_MAX_LATENESS_MINUTES', 15, 1, 1440),
    historyTtlDays: number('NIGHTSHIFT_HISTORY_TTL_DAYS', 90, 1, 3650),
    secretsMaxAgeSeconds: number('NIGHTSHIFT_SECRETS_MAX_AGE_SECONDS', 300, 0, 3600),
    http: httpSettingsFromEnv(env),
    ...(env.NIGHTSHIFT_WEBHOOK_SECRET ? { webhookSecret: env.NIGHTSHIFT_WEBHOOK_SECRET } : {}),
  };
  if (missing.length > 0) throw new SettingsError(`missing environment variables: ${missing.join(', ')}`);
  return settings;
}
