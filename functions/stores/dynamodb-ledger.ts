import { createHash, randomUUID } from 'node:crypto';
import { gunzipSync, gzipSync } from 'node:zlib';
import {
  type AttributeValue,
  BatchGetItemCommand,
  ConditionalCheckFailedException,
  DeleteItemCommand,
  type DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  QueryCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import { HttpErrorCode } from '../engine/error-codes.ts';
import { type MonthSummary, summarizeMonth } from '../engine/held-off.ts';
import {
  DEFAULT_IN_PROGRESS_MS,
  type HistoryEntry,
  type HistoryQuery,
  type IdempotencyBegin,
  type IdempotencyOptions,
  type Ledger,
  legacyEntryId,
  type OccurrenceKey,
  type PageSession,
  type RecordedCall,
  type SignatureMemory,
  type StoredAnswer,
  type TargetRecord,
} from '../engine/ledger.ts';
import { currentOverrides, type Override, storedOverrideProblem } from '../engine/overrides.ts';
import {
  isoMsAt,
  monthOf,
  type ObservationQuery,
  type ObservedMark,
  type OverrideSpan,
  overrideSpanOf,
  readObservations,
  spanIfOverlapping,
} from '../engine/savings.ts';
import type { CloudEvent } from '../events/cloudevent.ts';
import { observedMarks, stateAt } from './observed-marks.ts';

const DAY_S = 86_400;
const IDEMPOTENCY_TTL_S = DAY_S;
/** Claims must outlive every redelivery and catch-up window by far. */
const CLAIM_TTL_S = 30 * DAY_S;
const HISTORY_LOOKBACK_DAYS = 31;
/**
 * The most answer bytes one item holds: DynamoDB refuses items over 400 KB, and the key,
 * fingerprint and the other attributes need room too.
 */
export const MAX_STORED_ANSWER_BYTES = 350_000;

export interface DynamoLedgerOptions {
  tableName: string;
  /** Told of every item found damaged: it was moved aside (`DAMAGED#...`) and the rest goes on. */
  onDamage?: (damage: { key: string; movedTo: string; reason: string }) => void;
  /** How long history items live (TTL). Default 90 days. */
  historyTtlDays?: number;
  now?: () => number;
}

/**
 * The ledger in one DynamoDB table (`pk`, `sk`, TTL attribute `ttl`):
 * - `OCC#<instant>#<schedule>#<action>#<target>` / `CLAIM`: a conditional put claims an occurrence;
 * - `HIST#<date>` / `<recordedAt>#<uuid>`: history, one partition per day, with a TTL;
 * - `IDEM#<sha256(key)>` / `IDEM`: HTTP answers kept for repeats for 24 hours;
 * - `TARGET#<name>` / `STATE`: what is known of a target, written with a condition on `version`;
 * - `SIG#<sha256(signature)>` / `SIG`: HTTP request signatures seen within the signing window.
 * - `OVERRIDE` / `<id>`: the overrides, one partition read in one query, each item expiring by
 *   TTL a day after its `until` (TTL deletion lags, so reads also skip ended ones).
 */
export class DynamoLedger implements Ledger {
  private readonly now: () => number;
  private readonly historyTtlS: number;

  constructor(
    private readonly client: DynamoDBClient,
    private readonly options: DynamoLedgerOptions,
  ) {
    this.now = options.now ?? Date.now;
    this.historyTtlS = (options.historyTtlDays ?? 90) * DAY_S;
  }

  async claim(key: OccurrenceKey): Promise<boolean> {
    try {
      await this.client.send(
        new PutItemCommand({
          TableName: this.options.tableName,
          Item: {
            pk: s(`OCC#${key.at}#${key.schedule}#${key.action}#${key.target}`),
            sk: s('CLAIM'),
            claimedAt: s(new Date(this.now()).toISOString()),
            ttl: n(Math.floor(Date.parse(key.at) / 1000) + CLAIM_TTL_S),
          },
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      );
      return true;
    } catch (error) {
      if (
        error instanceof ConditionalCheckFailedException ||
        (error as Error).name === 'ConditionalCheckFailedException'
      ) {
        return false;
      }
      throw error;
    }
  }

  /**
   * Puts each entry under a key made from its id and, for a call, the instant it was sent: the
   * caller and a later look that resolves the same call write the same key, and the put is
   * conditional, so a failure between an entry and its record never makes a second item.
   */
  async record(entries: readonly HistoryEntry[]): Promise<void> {
    // Savings: the observations first, so entries written always have theirs (a repeat is harmless).
    await this.recordObservations(observedMarks(entries));
    const ttl = Math.floor(this.now() / 1000) + this.historyTtlS;
    await Promise.all(
      entries.map(async (entry) => {
        const anchor = entry.startedAt ?? entry.recordedAt;
        try {
          await this.client.send(
            new PutItemCommand({
              TableName: this.options.tableName,
              Item: {
                ...historyKey(anchor, entry.id),
                entry: s(JSON.stringify(entry)),
                ttl: n(ttl),
              },
              ConditionExpression: 'attribute_not_exists(pk)',
            }),
          );
        } catch (error) {
          // Already recorded (by this call's caller, or an earlier try): one item per entry.
          if ((error as Error).name !== 'ConditionalCheckFailedException') throw error;
        }
      }),
    );
  }

  /** Moves a damaged item aside (`DAMAGED#<pk>#<time>`), removes it, and reports it. */
  private async quarantine(item: Record<string, AttributeValue>, reason: string): Promise<void> {
    const key = `${item.pk!.S}|${item.sk!.S}`;
    const movedTo = `DAMAGED#${item.pk!.S}#${new Date(this.now()).toISOString()}`;
    await this.client.send(
      new PutItemCommand({
        TableName: this.options.tableName,
        Item: {
          ...item,
          pk: s(movedTo),
          sk: s(item.sk!.S!),
          ttl: n(Math.floor(this.now() / 1000) + 30 * DAY_S),
        },
      }),
    );
    await this.client.send(
      new DeleteItemCommand({ TableName: this.options.tableName, Key: { pk: item.pk!, sk: item.sk! } }),
    );
    this.options.onDamage?.({ key, movedTo, reason });
  }

  async history(options: HistoryQuery = {}): Promise<HistoryEntry[]> {
    const limit = options.limit ?? 100;
    const found: HistoryEntry[] = [];
    const since = options.since ?? Number.NEGATIVE_INFINITY;
    const firstDay = Number.isFinite(since) ? new Date(since).toISOString().slice(0, 10) : '';
    const wanted = (entry: HistoryEntry) =>
      (options.target === undefined || entry.result.target === options.target) &&
      Date.parse(entry.recordedAt) >= since;
    // A filter would make DynamoDB's Limit count items it then drops: filter here instead.
    const filtering = options.target !== undefined || options.since !== undefined;
    const ids = new Set<string>();
    for (let day = 0; day < HISTORY_LOOKBACK_DAYS && found.length < limit; day++) {
      const date = new Date(this.now() - day * DAY_S * 1000).toISOString().slice(0, 10);
      if (date < firstDay) break;
      let startKey: Record<string, AttributeValue> | undefined;
      do {
        const page = await this.client.send(
          new QueryCommand({
            TableName: this.options.tableName,
            KeyConditionExpression: 'pk = :pk',
            ExpressionAttributeValues: { ':pk': s(`HIST#${date}`) },
            ScanIndexForward: false,
            Limit: filtering ? 100 : limit - found.length,
            ExclusiveStartKey: startKey,
          }),
        );
        for (const item of page.Items ?? []) {
          const entry = await this.parsedOrQuarantined<HistoryEntry>(item, 'entry', 'a history item');
          if (!entry) continue;
          entry.id ??= legacyEntryId(item.entry!.S!);
          // One per id: a legacy write may have stored an entry twice.
          if (ids.has(entry.id)) continue;
          ids.add(entry.id);
          if (found.length < limit && wanted(entry)) found.push(entry);
        }
        startKey = page.LastEvaluatedKey;
      } while (startKey && found.length < limit);
    }
    return found.reverse();
  }

  async targets(names: readonly string[]): Promise<Map<string, TargetRecord>> {
    const found = new Map<string, TargetRecord>();
    const items = await this.batchGet([...new Set(names)].map((name) => targetKey(name)));
    for (const item of items) {
      // One that is not JSON is reconciled from its status as a new record; no other target waits.
      const record = await this.parsedOrQuarantined<TargetRecord>(item, 'doc', 'a target record');
      if (record) found.set(record.target, record);
    }
    return found;
  }

  /**
   * A call's entry is stored under a key made of its `startedAt` and id (see `record`), so the
   * entries of many calls are a few batch reads, not a query of the day's history per call.
   */
  async recordedEntries(calls: readonly RecordedCall[]): Promise<Map<string, HistoryEntry>> {
    const found = new Map<string, HistoryEntry>();
    const keys = new Map<string, Record<string, AttributeValue>>();
    for (const call of calls) {
      const key = historyKey(call.startedAt, call.id);
      keys.set(`${key.pk!.S}|${key.sk!.S}`, key);
    }
    for (const item of await this.batchGet([...keys.values()])) {
      const entry = await this.parsedOrQuarantined<HistoryEntry>(item, 'entry', 'a history item');
      if (entry) found.set(entry.id, entry);
    }
    return found;
  }

  /** An item's JSON attribute parsed; one that is not a JSON object is moved aside (`quarantine`). */
  private async parsedOrQuarantined<T>(
    item: Record<string, AttributeValue>,
    attribute: string,
    what: string,
  ): Promise<T | undefined> {
    try {
      const value: unknown = JSON.parse(item[attribute]?.S ?? '');
      if (typeof value !== 'object' || value === null)
        throw new SyntaxError(`${String(value)} is not an object`);
      return value as T;
    } catch (error) {
      await this.quarantine(item, `${what} that is not JSON: ${(error as Error).message}`);
      return undefined;
    }
  }

  /** Items by key, read consistently; BatchGetItem takes 100 keys, and those it leaves unprocessed (throttling) are asked for again. */
  private async batchGet(
    all: readonly Record<string, AttributeValue>[],
  ): Promise<Record<string, AttributeValue>[]> {
    const items: Record<string, AttributeValue>[] = [];
    for (let i = 0; i < all.length; i += BATCH_GET_LIMIT) {
      let keys = all.slice(i, i + BATCH_GET_LIMIT);
      for (let round = 0; keys.length > 0; round++) {
        if (round > 0) await new Promise((resolve) => setTimeout(resolve, Math.min(50 * 2 ** round, 1000)));
        const answer = await this.client.send(
          new BatchGetItemCommand({
            RequestItems: { [this.options.tableName]: { Keys: keys, ConsistentRead: true } },
          }),
        );
        items.push(...(answer.Responses?.[this.options.tableName] ?? []));
        keys = answer.UnprocessedKeys?.[this.options.tableName]?.Keys ?? [];
      }
    }
    return items;
  }

  async putTarget(record: TargetRecord): Promise<boolean> {
    try {
      await this.client.send(
        new PutItemCommand({
          TableName: this.options.tableName,
          Item: { ...targetKey(record.target), version: n(record.version), doc: s(JSON.stringify(record)) },
          ...(record.version === 1
            ? { ConditionExpression: 'attribute_not_exists(pk)' }
            : {
                ConditionExpression: 'version = :previous',
                ExpressionAttributeValues: { ':previous': n(record.version - 1) },
              }),
        }),
      );
      return true;
    } catch (error) {
      if ((error as Error).name === 'ConditionalCheckFailedException') return false;
      throw error;
    }
  }

  async putOverride(override: Override): Promise<void> {
    // Savings: kept first, so an override in force is always known to them.
    await this.keepOverrideForSavings(override);
    await this.client.send(
      new PutItemCommand({
        TableName: this.options.tableName,
        Item: {
          ...overrideKey(override.id),
          doc: s(JSON.stringify(override)),
          until: s(override.until),
          ttl: n(Math.floor(Date.parse(override.until) / 1000) + OVERRIDE_KEEP_S),
        },
      }),
    );
  }

  async overrides(now: number): Promise<Override[]> {
    const found: Override[] = [];
    let startKey: Record<string, AttributeValue> | undefined;
    do {
      const page = await this.client.send(
        new QueryCommand({
          TableName: this.options.tableName,
          KeyConditionExpression: 'pk = :pk',
          ExpressionAttributeValues: { ':pk': s(OVERRIDE_PK) },
          // Every process must see an override the moment it is stored.
          ConsistentRead: true,
          ExclusiveStartKey: startKey,
        }),
      );
      for (const item of page.Items ?? []) {
        // A damaged item is moved aside: it must never fail every tick that reads overrides.
        const override = await this.parsedOrQuarantined<Override>(item, 'doc', 'an override item');
        const problem = override && storedOverrideProblem(override);
        if (problem) await this.quarantine(item, `an override item of the wrong shape: ${problem}`);
        else if (override) found.push(override);
      }
      startKey = page.LastEvaluatedKey;
    } while (startKey);
    return currentOverrides(found, now);
  }

  async removeOverride(id: string): Promise<Override | undefined> {
    await this.overrideRemovedForSavings(id);
    const answer = await this.client.send(
      new DeleteItemCommand({
        TableName: this.options.tableName,
        Key: overrideKey(id),
        ReturnValues: 'ALL_OLD',
      }),
    );
    const doc = answer.Attributes?.doc?.S;
    return doc ? (JSON.parse(doc) as Override) : undefined;
  }

  async beginIdempotent(
    key: string,
    fingerprint: string,
    options: IdempotencyOptions = {},
  ): Promise<IdempotencyBegin> {
    const nowMs = this.now();
    const nowS = Math.floor(nowMs / 1000);
    try {
      await this.client.send(
        new PutItemCommand({
          TableName: this.options.tableName,
          Item: {
            ...this.idempotencyKey(key),
            fingerprint: s(fingerprint),
            state: s('pending'),
            // As Powertools Idempotency does: a request that died in flight frees its key just
            // after the Lambda's timeout, not when the item's day is over.
            inProgressUntil: n(nowMs + (options.inProgressMs ?? DEFAULT_IN_PROGRESS_MS)),
            ttl: n(nowS + IDEMPOTENCY_TTL_S),
          },
          // TTL deletion lags: an expired item counts as absent.
          ConditionExpression:
            'attribute_not_exists(pk) OR #ttl < :now OR (#state = :pending AND #until < :nowMs)',
          ExpressionAttributeNames: { '#ttl': 'ttl', '#state': 'state', '#until': 'inProgressUntil' },
          ExpressionAttributeValues: { ':now': n(nowS), ':pending': s('pending'), ':nowMs': n(nowMs) },
        }),
      );
      return { kind: 'started' };
    } catch (error) {
      if ((error as Error).name !== 'ConditionalCheckFailedException') throw error;
    }
    const { Item } = await this.client.send(
      new GetItemCommand({
        TableName: this.options.tableName,
        Key: this.idempotencyKey(key),
        ConsistentRead: true,
      }),
    );
    if (Item?.state?.S !== 'done') return { kind: 'in-progress' };
    if (Item.fingerprint?.S !== fingerprint) return { kind: 'mismatch' };
    const body = Item.bodyGz?.B ? gunzipSync(Item.bodyGz.B).toString('utf8') : Item.body!.S!;
    return { kind: 'replay', answer: { status: Number(Item.status!.N), body } };
  }

  /**
   * Keeps the answer within the item limit: as it is when it fits, gzip-compressed when that
   * fits, else a JSON marker with the first answer's status (its results are in the history).
   */
  async completeIdempotent(key: string, answer: StoredAnswer): Promise<void> {
    const size = Buffer.byteLength(answer.body);
    const gz = size > MAX_STORED_ANSWER_BYTES ? gzipSync(answer.body) : undefined;
    const stored: [string, AttributeValue] =
      gz === undefined
        ? ['body', s(answer.body)]
        : gz.length <= MAX_STORED_ANSWER_BYTES
          ? ['bodyGz', { B: gz }]
          : [
              'body',
              s(
                JSON.stringify({
                  error: {
                    code: HttpErrorCode.answerNotKept,
                    message: `the first answer to this Idempotency-Key (${size} bytes) was too large to keep; its results are in the history`,
                  },
                }),
              ),
            ];
    await this.client.send(
      new UpdateItemCommand({
        TableName: this.options.tableName,
        Key: this.idempotencyKey(key),
        UpdateExpression: `SET #state = :done, #status = :status, #${stored[0]} = :body`,
        ExpressionAttributeNames: { '#state': 'state', '#status': 'status', [`#${stored[0]}`]: stored[0] },
        ExpressionAttributeValues: {
          ':done': s('done'),
          ':status': n(answer.status),
          ':body': stored[1],
        },
      }),
    );
  }

  async abandonIdempotent(key: string): Promise<void> {
    await this.client.send(
      new DeleteItemCommand({ TableName: this.options.tableName, Key: this.idempotencyKey(key) }),
    );
  }

  async rememberSignature(
    signature: string,
    options: { idempotencyKey?: string; expiresAt: number },
  ): Promise<SignatureMemory> {
    const key = { pk: s(`SIG#${createHash('sha256').update(signature).digest('hex')}`), sk: s('SIG') };
    try {
      await this.client.send(
        new PutItemCommand({
          TableName: this.options.tableName,
          Item: {
            ...key,
            ttl: n(Math.ceil(options.expiresAt / 1000)),
            ...(options.idempotencyKey === undefined ? {} : { idempotencyKey: s(options.idempotencyKey) }),
          },
          // TTL deletion lags: an expired item counts as absent.
          ConditionExpression: 'attribute_not_exists(pk) OR #ttl < :now',
          ExpressionAttributeNames: { '#ttl': 'ttl' },
          ExpressionAttributeValues: { ':now': n(Math.floor(this.now() / 1000)) },
        }),
      );
      return { seen: false };
    } catch (error) {
      if ((error as Error).name !== 'ConditionalCheckFailedException') throw error;
    }
    const { Item } = await this.client.send(
      new GetItemCommand({ TableName: this.options.tableName, Key: key, ConsistentRead: true }),
    );
    const idempotencyKey = Item?.idempotencyKey?.S;
    return idempotencyKey === undefined ? { seen: true } : { seen: true, idempotencyKey };
  }

  private idempotencyKey(key: string): Record<string, AttributeValue> {
    return { pk: s(`IDEM#${createHash('sha256').update(key).digest('hex')}`), sk: s('IDEM') };
  }

  // ---- savings (engine/savings.ts): observed states and overrides, kept beside the history ----
  // - `OBS#<YYYY-MM>` / `<target>`: a list `marks` of `"<instant> <state>"`, appended, one item per
  //   target and month (a year of 500 targets is 6,000 small items, read by 13 queries); an item
  //   that would outgrow DynamoDB's 400 KB spills into `<target>#<instant>#<random>`;
  // - `OVERRIDE-LOG` / `<id>`: each override as created, with `removedAt` once removed.
  // No TTL: savings look back as far as the ledger keeps them.

  async recordObservations(marks: readonly ObservedMark[]): Promise<void> {
    const groups = new Map<string, { month: string; target: string; lines: string[] }>();
    for (const mark of marks) {
      const month = monthOf(mark.at);
      const key = `${month}#${mark.target}`;
      let group = groups.get(key);
      if (!group) {
        group = { month, target: mark.target, lines: [] };
        groups.set(key, group);
      }
      group.lines.push(`${new Date(mark.at).toISOString()} ${mark.state}`);
    }
    await Promise.all(
      [...groups.values()].map(async ({ month, target, lines }) => {
        const list: AttributeValue = { L: lines.map(s) };
        try {
          await this.client.send(
            new UpdateItemCommand({
              TableName: this.options.tableName,
              Key: { pk: s(`OBS#${month}`), sk: s(target) },
              UpdateExpression: 'SET #marks = list_append(if_not_exists(#marks, :none), :marks)',
              ExpressionAttributeNames: { '#marks': 'marks' },
              ExpressionAttributeValues: { ':none': { L: [] }, ':marks': list },
            }),
          );
        } catch (error) {
          if (!isItemTooLarge(error)) throw error;
          await this.client.send(
            new PutItemCommand({
              TableName: this.options.tableName,
              Item: {
                pk: s(`OBS#${month}`),
                sk: s(`${target}#${lines[0]!.slice(0, 24)}#${randomUUID().slice(0, 8)}`),
                marks: list,
              },
            }),
          );
        }
      }),
    );
  }

  observations(query: ObservationQuery): Promise<ObservedMark[]> {
    return readObservations(query, (month, wanted) => this.observedMonth(month, wanted));
  }

  /** Made from the month's marks on each read: the items are read anyway, and appends need no upkeep. */
  async observedMonthSummary(
    month: string,
    targets: ReadonlySet<string>,
  ): Promise<Map<string, MonthSummary>> {
    return summarizeMonth(month, await this.observedMonth(month, targets));
  }

  async overridesBetween(from: number, to: number): Promise<OverrideSpan[]> {
    const spans: OverrideSpan[] = [];
    for await (const item of this.items('pk = :pk', { ':pk': s(OVERRIDE_LOG_PK) })) {
      const kept = spanIfOverlapping(JSON.parse(item.doc!.S!) as OverrideSpan, item.removedAt?.S, from, to);
      if (kept) spans.push(kept);
    }
    return spans;
  }

  private async keepOverrideForSavings(override: Override): Promise<void> {
    const span = overrideSpanOf(override);
    await this.client.send(
      new PutItemCommand({
        TableName: this.options.tableName,
        Item: { pk: s(OVERRIDE_LOG_PK), sk: s(span.id), doc: s(JSON.stringify(span)) },
      }),
    );
  }

  private async overrideRemovedForSavings(id: string): Promise<void> {
    try {
      await this.client.send(
        new UpdateItemCommand({
          TableName: this.options.tableName,
          Key: { pk: s(OVERRIDE_LOG_PK), sk: s(id) },
          // Two removals at once: the first ended it.
          UpdateExpression: 'SET removedAt = if_not_exists(removedAt, :now)',
          ConditionExpression: 'attribute_exists(pk)',
          ExpressionAttributeValues: { ':now': s(new Date(this.now()).toISOString()) },
        }),
      );
    } catch (error) {
      // No such override: nothing to keep.
      if ((error as Error).name !== 'ConditionalCheckFailedException') throw error;
    }
  }

  async observedMonth(month: string, wanted: ReadonlySet<string>): Promise<ObservedMark[]> {
    const marks: ObservedMark[] = [];
    // One target: its items only (the prefix also matches longer names, dropped below).
    const only = wanted.size === 1 ? [...wanted][0]! : undefined;
    const items = this.items(only ? 'pk = :pk AND begins_with(sk, :target)' : 'pk = :pk', {
      ':pk': s(`OBS#${month}`),
      ...(only ? { ':target': s(only) } : {}),
    });
    for await (const item of items) {
      const target = item.sk!.S!.split('#')[0]!;
      if (!wanted.has(target)) continue;
      for (const value of item.marks?.L ?? []) {
        const text = value.S!;
        const at = isoMsAt(text, 0);
        const state = stateAt(text, 25, text.length);
        if (state !== undefined && !Number.isNaN(at)) marks.push({ target, at, state });
      }
    }
    return marks;
  }

  /** Every item a key condition selects, page after page. */
  private async *items(
    condition: string,
    values: Record<string, AttributeValue>,
  ): AsyncGenerator<Record<string, AttributeValue>> {
    let startKey: Record<string, AttributeValue> | undefined;
    do {
      const page = await this.client.send(
        new QueryCommand({
          TableName: this.options.tableName,
          KeyConditionExpression: condition,
          ExpressionAttributeValues: values,
          ExclusiveStartKey: startKey,
        }),
      );
      yield* page.Items ?? [];
      startKey = page.LastEvaluatedKey;
    } while (startKey);
  }

  // ---- events (notifications): the event journal beside the history ----

  /**
   * Writes events that are not history entries (upcoming changes, overrides ended, warnings) as
   * `EVT#<id>` / `EVT` items: the table's stream carries them, like history items, to the event
   * bus. An id already written is not written again, so a redelivered tick announces nothing twice.
   */
  async appendEvents(events: readonly CloudEvent[]): Promise<void> {
    const ttl = n(Math.floor(this.now() / 1000) + EVENT_TTL_S);
    await Promise.all(
      events.map(async (event) => {
        try {
          await this.client.send(
            new PutItemCommand({
              TableName: this.options.tableName,
              Item: {
                pk: s(`${EVENT_PK_PREFIX}${event.id}`),
                sk: s('EVT'),
                event: s(JSON.stringify(event)),
                ttl,
              },
              ConditionExpression: 'attribute_not_exists(pk)',
            }),
          );
        } catch (error) {
          if ((error as Error).name !== 'ConditionalCheckFailedException') throw error;
        }
      }),
    );
  }

  // ---- page sessions and sign-in links (functions/page/) ----
  // `SESSION#<idHash>` / `SESSION`: a signed-in browser, expiring by TTL at its `expiresAt`;
  // `LINK#<linkHash>` / `LINK`: a used sign-in link, kept (TTL) until the link itself expires.
  // TTL deletion lags, so every read also checks the time.

  async putSession(session: PageSession): Promise<void> {
    await this.client.send(
      new PutItemCommand({
        TableName: this.options.tableName,
        Item: {
          pk: s(`SESSION#${session.idHash}`),
          sk: s('SESSION'),
          doc: s(JSON.stringify(session)),
          ttl: n(Math.ceil(Date.parse(session.expiresAt) / 1000)),
        },
      }),
    );
  }

  async session(idHash: string, now: number): Promise<PageSession | undefined> {
    const { Item } = await this.client.send(
      new GetItemCommand({
        TableName: this.options.tableName,
        Key: { pk: s(`SESSION#${idHash}`), sk: s('SESSION') },
        ConsistentRead: true,
      }),
    );
    const doc = Item?.doc?.S;
    if (!doc) return undefined;
    const session = JSON.parse(doc) as PageSession;
    return Date.parse(session.expiresAt) > now ? session : undefined;
  }

  async removeSession(idHash: string): Promise<void> {
    await this.client.send(
      new DeleteItemCommand({
        TableName: this.options.tableName,
        Key: { pk: s(`SESSION#${idHash}`), sk: s('SESSION') },
      }),
    );
  }

  async useSignInLink(linkHash: string, expiresAt: number): Promise<boolean> {
    try {
      await this.client.send(
        new PutItemCommand({
          TableName: this.options.tableName,
          Item: { pk: s(`LINK#${linkHash}`), sk: s('LINK'), ttl: n(Math.ceil(expiresAt / 1000)) },
          ConditionExpression: 'attribute_not_exists(pk) OR #ttl < :now',
          ExpressionAttributeNames: { '#ttl': 'ttl' },
          ExpressionAttributeValues: { ':now': n(Math.floor(this.now() / 1000)) },
        }),
      );
      return true;
    } catch (error) {
      if ((error as Error).name === 'ConditionalCheckFailedException') return false;
      throw error;
    }
  }

  async signInLinkUsed(linkHash: string, now: number): Promise<boolean> {
    const { Item } = await this.client.send(
      new GetItemCommand({
        TableName: this.options.tableName,
        Key: { pk: s(`LINK#${linkHash}`), sk: s('LINK') },
        ConsistentRead: true,
      }),
    );
    return Item !== undefined && Number(Item.ttl?.N ?? 0) * 1000 >= now;
  }
}

const OVERRIDE_LOG_PK = 'OVERRIDE-LOG';

/** DynamoDB refuses an update that would take an item past 400 KB with a ValidationException. */
function isItemTooLarge(error: unknown): boolean {
  return (error as Error).name === 'ValidationException' && /item size/i.test((error as Error).message ?? '');
}

/** Journal events live two days: the stream has carried them within minutes. */
const EVENT_TTL_S = 2 * DAY_S;
export const EVENT_PK_PREFIX = 'EVT#';

const BATCH_GET_LIMIT = 100;
const OVERRIDE_PK = 'OVERRIDE';
/** Ended overrides stay a day (a look at what was in force), then TTL removes them. */
const OVERRIDE_KEEP_S = DAY_S;

const overrideKey = (id: string): Record<string, AttributeValue> => ({ pk: s(OVERRIDE_PK), sk: s(id) });

/** A history entry's key: its day's partition, and its instant and id (stable for a call). */
const historyKey = (anchor: string, id: string): Record<string, AttributeValue> => ({
  pk: s(`HIST#${anchor.slice(0, 10)}`),
  sk: s(`${anchor}#${id}`),
});
const targetKey = (name: string): Record<string, AttributeValue> => ({
  pk: s(`TARGET#${name}`),
  sk: s('STATE'),
});

function s(value: string): AttributeValue {
  return { S: value };
}
const n = (value: number): AttributeValue => ({ N: String(value) });
