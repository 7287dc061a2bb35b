import {
  type AppConfigDataClient,
  GetLatestConfigurationCommand,
  StartConfigurationSessionCommand,
} from '@aws-sdk/client-appconfigdata';
import { checkCalendarsCarryData } from '../engine/calendar/holidays.ts';
import { parseConfigText } from '../engine/config/parse-text.ts';
import type { Config } from '../engine/config/schema.ts';
import { type Log, silentLog } from '../observability/log.ts';

export interface AppConfigIds {
  application: string;
  environment: string;
  profile: string;
}

export class ConfigUnavailableError extends Error {
  override readonly name = 'ConfigUnavailableError';
}

/**
 * The schedule config from AWS AppConfig through the AppConfigData API. One instance lives for
 * the container: the session's poll token is kept across invocations, AppConfig is not asked
 * again before the poll interval it gave has passed, and when a fetch fails (or brings an
 * invalid document) the last good config stays in force.
 */
export class AppConfigSource {
  private token: string | undefined;
  private nextPollAt = 0;
  private current: Config | undefined;
  private readonly now: () => number;
  private readonly log: Log;
  private readonly minPollSeconds: number;

  constructor(
    private readonly client: AppConfigDataClient,
    private readonly ids: AppConfigIds,
    options: { now?: () => number; log?: Log; minPollIntervalSeconds?: number } = {},
  ) {
    this.now = options.now ?? Date.now;
    this.log = options.log ?? silentLog;
    this.minPollSeconds = options.minPollIntervalSeconds ?? 15;
  }

  async get(): Promise<Config> {
    if (this.current && this.now() < this.nextPollAt) return this.current;
    try {
      await this.poll();
    } catch (error) {
      // A session token is good for 24 hours; after any failure, start a new session next time.
      this.token = undefined;
      if (!this.current)
        throw new ConfigUnavailableError(`cannot read the config from AppConfig: ${describe(error)}`, {
          cause: error,
        });
      this.log.warn('AppConfig fetch failed; the last good config stays in force', {
        error: describe(error),
      });
      this.nextPollAt = this.now() + this.minPollSeconds * 1000;
    }
    return this.current!;
  }

  private async poll(): Promise<void> {
    if (!this.token) {
      const session = await this.client.send(
        new StartConfigurationSessionCommand({
          ApplicationIdentifier: this.ids.application,
          EnvironmentIdentifier: this.ids.environment,
          ConfigurationProfileIdentifier: this.ids.profile,
          RequiredMinimumPollIntervalInSeconds: this.minPollSeconds,
        }),
      );
      this.token = session.InitialConfigurationToken;
    }
    const latest = await this.client.send(
      new GetLatestConfigurationCommand({ ConfigurationToken: this.token }),
    );
    this.token = latest.NextPollConfigurationToken;
    this.nextPollAt =
      this.now() + Math.max(latest.NextPollIntervalInSeconds ?? 0, this.minPollSeconds) * 1000;
    // An empty body means "unchanged since the last poll".
    const body =
      latest.Configuration && latest.Configuration.length > 0
        ? new TextDecoder().decode(latest.Configuration)
        : '';
    if (body === '') {
      if (!this.current) throw new Error('AppConfig returned no configuration on the first poll');
      return;
    }
    try {
      this.current = parseConfigText(body, 'AppConfig', { extraChecks: checkCalendarsCarryData });
      this.log.info('config loaded from AppConfig', { schedules: this.current.schedules.length });
    } catch (error) {
      if (!this.current) throw error;
      this.log.error('AppConfig served an invalid config; the last good config stays in force', {
        error: describe(error),
      });
    }
  }
}

function describe(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}
