import type { ActionResult } from './executor.ts';
import type { Action } from './kinds.ts';

/** One occurrence of a schedule's action for one target: the unit of "at most once". */
export interface OccurrenceKey {
  schedule: string;
  action: Action;
  /** The scheduled instant, UTC ISO 8601 whole minute. */
  at: string;
  target: string;
}

export type Trigger = 'tick' | 'http' | 'cli';

/** One line of history: an action carried out (or missed) and its result. */
export interface HistoryEntry {
  recordedAt: string;
  trigger: Trigger;
  schedule?: string;
  /** For scheduled actions: the instant the action was due. */
  scheduledAt?: string;
  /** Fired more than a minute after it was due (catch-up, redelivery). */
  late?: boolean;
  reason?: string;
  requestId?: string;
  result: ActionResult;
}

/** The answer of an HTTP request, kept for repeats with the same `Idempotency-Key`. */
export interface StoredAnswer {
  status: number;
  body: string;
}

export type IdempotencyBegin =
  | { kind: 'started' }
  | { kind: 'replay'; answer: StoredAnswer }
  | { kind: 'in-progress' }
  | { kind: 'mismatch' };

/**
 * What Nightshift has done and is doing: the claims that make each occurrence happen at most
 * once, the history, and the answers to idempotent HTTP requests. Implemented on local files and
 * on DynamoDB.
 */
export interface Ledger {
  /**
   * Claims an occurrence. Exactly one caller gets `true`, whatever the number of processes and
   * deliveries; only that caller may carry the occurrence out.
   */
  claim(key: OccurrenceKey): Promise<boolean>;
  record(entries: readonly HistoryEntry[]): Promise<void>;
  /** The most recent entries, oldest first. */
  history(options?: { limit?: number }): Promise<HistoryEntry[]>;
  /** Starts an idempotent request, or finds the first answer to it. */
  beginIdempotent(key: string, fingerprint: string): Promise<IdempotencyBegin>;
  completeIdempotent(key: string, answer: StoredAnswer): Promise<void>;
  /** Releases a key whose request failed inside Nightshift, so a retry can run. */
  abandonIdempotent(key: string): Promise<void>;
}
