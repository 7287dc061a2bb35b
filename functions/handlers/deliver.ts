import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { AppConfigDataClient } from '@aws-sdk/client-appconfigdata';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { ChangeMessageVisibilityCommand, SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import type { Config } from '../engine/config/schema.ts';
import { type CloudEvent, isCloudEvent } from '../events/cloudevent.ts';
import { type DeliverDeps, deliverTurn, type TurnResult } from '../notify/dispatch.ts';
import { DynamoDeliveryStore } from '../notify/dynamo-store.ts';
import { HttpSinkPoster, type SinkPoster } from '../notify/post.ts';
import { sinksFor } from '../notify/routing.ts';
import type { Log } from '../observability/log.ts';
import { createLog } from '../observability/powertools-log.ts';
import { AppConfigSource } from '../stores/appconfig.ts';
import { SecretsManagerSource } from '../stores/aws-secrets.ts';
import type { SecretSource } from '../stores/secrets.ts';
import { SettingsError } from './settings.ts';

/** What the delivery function needs; the handler builds it from the environment once per container. */
export interface DeliverContext {
  config: () => Promise<Config>;
  store: DynamoDeliveryStore;
  secrets: SecretSource;
  poster: SinkPoster;
  sqs: SQSClient;
  queueUrl: string;
  deadLetterUrl: string;
  log: Log;
  metrics?: Metrics;
  now?: () => number;
}

/** SQS takes a visibility timeout of at most 12 hours. */
const MAX_VISIBILITY_S = 12 * 3600;

let context: DeliverContext | undefined;

function contextFromEnv(): DeliverContext {
  const env = process.env;
  const missing = [
    'NIGHTSHIFT_TABLE_NAME',
    'NIGHTSHIFT_APPCONFIG_APPLICATION',
    'NIGHTSHIFT_APPCONFIG_ENVIRONMENT',
    'NIGHTSHIFT_APPCONFIG_PROFILE',
    'NIGHTSHIFT_DELIVERY_QUEUE_URL',
    'NIGHTSHIFT_EVENTS_DLQ_URL',
  ].filter((name) => !env[name]);
  if (missing.length > 0) throw new SettingsError(`missing environment variables: ${missing.join(', ')}`);
  const log = createLog();
  const appConfig = new AppConfigSource(
    new AppConfigDataClient({}),
    {
      application: env.NIGHTSHIFT_APPCONFIG_APPLICATION!,
      environment: env.NIGHTSHIFT_APPCONFIG_ENVIRONMENT!,
      profile: env.NIGHTSHIFT_APPCONFIG_PROFILE!,
    },
    { log },
  );
  return {
    config: () => appConfig.get(),
    store: new DynamoDeliveryStore(new DynamoDBClient({}), env.NIGHTSHIFT_TABLE_NAME!),
    secrets: new SecretsManagerSource({
      maxAgeSeconds: Number(env.NIGHTSHIFT_SECRETS_MAX_AGE_SECONDS ?? 300),
    }),
    poster: new HttpSinkPoster(),
    sqs: new SQSClient({}),
    queueUrl: env.NIGHTSHIFT_DELIVERY_QUEUE_URL!,
    deadLetterUrl: env.NIGHTSHIFT_EVENTS_DLQ_URL!,
    log,
    metrics: new Metrics({
      namespace: env.POWERTOOLS_METRICS_NAMESPACE ?? 'Nightshift',
      serviceName: 'nightshift',
    }),
  };
}

/** The CloudEvent an EventBridge rule put on the queue (the event's `detail`), or why not. */
function eventOf(record: SQSRecord): CloudEvent | string {
  try {
    const envelope = JSON.parse(record.body) as { detail?: unknown };
    return isCloudEvent(envelope.detail) ? envelope.detail : 'the message holds no Nightshift CloudEvent';
  } catch {
    return 'the message is not JSON';
  }
}

/**
 * The delivery function: the bus's events, routed by the config to their sinks. Each event is
 * added to its sinks' pending sets in the ledger, then each sink takes a turn (one message for
 * everything pending, at most one a minute, later after failures). A message stays on the queue,
 * hidden until its sinks' next turn, until every sink it goes to has it; after 24 hours without
 * delivery (or when its sink left the config, or it cannot be read) it goes to the dead-letter
 * queue, whose alarm tells someone.
 */
export async function deliverBatch(
  event: SQSEvent,
  ctx: DeliverContext,
  owner: string,
): Promise<SQSBatchResponse> {
  const now = (ctx.now ?? Date.now)();
  const config = await ctx.config();
  const work: { record: SQSRecord; event: CloudEvent; sinks: string[] }[] = [];
  const poison: { record: SQSRecord; reason: string }[] = [];
  for (const record of event.Records) {
    const found = eventOf(record);
    if (typeof found === 'string') poison.push({ record, reason: found });
    else work.push({ record, event: found, sinks: sinksFor(config, found) });
  }

  const bySink = new Map<string, CloudEvent[]>();
  for (const w of work)
    for (const sink of w.sinks) {
      const list = bySink.get(sink) ?? [];
      list.push(w.event);
      bySink.set(sink, list);
    }
  const deps: DeliverDeps = {
    store: ctx.store,
    config,
    secrets: ctx.secrets,
    poster: ctx.poster,
    owner,
    log: ctx.log,
    now: ctx.now ?? Date.now,
    onOutcome: (outcome) => {
      if (outcome.kind === 'sent')
        ctx.metrics?.addMetric('NotificationsSent', MetricUnit.Count, outcome.events.length);
      else if (outcome.kind === 'failed') ctx.metrics?.addMetric('NotificationsFailed', MetricUnit.Count, 1);
    },
  };
  const turns = new Map<string, TurnResult>();
  await Promise.all(
    [...bySink].map(async ([sink, events]) => {
      await ctx.store.enqueue(sink, events, now);
      turns.set(sink, await deliverTurn(deps, sink));
    }),
  );
  const states = new Map<string, Map<string, 'sent' | 'dead'>>();
  await Promise.all(
    [...bySink].map(async ([sink, events]) => {
      states.set(
        sink,
        await ctx.store.states(
          sink,
          events.map((e) => e.id),
        ),
      );
    }),
  );

  const failures: SQSBatchResponse['batchItemFailures'] = [];
  await Promise.all([
    ...poison.map(({ record, reason }) => deadLetter(ctx, record, reason, undefined)),
    ...work.map(async ({ record, event: e, sinks }) => {
      const dead = sinks.find((sink) => states.get(sink)?.get(e.id) === 'dead');
      if (dead)
        return deadLetter(ctx, record, 'not delivered within 24 hours, or the sink left the config', dead);
      const waiting = sinks.filter((sink) => states.get(sink)?.get(e.id) !== 'sent');
      if (waiting.length === 0) return;
      // Back on the queue when its sinks' next turn comes.
      const next = Math.min(...waiting.map((sink) => nextTurn(turns.get(sink), now)));
      const seconds = Math.min(MAX_VISIBILITY_S, Math.max(1, Math.ceil((next - now) / 1000)));
      await ctx.sqs
        .send(
          new ChangeMessageVisibilityCommand({
            QueueUrl: ctx.queueUrl,
            ReceiptHandle: record.receiptHandle,
            VisibilityTimeout: seconds,
          }),
        )
        .catch((error: unknown) =>
          ctx.log.warn('delivery: could not defer a message; it comes back with the queue’s timeout', {
            error: String(error),
          }),
        );
      failures.push({ itemIdentifier: record.messageId });
    }),
  ]);
  return { batchItemFailures: failures };
}

function nextTurn(turn: TurnResult | undefined, now: number): number {
  switch (turn?.kind) {
    case 'wait':
      return turn.until;
    case 'sent':
      return turn.next;
    case 'failed':
      return turn.retryAt;
    default:
      return now + 5_000;
  }
}

async function deadLetter(
  ctx: DeliverContext,
  record: SQSRecord,
  reason: string,
  sink: string | undefined,
): Promise<void> {
  await ctx.sqs.send(
    new SendMessageCommand({
      QueueUrl: ctx.deadLetterUrl,
      MessageBody: record.body,
      MessageAttributes: {
        reason: { DataType: 'String', StringValue: reason },
        ...(sink ? { sink: { DataType: 'String', StringValue: sink } } : {}),
      },
    }),
  );
  ctx.metrics?.addMetric('NotificationsDeadLettered', MetricUnit.Count, 1);
  ctx.log.error('delivery: message sent to the dead-letter queue', {
    reason,
    sink,
    messageId: record.messageId,
  });
}

export const handler = async (
  event: SQSEvent,
  lambdaContext?: Pick<Context, 'awsRequestId'>,
): Promise<SQSBatchResponse> => {
  context ??= contextFromEnv();
  try {
    return await deliverBatch(event, context, `lambda:${lambdaContext?.awsRequestId ?? 'local'}`);
  } finally {
    context.metrics?.publishStoredMetrics();
  }
};

/** Forgets the container's context: for tests that change the environment. */
export function resetDeliverHandler(): void {
  context = undefined;
}
