import {
  AppConfigDataClient,
  GetLatestConfigurationCommand,
  StartConfigurationSessionCommand,
} from '@aws-sdk/client-appconfigdata';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { parseConfig } from '../../functions/engine/config/validate.ts';
import { resetApiHandler } from '../../functions/handlers/api.ts';
import { resetAwsContext } from '../../functions/handlers/aws-context.ts';
import { HuaweiSimulator } from '../../functions/local/simulator.ts';
import { type RawSchedule, rawConfig } from './config.ts';
import { type LocalDynamo, startDynalite } from './dynalite.ts';
import { PROJECT, TOKEN } from './simulator.ts';

export const WEBHOOK = 'aws-webhook-key-0123456789abcdef';

export interface AwsRig {
  sim: HuaweiSimulator;
  dynamo: LocalDynamo;
  appconfig: ReturnType<typeof mockAppConfig>;
  secrets: ReturnType<typeof mockSecrets>;
  stop(): Promise<void>;
}

let tables = 0;
const mockAppConfig = () => mockClient(AppConfigDataClient);
const mockSecrets = () => mockClient(SecretsManagerClient);

/** A body as AppConfigData returns it. */
export function configurationBlob(text: string) {
  return Object.assign(new TextEncoder().encode(text), { transformToString: () => text });
}

/**
 * The Lambdas' world in the tests: DynamoDB is dynalite reached through the SDK's standard
 * AWS_ENDPOINT_URL_DYNAMODB; AppConfigData and Secrets Manager are aws-sdk-client-mock; Huawei
 * Cloud is the simulator over loopback.
 */
export async function startAwsRig(
  schedules: RawSchedule[],
  targets?: Record<string, unknown>,
  extra: Record<string, unknown> = {},
): Promise<AwsRig> {
  const sim = new HuaweiSimulator();
  const url = await sim.start();
  const dynamo = await startDynalite();
  const table = `nightshift-ledger-${++tables}`;
  await dynamo.createTable(table);
  const document = rawConfig(schedules, {
    ...extra,
    accounts: {
      prod: { region: 'cn-north-4', projectId: PROJECT, secret: 'nightshift/prod', endpoint: url },
    },
    ...(targets ? { targets, groups: {} } : {}),
  });
  sim.seed(parseConfig(document));
  sim.addToken(TOKEN, PROJECT);

  Object.assign(process.env, {
    AWS_REGION: 'eu-central-1',
    AWS_ACCESS_KEY_ID: 'test',
    AWS_SECRET_ACCESS_KEY: 'test',
    AWS_ENDPOINT_URL_DYNAMODB: dynamo.endpoint,
    NIGHTSHIFT_TABLE_NAME: table,
    NIGHTSHIFT_APPCONFIG_APPLICATION: 'nightshift',
    NIGHTSHIFT_APPCONFIG_ENVIRONMENT: 'prod',
    NIGHTSHIFT_APPCONFIG_PROFILE: 'schedule',
    NIGHTSHIFT_MAX_LATENESS_MINUTES: '15',
    POWERTOOLS_METRICS_NAMESPACE: 'NightshiftTest',
  });
  resetAwsContext();
  resetApiHandler();

  const appconfig = mockAppConfig();
  appconfig.on(StartConfigurationSessionCommand).resolves({ InitialConfigurationToken: 'session-token' });
  appconfig.on(GetLatestConfigurationCommand).resolves({
    Configuration: configurationBlob(JSON.stringify(document)),
    NextPollConfigurationToken: 'session-token',
    NextPollIntervalInSeconds: 60,
  });
  const secrets = mockSecrets();
  secrets
    .on(GetSecretValueCommand, { SecretId: 'nightshift/prod' })
    .resolves({ SecretString: JSON.stringify({ token: TOKEN }) });
  secrets
    .on(GetSecretValueCommand, { SecretId: 'nightshift/webhook' })
    .resolves({ SecretString: JSON.stringify({ key: WEBHOOK }) });

  return {
    sim,
    dynamo,
    appconfig,
    secrets,
    async stop() {
      appconfig.restore();
      secrets.restore();
      resetAwsContext();
      resetApiHandler();
      await sim.stop();
      await dynamo.stop();
    },
  };
}
