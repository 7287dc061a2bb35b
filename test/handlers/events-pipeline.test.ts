import { Writable } from 'node:stream';
import { EventBridgeClient, PutEventsCommand, type PutEventsRequestEntry } from '@aws-sdk/client-eventbridge';
import { GetSecretValueCommand } from '@aws-sdk/client-secrets-manager';
import { ChangeMessageVisibilityCommand, SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import type { Config } from '../../functions/engine/config/schema.ts';
import { parseConfig } from '../../functions/engine/config/validate.ts';
import { eventOfEntry, overrideEvent } from '../../functions/events/make.ts';
import {
  type DeliverContext,
  handler as deliver,
  deliverBatch,
  resetDeliverHandler,
} from '../../functions/handlers/deliver.ts';
import { handler as publish, resetEventsHandler } from '../../functions/handlers/events.ts';
import { handler as tick } from '../../functions/handlers/tick.ts';
import { DynamoDeliveryStore } from '../../functions/notify/dynamo-store.ts';
import { HttpSinkPoster } from '../../functions/notify/post.ts';
import { silentLog } from '../../functions/observability/log.ts';
import { createLog } from '../../functions/observability/powertools-log.ts';
import { DynamoLedger } from '../../functions/stores/dynamodb-ledger.ts';
import { MemorySecretSource } from '../../functions/stores/secrets.ts';
import { type AwsRig, startAwsRig } from '../helpers/aws-env.ts';
import {
  itemsOf,
  sqsEvent,
  sqsRecord,
  sqsRecordOf,
  streamEvent,
  streamRecord,
} from '../helpers/aws-events.ts';
import { rawConfig } from '../helpers/config.ts';
import { type LocalDynamo, startDynalite } from '../helpers/dynalite.ts';
import { historyEntry } from '../helpers/entries.ts';
import { schedulerEvent } from '../helpers/events.ts';
import { PROJECT } from '../helpers/simulator.ts';
import { notificationsFor, SINK_KINDS, startReceivers } from '../helpers/sink-receivers.ts';

const MINUTE = 60_000;
const BUS = 'Nightshift-nightshift';
const QUEUE = 'https://sqs.eu-central-1.amazonaws.com/123456789012/Nightshift-Deliveries';
const DLQ = 'https://sqs.eu-central-1.amazonaws.com/123456789012/Nightshift-EventDeadLetters';

// One mock per client class for the whole file (a second mockClient of a class would fight the first).
const bus = mockClient(EventBridgeClient);
const sqs = mockClient(SQSClient);

let receivers: Awaited<ReturnType<typeof startReceivers>>;
beforeAll(async () => {
  receivers = await startReceivers({ sentinel: 'SENTINEL' });
});
afterAll(async () => {
  await receivers.stop();
});

/** What PutEvents was asked to put, entry by entry. */
const putEntries = (bus: ReturnType<typeof mockClient>): PutEventsRequestEntry[] =>
  bus.commandCalls(PutEventsCommand).flatMap((call) => call.args[0].input.Entries ?? []);

describe('the AWS path: tick → ledger stream → bus → queue → delivery', () => {
  let rig: AwsRig;
  afterEach(async () => {
    vi.restoreAllMocks();
    bus.reset();
    sqs.reset();
    resetEventsHandler();
    resetDeliverHandler();
    await rig.stop();
  });

  async function rigWithSinks(schedules: Record<string, unknown>[], upcomingMinutes = 15) {
    const { notifications, secrets } = notificationsFor(receivers);
    rig = await startAwsRig(schedules as never, undefined, {
      notifications: { ...notifications, upcomingMinutes },
    });
    for (const [name, value] of Object.entries(secrets))
      rig.secrets
        .on(GetSecretValueCommand, { SecretId: name })
        .resolves({ SecretString: JSON.stringify(value) });
    Object.assign(process.env, {
      NIGHTSHIFT_EVENT_BUS: BUS,
      NIGHTSHIFT_DELIVERY_QUEUE_URL: QUEUE,
      NIGHTSHIFT_EVENTS_DLQ_URL: DLQ,
    });
    bus.on(PutEventsCommand).callsFake((input) => ({
      FailedEntryCount: 0,
      Entries: input.Entries.map(() => ({ EventId: crypto.randomUUID() })),
    }));
    sqs.on(ChangeMessageVisibilityCommand).resolves({});
    sqs.on(SendMessageCommand).resolves({ MessageId: 'm' });
    vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
    vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    return secrets;
  }

  /** face-search (task-1) is running, and a schedule stops it every minute. */
  async function rigWithRunningTaskStoppedEveryMinute() {
    await rigWithSinks([
      {
        id: 'nightly',
        targets: ['face-search'],
        timezone: 'UTC',
        actions: [{ do: 'stop', cron: '* * * * *' }],
      },
    ]);
    rig.sim.addViasTask(PROJECT, 'task-1', 'RUNNING');
  }

  it('a failed scheduled stop becomes a CloudEvent on the bus and one message at every sink, once', async () => {
    // Prepare: the stop due this minute fails upstream.
    await rigWithRunningTaskStoppedEveryMinute();
    rig.sim.script({ method: 'PUT', path: '/action/stop' }, [
      { kind: 'respond', status: 400, body: { error_code: 'VIAS.40021001', error_msg: 'SIM: cannot stop' } },
    ]);
    const before = SINK_KINDS.map((k) => receivers[k].accepted.length);
    const scheduled = new Date(Math.floor(Date.now() / MINUTE) * MINUTE).toISOString();
    // Act 1: the tick records the failure in the ledger.
    await tick(schedulerEvent(scheduled));
    const table = process.env.NIGHTSHIFT_TABLE_NAME!;
    const history = await itemsOf(rig.dynamo, table, 'HIST#');
    expect(history).toHaveLength(1);
    // Act 2: the table's stream carries the item to the events function, which puts it on the bus.
    const published = await publish(streamEvent(history.map((item) => streamRecord('INSERT', item))));
    expect(published).toEqual({ batchItemFailures: [] });
    const [entry] = putEntries(bus);
    const entryId = JSON.parse(history[0]!.entry!.S!).id;
    expect(entry).toMatchObject({
      EventBusName: BUS,
      Source: 'nightshift',
      DetailType: 'nightshift.action.failed',
    });
    expect(JSON.parse(entry!.Detail!)).toMatchObject({
      specversion: '1.0',
      id: entryId,
      type: 'nightshift.action.failed',
      subject: 'face-search',
      data: { schedule: 'nightly', result: { errorCode: 'VIAS.40021001' } },
    });
    // Act 3: the rule puts it on the queue; the delivery function sends it to every routed sink.
    const record = sqsRecordOf(entry!);
    expect(await deliver(sqsEvent([record]))).toEqual({ batchItemFailures: [] });
    SINK_KINDS.forEach((kind, i) => {
      expect(receivers[kind].accepted.length, kind).toBe(before[i]! + 1);
    });
    expect(receivers.slack.accepted.at(-1)!.text).toContain('FAILED stop face-search: VIAS.40021001');
    expect(receivers.webhook.eventIds.at(-1)).toBe(entryId);
    // The same message again (the queue delivers at least once): no second message anywhere.
    expect(await deliver(sqsEvent([sqsRecordOf(entry!, 2)]))).toEqual({ batchItemFailures: [] });
    SINK_KINDS.forEach((kind, i) => {
      expect(receivers[kind].accepted.length, kind).toBe(before[i]! + 1);
    });
  });

  it('the tick writes the coming change 15 minutes ahead to the journal, which the stream carries like outcomes', async () => {
    const now = Date.now();
    const close = new Date(Math.floor(now / MINUTE) * MINUTE + 15 * MINUTE);
    const hhmm = close.toISOString().slice(11, 16);
    await rigWithSinks([
      { id: 'office', targets: ['face-search'], timezone: 'UTC', window: `* 00:00-${hhmm}` },
    ]);
    await tick(schedulerEvent(new Date(Math.floor(now / MINUTE) * MINUTE).toISOString()));
    const journal = await itemsOf(rig.dynamo, process.env.NIGHTSHIFT_TABLE_NAME!, 'EVT#');
    expect(journal.map((item) => JSON.parse(item.event!.S!))).toEqual([
      expect.objectContaining({
        type: 'nightshift.action.upcoming',
        subject: 'face-search',
        data: expect.objectContaining({
          at: close.toISOString().replace('.000Z', 'Z'),
          state: 'stopped',
          schedule: 'office',
        }),
      }),
    ]);
    await publish(streamEvent(journal.map((item) => streamRecord('INSERT', item))));
    expect(putEntries(bus).map((e) => e.DetailType)).toEqual(['nightshift.action.upcoming']);
    // A tick delivered again writes nothing new: the id is the same.
    await tick(schedulerEvent(new Date(Math.floor(now / MINUTE) * MINUTE).toISOString()));
    expect(await itemsOf(rig.dynamo, process.env.NIGHTSHIFT_TABLE_NAME!, 'EVT#')).toHaveLength(1);
  });

  it('a status query refused (a missing permission) becomes nightshift.status.unreadable, naming the permission', async () => {
    await rigWithRunningTaskStoppedEveryMinute();
    rig.sim.script(
      { method: 'GET', path: '/tasks/task-1' },
      [{ kind: 'respond', status: 403, body: { error_code: 'APIGW.0302', error_msg: 'SIM: not allowed' } }],
      { repeat: true },
    );
    await tick(schedulerEvent(new Date(Math.floor(Date.now() / MINUTE) * MINUTE).toISOString()));
    const journal = await itemsOf(rig.dynamo, process.env.NIGHTSHIFT_TABLE_NAME!, 'EVT#');
    expect(journal.map((item) => JSON.parse(item.event!.S!))).toContainEqual(
      expect.objectContaining({
        type: 'nightshift.status.unreadable',
        subject: 'face-search',
        data: expect.objectContaining({
          permission: expect.stringContaining('GET /v2/{project_id}/tasks/{task_id}'),
        }),
      }),
    );
  });

  it('when the ledger cannot take the tick’s events, the tick puts them on the bus itself', async () => {
    const now = Date.now();
    const close = new Date(Math.floor(now / MINUTE) * MINUTE + 15 * MINUTE);
    await rigWithSinks([
      {
        id: 'office',
        targets: ['face-search'],
        timezone: 'UTC',
        window: `* 00:00-${close.toISOString().slice(11, 16)}`,
      },
    ]);
    vi.spyOn(DynamoLedger.prototype, 'appendEvents').mockRejectedValue(
      new Error('ProvisionedThroughputExceededException'),
    );
    await tick(schedulerEvent(new Date(Math.floor(now / MINUTE) * MINUTE).toISOString()));
    expect(putEntries(bus)).toEqual([
      expect.objectContaining({ EventBusName: BUS, DetailType: 'nightshift.action.upcoming' }),
    ]);
  });
});

describe('the events function', () => {
  let dynamo: LocalDynamo;
  beforeAll(async () => {
    dynamo = await startDynalite();
    await dynamo.createTable('ledger');
    process.env.NIGHTSHIFT_EVENT_BUS = BUS;
  });
  afterAll(async () => {
    await dynamo.stop();
  });
  afterEach(() => {
    bus.reset();
    resetEventsHandler();
    vi.restoreAllMocks();
  });

  it('override put → created; deleted by someone → removed; deleted by TTL → nothing', async () => {
    bus.on(PutEventsCommand).resolves({ FailedEntryCount: 0, Entries: [{ EventId: '1' }, { EventId: '2' }] });
    vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
    const ledger = new DynamoLedger(dynamo.client, { tableName: 'ledger' });
    const override = {
      id: 'ovr-0a0b0c0d',
      targets: ['orders-sync'],
      state: 'running' as const,
      from: new Date(Date.now() - MINUTE).toISOString(),
      until: new Date(Date.now() + 60 * MINUTE).toISOString(),
      reason: 'release',
      createdAt: new Date(Date.now() - MINUTE).toISOString(),
    };
    await ledger.putOverride(override);
    const [item] = (await itemsOf(dynamo, 'ledger', 'OVERRIDE')).filter((i) => i.pk?.S === 'OVERRIDE');
    await publish(
      streamEvent([
        streamRecord('INSERT', item!),
        streamRecord('REMOVE', item!),
        streamRecord('REMOVE', item!, { byTtl: true }),
      ]),
    );
    const entries = putEntries(bus);
    expect(entries.map((e) => [e.DetailType, JSON.parse(e.Detail!).subject])).toEqual([
      ['nightshift.override.created', 'ovr-0a0b0c0d'],
      ['nightshift.override.removed', 'ovr-0a0b0c0d'],
    ]);
    expect(JSON.parse(entries[0]!.Detail!).id).toBe(
      overrideEvent('nightshift.override.created', override, 'x').id,
    );
  });

  it('entries the bus keeps refusing are reported from their record on, so the stream delivers them again', async () => {
    vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
    const ledger = new DynamoLedger(dynamo.client, { tableName: 'ledger' });
    const entry = (id: string) =>
      historyEntry(id, { ok: true, status: 'succeeded' }, { recordedAt: new Date().toISOString() });
    await ledger.record([entry('h1'), entry('h2')]);
    const items = (await itemsOf(dynamo, 'ledger', 'HIST#')).sort((a, b) =>
      JSON.parse(a.entry!.S!).id.localeCompare(JSON.parse(b.entry!.S!).id),
    );
    const records = items.map((item) => streamRecord('INSERT', item));
    bus.on(PutEventsCommand).callsFake((input) => ({
      FailedEntryCount: 1,
      Entries: input.Entries.map((e: PutEventsRequestEntry) =>
        JSON.parse(e.Detail!).id === 'h2'
          ? { ErrorCode: 'InternalFailure', ErrorMessage: 'try again' }
          : { EventId: 'x' },
      ),
    }));
    const answer = await publish(streamEvent(records));
    expect(answer).toEqual({ batchItemFailures: [{ itemIdentifier: records[1]!.dynamodb!.SequenceNumber }] });
    expect(putEntries(bus).filter((e) => JSON.parse(e.Detail!).id === 'h2').length).toBe(4);
    expect(eventOfEntry(entry('h1')).type).toBe('nightshift.action.succeeded');
  });
});

describe('the delivery function', () => {
  let dynamo: LocalDynamo;
  let tables = 0;
  beforeAll(async () => {
    dynamo = await startDynalite();
  });
  afterAll(async () => {
    await dynamo.stop();
  });
  afterEach(() => sqs.reset());

  async function context(now: {
    ms: number;
  }): Promise<{ ctx: DeliverContext; config: Config; secrets: Record<string, unknown> }> {
    const table = `ledger-${++tables}`;
    await dynamo.createTable(table);
    const { notifications, secrets } = notificationsFor(receivers, {});
    const config = parseConfig(
      rawConfig([], { notifications: { ...notifications, routes: [{ sink: 'webhook' }] } }),
    );
    sqs.on(ChangeMessageVisibilityCommand).resolves({});
    sqs.on(SendMessageCommand).resolves({ MessageId: 'm' });
    return {
      config,
      secrets,
      ctx: {
        config: async () => config,
        store: new DynamoDeliveryStore(dynamo.client, table),
        secrets: new MemorySecretSource(secrets),
        poster: new HttpSinkPoster(2_000),
        sqs: new SQSClient({ region: 'eu-central-1' }),
        queueUrl: QUEUE,
        deadLetterUrl: DLQ,
        log: silentLog,
        now: () => now.ms,
      },
    };
  }

  const failedEvent = (id: string) =>
    eventOfEntry(historyEntry(id, {}, { recordedAt: new Date().toISOString() }));
  const recordOf = (id: string) =>
    sqsRecordOf({
      Source: 'nightshift',
      DetailType: 'nightshift.action.failed',
      Detail: JSON.stringify(failedEvent(id)),
      Time: new Date(),
    });

  it('a sink that fails keeps the message on the queue until its next turn, then takes it; after 24 hours it goes to the DLQ', async () => {
    const now = { ms: Date.now() };
    const { ctx } = await context(now);
    receivers.webhook.failNext = 1;
    const a = recordOf('d-1');
    // First turn: the sink fails; the message comes back in a minute.
    expect(await deliverBatch(sqsEvent([a]), ctx, 'c1')).toEqual({
      batchItemFailures: [{ itemIdentifier: a.messageId }],
    });
    expect(sqs.commandCalls(ChangeMessageVisibilityCommand)[0]!.args[0].input).toEqual({
      QueueUrl: QUEUE,
      ReceiptHandle: a.receiptHandle,
      VisibilityTimeout: 60,
    });
    // A minute later: taken.
    now.ms += MINUTE;
    expect(await deliverBatch(sqsEvent([a]), ctx, 'c2')).toEqual({ batchItemFailures: [] });
    expect(receivers.webhook.eventIds.filter((id) => id === 'd-1')).toHaveLength(1);

    // Another event, whose sink fails for a day: to the dead letters, with the reason.
    receivers.webhook.failNext = 1000;
    const b = recordOf('d-2');
    now.ms += 2 * MINUTE;
    await deliverBatch(sqsEvent([b]), ctx, 'c3');
    now.ms += 24 * 60 * MINUTE + MINUTE;
    expect(await deliverBatch(sqsEvent([b]), ctx, 'c4')).toEqual({ batchItemFailures: [] });
    const dead = sqs.commandCalls(SendMessageCommand).map((c) => c.args[0].input);
    expect(dead).toEqual([
      {
        QueueUrl: DLQ,
        MessageBody: b.body,
        MessageAttributes: {
          reason: {
            DataType: 'String',
            StringValue: 'not delivered within 24 hours, or the sink left the config',
          },
          sink: { DataType: 'String', StringValue: 'webhook' },
        },
      },
    ]);
    receivers.webhook.failNext = 0;
  });

  it('no URL, token or signing secret in its logs, its ledger items or its dead letters (sentinels)', async () => {
    const now = { ms: Date.now() };
    const { ctx, secrets } = await context(now);
    const lines: string[] = [];
    const log = createLog({
      stream: new Writable({
        write(chunk, _encoding, done) {
          lines.push(String(chunk));
          done();
        },
      }),
    });
    const logged = { ...ctx, log };
    receivers.webhook.failNext = 1000;
    const record = recordOf('s-1');
    await deliverBatch(sqsEvent([record]), logged, 'c1');
    now.ms += 24 * 60 * MINUTE + MINUTE;
    await deliverBatch(sqsEvent([record]), logged, 'c2');
    receivers.webhook.failNext = 0;
    const places = [
      ...lines,
      JSON.stringify(await itemsOf(dynamo, ctx.store.table, '')),
      JSON.stringify(sqs.calls().map((c) => c.args[0].input)),
    ].join('\n');
    expect(lines.some((l) => l.includes('notification not delivered'))).toBe(true);
    const sentinels = Object.values(
      secrets as Record<string, { url: string; key?: string; signSecret?: string }>,
    ).flatMap((v) => [
      new URL(v.url).pathname,
      ...new URL(v.url).searchParams.values(),
      v.key ?? '',
      v.signSecret ?? '',
    ]);
    for (const sentinel of sentinels.filter((x) => x.includes('SENTINEL')))
      expect(places).not.toContain(sentinel);
  });

  it('a burst in one batch is one message per sink, and a message that is not an event goes to the DLQ', async () => {
    const now = { ms: Date.now() };
    const { ctx } = await context(now);
    const before = receivers.webhook.accepted.length;
    const records = Array.from({ length: 100 }, (_, i) => recordOf(`burst-${i}`));
    const poison = sqsRecord('{"detail": "not an event"}');
    expect(await deliverBatch(sqsEvent([...records, poison]), ctx, 'c1')).toEqual({ batchItemFailures: [] });
    expect(receivers.webhook.accepted.length).toBe(before + 1);
    expect(receivers.webhook.accepted.at(-1)!.events).toHaveLength(100);
    expect(
      sqs.commandCalls(SendMessageCommand).map((c) => c.args[0].input.MessageAttributes?.reason?.StringValue),
    ).toEqual(['the message holds no Nightshift CloudEvent']);
  });
});
