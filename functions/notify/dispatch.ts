import type { Config } from '../engine/config/schema.ts';
import type { CloudEvent } from '../events/cloudevent.ts';
import type { Log } from '../observability/log.ts';
import { redact } from '../observability/redact.ts';
import type { SecretSource } from '../stores/secrets.ts';
import { messageOf } from './message.ts';
import type { SinkPoster } from './post.ts';
import { loadSinkSecret, SinkSecretError } from './secrets.ts';
import { MAX_EVENTS_PER_MESSAGE, SINK_ADAPTERS } from './sinks.ts';

/**
 * Delivery, the same locally and on AWS: each sink has a set of pending events, a record of the
 * events it was sent (so an event is sent once, however often it is enqueued), and a gate that
 * lets one message through per minute, later after failures (backoff). A turn takes the gate,
 * sends every pending event in one message (a burst becomes one summary), and records the outcome.
 * The store behind it is files in the state folder (`serve`) or the DynamoDB ledger (AWS).
 */

const MINUTE = 60_000;
/** At most one message per sink per minute: inside every service's limit (DingTalk: 20 a minute). */
export const MIN_INTERVAL_MS = MINUTE;
/** Backoff after failed deliveries: 1, 2, 4, ... minutes, at most 30. */
export const MAX_BACKOFF_MS = 30 * MINUTE;
/** An event not delivered within this long after it was enqueued is given up (dead letter). */
export const DELIVERY_WINDOW_MS = 24 * 60 * MINUTE;
/** A turn left unfinished (its process died mid-send) frees the gate after this. */
export const TURN_LEASE_MS = 2 * MINUTE;

export interface PendingEvent {
  event: CloudEvent;
  /** Clock ms when the sink first got it. */
  enqueuedAt: number;
}

export interface SinkGate {
  /** No message before this (clock ms): a minute after the last, or the backoff after a failure. */
  notBefore?: number;
  lastSentAt?: number;
  /** Failed deliveries in a row. */
  failures: number;
  lastProblem?: string;
}

export type Turn = { ok: true; gate: SinkGate } | { ok: false; notBefore: number };

export interface DeliveryStore {
  /** Adds the events the sink has neither been sent nor has pending; the ids added. */
  enqueue(sink: string, events: readonly CloudEvent[], now: number): Promise<string[]>;
  /** The sink's pending events, oldest first, at most `limit`. */
  pending(sink: string, limit: number): Promise<PendingEvent[]>;
  /** Takes the sink's gate when it is open (and no other turn holds it). */
  claimTurn(sink: string, owner: string, now: number): Promise<Turn>;
  /** Ends a turn: the ids sent are recorded as sent and are no longer pending; the gate as given. */
  endTurn(sink: string, owner: string, sent: readonly string[], gate: SinkGate, now: number): Promise<void>;
  /** Gives events up (past the delivery window, or their sink is gone): the dead letters. */
  giveUp(sink: string, events: readonly PendingEvent[], reason: string, now: number): Promise<void>;
}

export interface DeliverDeps {
  store: DeliveryStore;
  config: Config;
  secrets: SecretSource;
  poster: SinkPoster;
  /** Who takes turns: unique per process or invocation. */
  owner: string;
  log: Log;
  /** The runtime's clock (gates, backoff, the delivery window). */
  now: () => number;
  /** Real time for the services' signatures (they check it against their own clocks). */
  signingNow?: () => number;
  /** Heard after each message that got through, and each failure (for a readable line on stdout). */
  onOutcome?: (outcome: TurnOutcome) => void;
}

export type TurnOutcome =
  | { sink: string; kind: 'sent'; events: readonly CloudEvent[] }
  | { sink: string; kind: 'failed'; events: readonly CloudEvent[]; problem: string; retryAt: number }
  | { sink: string; kind: 'gave-up'; events: readonly CloudEvent[]; reason: string };

export type TurnResult =
  | { kind: 'idle' }
  | { kind: 'wait'; until: number }
  | { kind: 'sent'; ids: string[]; next: number }
  | { kind: 'failed'; problem: string; retryAt: number };

/** Backoff after `failures` failed deliveries in a row, or the service's own word when longer. */
export function backoffMs(failures: number, retryAfterMs?: number): number {
  const exponential = Math.min(MAX_BACKOFF_MS, MINUTE * 2 ** Math.max(0, failures - 1));
  return Math.max(exponential, retryAfterMs ?? 0, MIN_INTERVAL_MS);
}

/**
 * One turn of one sink: if its gate is open, send everything pending (up to
 * `MAX_EVENTS_PER_MESSAGE`) as one message and record the outcome; events past the delivery
 * window, or of a sink no longer configured, are given up with a log line.
 */
export async function deliverTurn(deps: DeliverDeps, sink: string): Promise<TurnResult> {
  const { store, log } = deps;
  const now = deps.now();
  const sinkConfig = deps.config.notifications?.sinks[sink];
  const turn = await store.claimTurn(sink, deps.owner, now);
  if (!turn.ok) return { kind: 'wait', until: turn.notBefore };
  const gate = turn.gate;
  let finished = false;
  try {
    const pending = await store.pending(sink, MAX_EVENTS_PER_MESSAGE * 2);
    if (!sinkConfig) {
      if (pending.length > 0) await giveUp(deps, sink, pending, 'the sink is no longer in the config');
      await store.endTurn(sink, deps.owner, [], gate, now);
      finished = true;
      return { kind: 'idle' };
    }
    const expired = pending.filter((p) => now - p.enqueuedAt > DELIVERY_WINDOW_MS);
    if (expired.length > 0)
      await giveUp(deps, sink, expired, `not delivered within 24 hours (${gate.lastProblem ?? 'no answer'})`);
    const live = pending
      .filter((p) => now - p.enqueuedAt <= DELIVERY_WINDOW_MS)
      .slice(0, MAX_EVENTS_PER_MESSAGE);
    if (live.length === 0) {
      await store.endTurn(sink, deps.owner, [], gate, now);
      finished = true;
      return { kind: 'idle' };
    }
    const events = live.map((p) => p.event);
    const problem = await send(deps, sink, sinkConfig, events, gate.failures > 0);
    if (problem === undefined) {
      const next = now + MIN_INTERVAL_MS;
      await store.endTurn(
        sink,
        deps.owner,
        events.map((e) => e.id),
        { failures: 0, lastSentAt: now, notBefore: next },
        now,
      );
      finished = true;
      log.info('notification sent', {
        sink,
        sinkType: sinkConfig.type,
        events: events.length,
        types: [...new Set(events.map((e) => e.type))],
        ids: events.slice(0, 20).map((e) => e.id),
      });
      deps.onOutcome?.({ sink, kind: 'sent', events });
      return { kind: 'sent', ids: events.map((e) => e.id), next };
    }
    const failures = gate.failures + 1;
    const retryAt = now + backoffMs(failures, problem.retryAfterMs);
    await store.endTurn(
      sink,
      deps.owner,
      [],
      {
        failures,
        ...(gate.lastSentAt === undefined ? {} : { lastSentAt: gate.lastSentAt }),
        notBefore: retryAt,
        lastProblem: problem.text,
      },
      now,
    );
    finished = true;
    log.warn('notification not delivered: tried again later', {
      sink,
      sinkType: sinkConfig.type,
      problem: problem.text,
      failures,
      events: events.length,
      retryAt: new Date(retryAt).toISOString(),
    });
    deps.onOutcome?.({ sink, kind: 'failed', events, problem: problem.text, retryAt });
    return { kind: 'failed', problem: problem.text, retryAt };
  } finally {
    // A store failure mid-turn: the gate frees itself when the turn's lease runs out.
    if (!finished) log.error('notification turn did not finish', { sink });
  }
}

async function giveUp(
  deps: DeliverDeps,
  sink: string,
  events: PendingEvent[],
  reason: string,
): Promise<void> {
  await deps.store.giveUp(sink, events, reason, deps.now());
  deps.log.error('notification given up', {
    sink,
    reason,
    events: events.length,
    ids: events.slice(0, 50).map((p) => p.event.id),
  });
  deps.onOutcome?.({
    sink,
    kind: 'gave-up',
    events: events.map((p) => p.event),
    reason,
  });
}

/** Sends one message; undefined when the sink took it, else why not (safe to log). */
async function send(
  deps: DeliverDeps,
  sink: string,
  sinkConfig: { type: keyof typeof SINK_ADAPTERS; secret: string },
  events: readonly CloudEvent[],
  refresh: boolean,
): Promise<{ text: string; retryAfterMs?: number } | undefined> {
  let secret: Awaited<ReturnType<typeof loadSinkSecret>>;
  try {
    // After a failure the secret is read again: someone may have fixed or rotated it.
    secret = await loadSinkSecret(deps.secrets, sink, sinkConfig.type, sinkConfig.secret, { refresh });
  } catch (error) {
    if (error instanceof SinkSecretError) return { text: error.message };
    return { text: `secret unreadable: ${redact(String(error))}` };
  }
  const adapter = SINK_ADAPTERS[sinkConfig.type];
  const request = adapter.build({
    events,
    message: messageOf(events, { config: deps.config }),
    secret,
    signingNow: (deps.signingNow ?? Date.now)(),
  });
  const outcome = await deps.poster.post(request);
  if ('error' in outcome) return { text: outcome.error };
  const verdict = adapter.judge(outcome.answer);
  if (verdict.ok) return undefined;
  return {
    text: verdict.problem,
    ...(verdict.retryAfterMs === undefined ? {} : { retryAfterMs: verdict.retryAfterMs }),
  };
}
