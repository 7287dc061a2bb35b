import { mkdtempSync, readFileSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CloudEvent } from '../../functions/events/cloudevent.ts';
import { eventOfEntry } from '../../functions/events/make.ts';
import { type DeliveryStore, deliverTurn, type TurnOutcome } from '../../functions/notify/dispatch.ts';
import { DynamoDeliveryStore } from '../../functions/notify/dynamo-store.ts';
import { FileDeliveryStore } from '../../functions/notify/file-store.ts';
import { MemoryDeliveryStore } from '../../functions/notify/memory-store.ts';
import type { PostOutcome, SinkPoster } from '../../functions/notify/post.ts';
import type { SinkRequest } from '../../functions/notify/sinks.ts';
import { silentLog } from '../../functions/observability/log.ts';
import { MemorySecretSource } from '../../functions/stores/secrets.ts';
import { configWith } from '../helpers/config.ts';
import { type LocalDynamo, startDynalite } from '../helpers/dynalite.ts';
import { historyEntry } from '../helpers/entries.ts';

const MINUTE = 60_000;
const T0 = Date.parse('2027-03-29T20:00:00Z');

const failure = (i: number): CloudEvent =>
  eventOfEntry(
    historyEntry(
      `ev-${i}`,
      { target: `t${i}`, errorCode: 'NIGHTSHIFT.NETWORK' },
      { recordedAt: new Date(T0).toISOString() },
    ),
  );

/** A sink service that answers as scripted (200 by default) and records what it got. */
class FakePoster implements SinkPoster {
  readonly requests: SinkRequest[] = [];
  answers: PostOutcome[] = [];
  async post(request: SinkRequest): Promise<PostOutcome> {
    this.requests.push(request);
    return this.answers.shift() ?? { answer: { status: 200, headers: {}, body: 'ok' } };
  }
  async close(): Promise<void> {}
}

let dynamo: LocalDynamo;
let tables = 0;
beforeAll(async () => {
  dynamo = await startDynalite();
});
afterAll(async () => {
  await dynamo.stop();
});

const stores: [string, () => Promise<DeliveryStore>][] = [
  ['memory', async () => new MemoryDeliveryStore()],
  ['state folder', async () => new FileDeliveryStore(mkdtempSync(join(tmpdir(), 'nightshift-notify-')))],
  [
    'DynamoDB',
    async () => {
      const table = `deliveries-${++tables}`;
      await dynamo.createTable(table);
      return new DynamoDeliveryStore(dynamo.client, table);
    },
  ],
];

describe.each(stores)('delivery through the %s store', (_name, makeStore) => {
  const config = configWith([], {
    notifications: {
      sinks: { oncall: { type: 'slack', secret: 'nightshift/slack' } },
      routes: [{ sink: 'oncall' }],
    },
  });
  const secrets = new MemorySecretSource({
    'nightshift/slack': { url: 'https://hooks.slack.com/services/T/B/SENTINEL-SLACK-PATH' },
  });

  async function world() {
    const store = await makeStore();
    const poster = new FakePoster();
    const outcomes: TurnOutcome[] = [];
    let now = T0;
    const deps = {
      store,
      config,
      secrets,
      poster,
      owner: 'test',
      log: silentLog,
      now: () => now,
      onOutcome: (o: TurnOutcome) => outcomes.push(o),
    };
    return {
      store,
      poster,
      outcomes,
      deps,
      turn: () => deliverTurn(deps, 'oncall'),
      at: (ms: number) => {
        now = ms;
      },
    };
  }

  it('an event enqueued twice is sent once, and not again after it was sent', async () => {
    const w = await world();
    expect(await w.store.enqueue('oncall', [failure(1), failure(1)], T0)).toEqual(['ev-1']);
    expect(await w.store.enqueue('oncall', [failure(1)], T0)).toEqual([]);
    expect(await w.turn()).toMatchObject({ kind: 'sent', ids: ['ev-1'], next: T0 + MINUTE });
    expect(await w.store.enqueue('oncall', [failure(1)], T0 + 1000)).toEqual([]);
    w.at(T0 + 2 * MINUTE);
    expect(await w.turn()).toEqual({ kind: 'idle' });
    expect(w.poster.requests).toHaveLength(1);
  });

  it('at most one message a minute: what comes meanwhile waits, then goes as one', async () => {
    const w = await world();
    await w.store.enqueue('oncall', [failure(1)], T0);
    await w.turn();
    w.at(T0 + 10_000);
    await w.store.enqueue('oncall', [failure(2), failure(3)], T0 + 10_000);
    expect(await w.turn()).toEqual({ kind: 'wait', until: T0 + MINUTE });
    w.at(T0 + MINUTE);
    expect(await w.turn()).toMatchObject({ kind: 'sent', ids: ['ev-2', 'ev-3'] });
    expect(w.poster.requests).toHaveLength(2);
    expect(JSON.parse(w.poster.requests[1]!.body).text).toContain('Nightshift: 2 events (2 failed)');
  });

  it('a failing sink is tried again after 1, 2, 4 minutes, or when it says (Retry-After); then it gets it once', async () => {
    const w = await world();
    await w.store.enqueue('oncall', [failure(1)], T0);
    w.poster.answers = [
      { answer: { status: 500, headers: {}, body: 'internal_error' } },
      { error: 'network error (ECONNREFUSED)' },
      { answer: { status: 429, headers: { 'retry-after': '600' }, body: 'rate_limited' } },
    ];
    expect(await w.turn()).toEqual({
      kind: 'failed',
      problem: 'HTTP 500: internal_error',
      retryAt: T0 + MINUTE,
    });
    w.at(T0 + MINUTE);
    expect(await w.turn()).toMatchObject({ kind: 'failed', retryAt: T0 + 3 * MINUTE });
    w.at(T0 + 3 * MINUTE);
    expect(await w.turn()).toMatchObject({ kind: 'failed', retryAt: T0 + 13 * MINUTE });
    w.at(T0 + 12 * MINUTE);
    expect(await w.turn()).toEqual({ kind: 'wait', until: T0 + 13 * MINUTE });
    w.at(T0 + 13 * MINUTE);
    expect(await w.turn()).toMatchObject({ kind: 'sent', ids: ['ev-1'] });
    expect(w.poster.requests).toHaveLength(4);
    expect(w.outcomes.map((o) => o.kind)).toEqual(['failed', 'failed', 'failed', 'sent']);
  });

  it('a burst is one message, up to 200 events; the rest go a minute later', async () => {
    const w = await world();
    await w.store.enqueue(
      'oncall',
      Array.from({ length: 250 }, (_, i) => failure(i)),
      T0,
    );
    expect(await w.turn()).toMatchObject({ kind: 'sent', ids: expect.arrayContaining(['ev-0', 'ev-199']) });
    w.at(T0 + MINUTE);
    const second = await w.turn();
    expect(second).toMatchObject({ kind: 'sent' });
    expect((second as { ids: string[] }).ids).toHaveLength(50);
    expect(w.poster.requests).toHaveLength(2);
  });

  it('after 24 hours of failures the event is given up (a dead letter), said in a log line and an outcome', async () => {
    const w = await world();
    await w.store.enqueue('oncall', [failure(1)], T0);
    w.poster.answers = [{ answer: { status: 404, headers: {}, body: 'no_service' } }];
    await w.turn();
    w.at(T0 + 24 * 60 * MINUTE + 1);
    expect(await w.turn()).toEqual({ kind: 'idle' });
    expect(w.outcomes.at(-1)).toMatchObject({
      kind: 'gave-up',
      reason: 'not delivered within 24 hours (HTTP 404: no_service)',
    });
    expect(await w.store.pending('oncall', 10)).toEqual([]);
    expect(await w.store.enqueue('oncall', [failure(1)], T0 + 25 * 60 * MINUTE)).toEqual([]);
  });

  it('a missing secret is a failure that names the sink and the secret, and is retried (someone may fix it)', async () => {
    const w = await world();
    const broken = { ...w.deps, secrets: new MemorySecretSource({}) };
    await w.store.enqueue('oncall', [failure(1)], T0);
    const result = await deliverTurn(broken, 'oncall');
    expect(result).toMatchObject({
      kind: 'failed',
      problem: expect.stringMatching(/^sink "oncall" \(slack\): secret "nightshift\/slack" is missing/),
    });
    expect(w.poster.requests).toHaveLength(0);
  });
});

describe('the state folder store on disk', () => {
  it('keeps pending events, sent markers and dead letters in readable places', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'nightshift-notify-'));
    const store = new FileDeliveryStore(dir);
    await store.enqueue('oncall', [failure(1), failure(2)], T0);
    const [batch] = await readdir(join(dir, 'sinks', 'oncall', 'pending'));
    expect(batch).toMatch(new RegExp(`^00${T0}-\\d+-\\d{6}\\.json$`));
    await store.endTurn('oncall', 'me', ['ev-1'], { failures: 0, lastSentAt: T0 }, T0);
    expect(await readdir(join(dir, 'sinks', 'oncall', 'sent'))).toEqual(['ev-1']);
    expect(
      JSON.parse(readFileSync(join(dir, 'sinks', 'oncall', 'pending', batch!), 'utf8')).events,
    ).toHaveLength(1);
    await store.giveUp('oncall', await store.pending('oncall', 10), 'test', T0);
    expect(await readdir(join(dir, 'sinks', 'oncall', 'dead'))).toEqual(['ev-2.json']);
    expect(await store.sinksWithPending()).toEqual([]);
  });
});

describe('the DynamoDB store with several containers', () => {
  it('of two turns taken at once, one sends; the other waits', async () => {
    const table = `deliveries-${++tables}`;
    await dynamo.createTable(table);
    const a = new DynamoDeliveryStore(dynamo.client, table);
    const b = new DynamoDeliveryStore(dynamo.client, table);
    const [first, second] = await Promise.all([
      a.claimTurn('oncall', 'a', T0),
      b.claimTurn('oncall', 'b', T0),
    ]);
    expect([first.ok, second.ok].sort()).toEqual([false, true]);
  });
});
