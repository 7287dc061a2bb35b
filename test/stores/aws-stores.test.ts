import {
  AppConfigDataClient,
  BadRequestException,
  GetLatestConfigurationCommand,
  StartConfigurationSessionCommand,
} from '@aws-sdk/client-appconfigdata';
import {
  GetSecretValueCommand,
  ResourceNotFoundException,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { AppConfigSource, ConfigUnavailableError } from '../../functions/stores/appconfig.ts';
import { SecretsManagerSource } from '../../functions/stores/aws-secrets.ts';
import { SecretError } from '../../functions/stores/secrets.ts';
import { configurationBlob } from '../helpers/aws-env.ts';
import { rawConfig } from '../helpers/config.ts';

describe('SecretsManagerSource', () => {
  const sm = mockClient(SecretsManagerClient);
  beforeEach(() => sm.reset());

  it('caches a value for a few minutes and fetches again when asked to refresh', async () => {
    // Prepare
    sm.on(GetSecretValueCommand, { SecretId: 'nightshift/prod' })
      .resolvesOnce({ SecretString: '{"token":"first"}' })
      .resolves({ SecretString: '{"token":"second"}' });
    const source = new SecretsManagerSource({ client: new SecretsManagerClient({ region: 'us-east-1' }) });
    // Act
    const a = await source.get('nightshift/prod');
    const b = await source.get('nightshift/prod');
    const c = await source.get('nightshift/prod', { refresh: true });
    // Assess
    expect([a, b, c]).toEqual(['{"token":"first"}', '{"token":"first"}', '{"token":"second"}']);
    expect(sm).toHaveReceivedCommandTimes(GetSecretValueCommand, 2);
    expect(sm).toHaveReceivedCommandWith(GetSecretValueCommand, { SecretId: 'nightshift/prod' });
  });

  it('names a missing secret without any value', async () => {
    sm.on(GetSecretValueCommand).rejects(
      new ResourceNotFoundException({ message: 'not found', $metadata: {} }),
    );
    const source = new SecretsManagerSource({ client: new SecretsManagerClient({ region: 'us-east-1' }) });
    await expect(source.get('nightshift/prod')).rejects.toThrow(SecretError);
    await expect(source.get('nightshift/prod')).rejects.toThrow(
      /cannot read secret "nightshift\/prod" from Secrets Manager/,
    );
  });
});

describe('AppConfigSource', () => {
  const appconfig = mockClient(AppConfigDataClient);
  beforeEach(() => appconfig.reset());
  const ids = { application: 'nightshift', environment: 'prod', profile: 'schedule' };
  const document = (schedules: unknown[] = []) =>
    configurationBlob(JSON.stringify(rawConfig(schedules as never)));

  it('keeps the session token across calls and respects the poll interval', async () => {
    // Prepare
    let now = 0;
    appconfig.on(StartConfigurationSessionCommand).resolves({ InitialConfigurationToken: 'token-0' });
    appconfig.on(GetLatestConfigurationCommand, { ConfigurationToken: 'token-0' }).resolves({
      Configuration: document(),
      NextPollConfigurationToken: 'token-1',
      NextPollIntervalInSeconds: 60,
    });
    appconfig.on(GetLatestConfigurationCommand, { ConfigurationToken: 'token-1' }).resolves({
      Configuration: configurationBlob(''),
      NextPollConfigurationToken: 'token-2',
      NextPollIntervalInSeconds: 60,
    });
    const source = new AppConfigSource(new AppConfigDataClient({ region: 'us-east-1' }), ids, {
      now: () => now,
    });
    // Act
    const first = await source.get();
    now += 30_000;
    const cached = await source.get();
    now += 31_000;
    const unchanged = await source.get();
    // Assess
    expect(cached).toBe(first);
    expect(unchanged).toBe(first);
    expect(appconfig).toHaveReceivedCommandTimes(StartConfigurationSessionCommand, 1);
    expect(appconfig).toHaveReceivedCommandWith(StartConfigurationSessionCommand, {
      ApplicationIdentifier: 'nightshift',
      EnvironmentIdentifier: 'prod',
      ConfigurationProfileIdentifier: 'schedule',
    });
    expect(appconfig).toHaveReceivedCommandTimes(GetLatestConfigurationCommand, 2);
  });

  it('keeps the last good config when a fetch fails, and starts a new session afterwards', async () => {
    let now = 0;
    appconfig.on(StartConfigurationSessionCommand).resolves({ InitialConfigurationToken: 'token-0' });
    appconfig
      .on(GetLatestConfigurationCommand)
      .resolvesOnce({
        Configuration: document(),
        NextPollConfigurationToken: 'token-1',
        NextPollIntervalInSeconds: 15,
      })
      .rejectsOnce(new BadRequestException({ message: 'token expired', $metadata: {} }))
      .resolves({
        Configuration: document([
          { id: 'new', targets: ['face-search'], actions: [{ do: 'start', cron: '0 8 * * *' }] },
        ]),
        NextPollConfigurationToken: 'token-9',
        NextPollIntervalInSeconds: 15,
      });
    const source = new AppConfigSource(new AppConfigDataClient({ region: 'us-east-1' }), ids, {
      now: () => now,
    });
    const good = await source.get();
    now += 16_000;
    expect(await source.get()).toBe(good);
    now += 16_000;
    const fresh = await source.get();
    expect(fresh.schedules.map((s) => s.id)).toEqual(['new']);
    expect(appconfig).toHaveReceivedCommandTimes(StartConfigurationSessionCommand, 2);
  });

  it('keeps the last good config when AppConfig serves an invalid document', async () => {
    let now = 0;
    appconfig.on(StartConfigurationSessionCommand).resolves({ InitialConfigurationToken: 't' });
    appconfig
      .on(GetLatestConfigurationCommand)
      .resolvesOnce({
        Configuration: document(),
        NextPollConfigurationToken: 't',
        NextPollIntervalInSeconds: 15,
      })
      .resolves({
        Configuration: configurationBlob('{"version": 2}'),
        NextPollConfigurationToken: 't',
        NextPollIntervalInSeconds: 15,
      });
    const source = new AppConfigSource(new AppConfigDataClient({ region: 'us-east-1' }), ids, {
      now: () => now,
    });
    const good = await source.get();
    now += 20_000;
    expect(await source.get()).toBe(good);
  });

  it('throws when there is no config at all yet', async () => {
    appconfig.on(StartConfigurationSessionCommand).rejects(new Error('AccessDenied'));
    const source = new AppConfigSource(new AppConfigDataClient({ region: 'us-east-1' }), ids);
    await expect(source.get()).rejects.toThrow(ConfigUnavailableError);
  });
});
