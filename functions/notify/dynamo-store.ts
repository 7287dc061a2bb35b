import {
  type AttributeValue,
  BatchGetItemCommand,
  BatchWriteItemCommand,
  type DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  QueryCommand,
  UpdateItemCommand,
  type WriteRequest,
} from '@aws-sdk/client-dynamodb';
import { type CloudEvent, isCloudEvent } from '../events/cloudevent.ts';
import {
  DELIVERY_WINDOW_MS,
  type DeliveryStore,
  type PendingEvent,
  type SinkGate,
  TURN_LEASE_MS,
  type Turn,
} from './dispatch.ts';

/** Sent (and given-up) markers are kept two days: long enough to refuse any repeat of an event. */
const DONE_TTL_S = 2 * 86_400;

const s = (value: string): AttributeValue => ({ S: value });
const n = (value: number): AttributeValue => ({ N: String(Math.round(value)) });
const isConditionFailure = (error: unknown) => (error as Error).name === 'ConditionalCheckFailedException';

export type DeliveryState = 'sent' | 'dead';

/**
 * The delivery store in the DynamoDB ledger, one partition per sink (`NOTIFY#<sink>`):
 * - `P#<id>`: an event waiting for the sink (the event, when it was enqueued);
 * - `S#<id>`: the event was sent (or given up: `dead`), kept two days so a repeat is refused;
 * - `GATE`: when the next message may go, failures in a row, and the turn under way (owner and
 *   lease), taken with a conditional update so that of several Lambda containers one sends.
 * No transactions (the order of writes does it): enqueue puts `P#` only where there is none, then
 * drops it again if `S#` exists; a turn writes `S#` before it deletes `P#`.
 */
export class DynamoDeliveryStore implements DeliveryStore {
  constructor(
    private readonly client: DynamoDBClient,
    readonly table: string,
  ) {}

  private key(sink: string, sk: string): Record<string, AttributeValue> {
    return { pk: s(`NOTIFY#${sink}`), sk: s(sk) };
  }

  async enqueue(sink: string, events: readonly CloudEvent[], now: number): Promise<string[]> {
    const put: string[] = [];
    await Promise.all(
      events.map(async (event) => {
        try {
          await this.client.send(
            new PutItemCommand({
              TableName: this.table,
              Item: {
                ...this.key(sink, `P#${event.id}`),
                event: s(JSON.stringify(event)),
                enqueuedAt: n(now),
                ttl: n((now + DELIVERY_WINDOW_MS) / 1000 + DONE_TTL_S),
              },
              ConditionExpression: 'attribute_not_exists(pk)',
            }),
          );
          put.push(event.id);
        } catch (error) {
          // Pending already.
          if (!isConditionFailure(error)) throw error;
        }
      }),
    );
    // Sent (or given up) before: not again.
    const done = await this.states(sink, put);
    if (done.size > 0)
      await this.write([...done.keys()].map((id) => ({ DeleteRequest: { Key: this.key(sink, `P#${id}`) } })));
    return put.filter((id) => !done.has(id));
  }

  async pending(sink: string, limit: number): Promise<PendingEvent[]> {
    const out: PendingEvent[] = [];
    let startKey: Record<string, AttributeValue> | undefined;
    do {
      const page = await this.client.send(
        new QueryCommand({
          TableName: this.table,
          KeyConditionExpression: 'pk = :pk AND begins_with(sk, :p)',
          ExpressionAttributeValues: { ':pk': s(`NOTIFY#${sink}`), ':p': s('P#') },
          ConsistentRead: true,
          ExclusiveStartKey: startKey,
        }),
      );
      for (const item of page.Items ?? []) {
        try {
          const event = JSON.parse(item.event!.S!) as unknown;
          if (isCloudEvent(event)) out.push({ event, enqueuedAt: Number(item.enqueuedAt!.N) });
        } catch {
          // A damaged item is left for its TTL; its queue message goes to the dead letters.
        }
      }
      startKey = page.LastEvaluatedKey;
      // A backlog larger than this goes out over several turns anyway.
    } while (startKey && out.length < 2_000);
    return out
      .sort((a, b) => a.enqueuedAt - b.enqueuedAt || a.event.id.localeCompare(b.event.id))
      .slice(0, limit);
  }

  async claimTurn(sink: string, owner: string, now: number): Promise<Turn> {
    try {
      const answer = await this.client.send(
        new UpdateItemCommand({
          TableName: this.table,
          Key: this.key(sink, 'GATE'),
          UpdateExpression: 'SET turnOwner = :me, turnUntil = :until',
          ConditionExpression:
            'attribute_not_exists(pk) OR ((attribute_not_exists(turnUntil) OR turnUntil < :now) AND (attribute_not_exists(notBefore) OR notBefore <= :now))',
          ExpressionAttributeValues: { ':me': s(owner), ':until': n(now + TURN_LEASE_MS), ':now': n(now) },
          ReturnValues: 'ALL_NEW',
        }),
      );
      return { ok: true, gate: gateOf(answer.Attributes ?? {}) };
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
    }
    const { Item } = await this.client.send(
      new GetItemCommand({ TableName: this.table, Key: this.key(sink, 'GATE'), ConsistentRead: true }),
    );
    const notBefore = Number(Item?.notBefore?.N ?? now);
    const turnUntil = Number(Item?.turnUntil?.N ?? 0);
    // Held by a turn under way: look again shortly after it should have ended.
    return {
      ok: false,
      notBefore: Math.max(notBefore, turnUntil > now ? Math.min(turnUntil, now + 5_000) : now + 1_000),
    };
  }

  async endTurn(
    sink: string,
    owner: string,
    sent: readonly string[],
    gate: SinkGate,
    now: number,
  ): Promise<void> {
    await this.markDone(sink, sent, 'sent', now);
    const values: Record<string, AttributeValue> = {
      ':me': s(owner),
      ':failures': n(gate.failures),
    };
    const set = ['failures = :failures'];
    const remove = ['turnOwner', 'turnUntil'];
    for (const field of ['notBefore', 'lastSentAt'] as const) {
      if (gate[field] === undefined) remove.push(field);
      else {
        set.push(`${field} = :${field}`);
        values[`:${field}`] = n(gate[field]!);
      }
    }
    if (gate.lastProblem === undefined) remove.push('lastProblem');
    else {
      set.push('lastProblem = :lastProblem');
      values[':lastProblem'] = s(gate.lastProblem);
    }
    try {
      await this.client.send(
        new UpdateItemCommand({
          TableName: this.table,
          Key: this.key(sink, 'GATE'),
          UpdateExpression: `SET ${set.join(', ')} REMOVE ${remove.join(', ')}`,
          ConditionExpression: 'turnOwner = :me',
          ExpressionAttributeValues: values,
        }),
      );
    } catch (error) {
      // The turn's lease ran out and another container took the gate: its record stands.
      if (!isConditionFailure(error)) throw error;
    }
  }

  async giveUp(sink: string, events: readonly PendingEvent[], _reason: string, now: number): Promise<void> {
    await this.markDone(
      sink,
      events.map((p) => p.event.id),
      'dead',
      now,
    );
  }

  /** `S#` markers first, then the `P#` items go: an event is never both gone and unmarked. */
  private async markDone(
    sink: string,
    ids: readonly string[],
    state: DeliveryState,
    now: number,
  ): Promise<void> {
    if (ids.length === 0) return;
    const ttl = n(now / 1000 + DONE_TTL_S);
    await this.write(
      ids.map((id) => ({
        PutRequest: { Item: { ...this.key(sink, `S#${id}`), state: s(state), at: n(now), ttl } },
      })),
    );
    await this.write(ids.map((id) => ({ DeleteRequest: { Key: this.key(sink, `P#${id}`) } })));
  }

  /** Which of these events the sink was sent, or gave up. */
  async states(sink: string, ids: readonly string[]): Promise<Map<string, DeliveryState>> {
    const found = new Map<string, DeliveryState>();
    const unique = [...new Set(ids)];
    for (let i = 0; i < unique.length; i += 100) {
      let keys = unique.slice(i, i + 100).map((id) => this.key(sink, `S#${id}`));
      for (let round = 0; keys.length > 0; round++) {
        if (round > 0) await sleep(Math.min(50 * 2 ** round, 1_000));
        const answer = await this.client.send(
          new BatchGetItemCommand({ RequestItems: { [this.table]: { Keys: keys, ConsistentRead: true } } }),
        );
        for (const item of answer.Responses?.[this.table] ?? [])
          found.set(item.sk!.S!.slice(2), item.state?.S === 'dead' ? 'dead' : 'sent');
        keys = (answer.UnprocessedKeys?.[this.table]?.Keys ?? []) as typeof keys;
      }
    }
    return found;
  }

  /** BatchWriteItem in 25s, asking again for what DynamoDB left unprocessed. */
  private async write(requests: WriteRequest[]): Promise<void> {
    for (let i = 0; i < requests.length; i += 25) {
      let batch = requests.slice(i, i + 25);
      for (let round = 0; batch.length > 0; round++) {
        if (round > 0) await sleep(Math.min(50 * 2 ** round, 1_000));
        const answer = await this.client.send(
          new BatchWriteItemCommand({ RequestItems: { [this.table]: batch } }),
        );
        batch = answer.UnprocessedItems?.[this.table] ?? [];
      }
    }
  }
}

function gateOf(item: Record<string, AttributeValue>): SinkGate {
  return {
    failures: Number(item.failures?.N ?? 0),
    ...(item.notBefore?.N ? { notBefore: Number(item.notBefore.N) } : {}),
    ...(item.lastSentAt?.N ? { lastSentAt: Number(item.lastSentAt.N) } : {}),
    ...(item.lastProblem?.S ? { lastProblem: item.lastProblem.S } : {}),
  };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
