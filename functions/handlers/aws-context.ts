import { Metrics } from '@aws-lambda-powertools/metrics';
import { AppConfigDataClient } from '@aws-sdk/client-appconfigdata';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { HuaweiUpstream } from '../huawei/upstream.ts';
import { createLog } from '../observability/powertools-log.ts';
import { AppConfigSource } from '../stores/appconfig.ts';
import { SecretsManagerSource } from '../stores/aws-secrets.ts';
import { DynamoLedger } from '../stores/dynamodb-ledger.ts';
import { type AwsSettings, awsSettingsFromEnv } from './settings.ts';

/** Everything the tick and api Lambdas share, created once per container on first use. */
export interface AwsContext {
  settings: AwsSettings;
  log: ReturnType<typeof createLog>;
  metrics: Metrics;
  config: AppConfigSource;
  secrets: SecretsManagerSource;
  upstream: HuaweiUpstream;
  ledger: DynamoLedger;
}

let context: AwsContext | undefined;

export function awsContext(): AwsContext {
  if (!context) {
    const settings = awsSettingsFromEnv(process.env);
    const log = createLog();
    const secrets = new SecretsManagerSource({ maxAgeSeconds: settings.secretsMaxAgeSeconds });
    const metrics = new Metrics({
      namespace: process.env.POWERTOOLS_METRICS_NAMESPACE ?? 'Nightshift',
      serviceName: 'nightshift',
    });
    context = {
      settings,
      log,
      metrics,
      // Clients read AWS_ENDPOINT_URL_<SERVICE> themselves, so local servers work unchanged.
      config: new AppConfigSource(new AppConfigDataClient({}), settings.appConfig, { log }),
      secrets,
      upstream: new HuaweiUpstream({ secrets, http: settings.http }),
      ledger: new DynamoLedger(new DynamoDBClient({}), {
        tableName: settings.tableName,
        historyTtlDays: settings.historyTtlDays,
        // A damaged item was moved aside; its target is reconciled from status. Loud, counted.
        onDamage: (damage) => {
          log.error('ledger item damaged: moved aside', { ...damage });
          metrics.addMetric('LedgerDamaged', 'Count', 1);
        },
      }),
    };
  }
  return context;
}

/** Forgets the container's context: for tests that change the environment. */
export function resetAwsContext(): void {
  context = undefined;
}
