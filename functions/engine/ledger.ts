import { createHash, randomBytes } from 'node:crypto';
import type { TargetConfig } from './config/schema.ts';
import type { ActionResult } from './executor.ts';
import type { MonthSummary } from './held-off.ts';
import type { Action } from './kinds.ts';
import type { Override } from './overrides.ts';
import type { ObservationQuery, ObservedMark, OverrideSpan } from './savings.ts';
import type { TargetState } from './states.ts';

/** One occurrence of a schedule's action for one target: the unit of "at most once". */
export interface OccurrenceKey {
  schedule: string;
  action: Action;
  /** The scheduled instant, UTC ISO 8601 whole minute. */
  at: string;
  target: string;
}

export type Trigger = 'tick' | 'http' | 'cli';

/** A new unique id for an entry or a call: 16 random bytes, URL-safe. */
export function newId(): string {
  return randomBytes(16).toString('base64url');
}

/**
 * The id of an entry written before entries had ids: derived from its text, so it is the same at
 * every read.
 */
export function legacyEntryId(line: string): string {
  return `legacy-${createHash('sha256').update(line).digest('base64url').slice(0, 22)}`;
}

/** One line of history: an action carried out (or missed, or found unneeded) and its result. */
export interface HistoryEntry {
  /**
   * Unique and stable: an event made from the entry carries it, so receivers deduplicate by it.
   * The entry of a call is the call's own id, whoever records it (the caller, or a later look
   * that resolves a call whose process stopped), so a call never gets two entries.
   */
  id: string;
  recordedAt: string;
  /** For the entry of a call: when the call was sent (the same for its caller and a resolver). */
  startedAt?: string;
  trigger: Trigger;
  schedule?: string;
  /** The override whose state was being reached. */
  override?: string;
  /** For scheduled actions: the instant the action was due (the edge). */
  scheduledAt?: string;
  /** Fired more than a minute after it was due (catch-up, redelivery). */
  late?: boolean;
  /** With `reconcile: "enforce"`: the target had drifted from a state it had reached. */
  drift?: boolean;
  reason?: string;
  requestId?: string;
  result: ActionResult;
}

/**
 * A call about to be sent, or sent and not yet recorded: written with the lease just before the
 * call goes out, so that if its process stops, the next look resolves it by status, judged
 * against what this call wanted.
 */
export interface InFlight {
  /** The call's id, which is also the id of its one history entry. */
  id: string;
  action: Action;
  /** The state this call wants. */
  want: TargetState;
  trigger: Trigger;
  /** For a scheduled call: the desired state's edge and its schedule or override id. */
  since?: string;
  because?: string;
  /** `because` is an override id. */
  override?: boolean;
  /** For a DRS end: the edge it ends the job at. */
  occurrence?: string;
  drift?: boolean;
  /** Made while the status could not be read: its answer is the outcome. */
  blind?: boolean;
  /** The try within its desired state (1 for the first call). */
  attempt: number;
  startedAt: string;
  owner: string;
  /** The target as configured when the call was made: a later config change is a new target. */
  ref?: TargetConfig;
  /** On demand: the request and its reason. */
  requestId?: string;
  reason?: string;
  /**
   * The ledger keeps a mark of this call's sending (`Ledger.markSending`): if its process is
   * gone and there is no mark, the call was never sent. Absent: whether it was sent is unknown.
   */
  marked?: boolean;
}

/** A call whose history entry is looked for (`Ledger.recordedEntries`). */
export interface RecordedCall {
  target: string;
  id: string;
  /** When it was started (`InFlight.startedAt`): its entry carries the same `startedAt`. */
  startedAt: string;
}

/** A call, for the marks of its sending: the target it acts on, its id and who sends it. */
export interface SendingCall {
  target: string;
  id: string;
  /** The owner of its lease and in-flight record (`InFlight.owner`). */
  owner: string;
}

/**
 * What the ledger knows about one target: the desired state it is bringing the target to, how
 * far it got, and the lease that lets one process at a time act on it. Written with
 * compare-and-set on `version`, so processes and Lambda containers never act on one target at
 * once, and a new one continues where the last left off.
 */
export interface TargetRecord {
  target: string;
  /** 1 for the first write; each write must name the version it replaces. */
  version: number;
  /** What the record is about upstream (kind, project, ids): a change of it is a new target. */
  identity?: string;
  /** The target's config as a hash: a change starts the desired state afresh. */
  configHash?: string;
  desired?: TargetState | 'hands-off';
  since?: string;
  /** The schedule id, or the override id when `override` is set. */
  because?: string;
  override?: boolean;
  /** The desired state was observed (or, for kinds without a status query, the call succeeded). */
  reached: boolean;
  /** The state cannot be reached (e.g. the DRS job has ended): no retry until a new edge. */
  final?: boolean;
  /** Looks that did not reach the state, for the backoff (reset by a new desired state). */
  tries: number;
  /** State-changing calls made for this desired state. */
  calls?: number;
  /** The status could not be read for this desired state: one call, its answer the outcome. */
  blind?: boolean;
  /** A call made for this desired state was answered ok (whether or not a read verified it). */
  answeredOk?: boolean;
  lastCheckAt?: string;
  nextCheckAt?: string;
  /** The upstream status text last read; null when the read failed. */
  observed?: string | null;
  lastAttemptAt?: string;
  /** The last call's outcome, for status views. */
  lastOutcome?: { at: string; action: Action; status: string; errorCode?: string };
  /** The edge of the last DRS end handled (carried out, skipped or missed): each happens once. */
  lastEnd?: string;
  /**
   * A DRS end a look saw due and has not handled yet: a pass cut short before its call was sent
   * (the deadline, an override arriving) leaves it here for the next pass, within the lateness
   * bound, until `lastEnd` reaches it.
   */
  endDue?: { at: string; schedule: string };
  /**
   * The latest minute a scheduled pass evaluated when it wrote this record. A pass evaluating an
   * earlier one (a slower process, a clock a little behind, a redelivered tick) is behind it and
   * changes nothing: acting on its older edge would undo what the later pass did.
   */
  evaluatedAt?: string;
  /** While held by a live owner, nobody else reads or acts on the target. */
  lease?: { owner: string; until: string };
  /** A call made and not yet recorded: if its process stops, the next look resolves it by status. */
  inFlight?: InFlight;
}

/** Which history entries to read. */
export interface HistoryQuery {
  limit?: number;
  /** Only entries about this target. */
  target?: string;
  /** Only entries recorded at or after this instant (ms). */
  since?: number;
}

/** The answer of an HTTP request, kept for repeats with the same `Idempotency-Key`. */
export interface StoredAnswer {
  status: number;
  body: string;
}

export interface IdempotencyOptions {
  /**
   * How long a started request holds its key: just beyond the request's deadline (the api
   * Lambda's timeout), so a request that died in flight frees its key soon, not after a day.
   * Default `DEFAULT_IN_PROGRESS_MS`.
   */
  inProgressMs?: number;
}

export const DEFAULT_IN_PROGRESS_MS = 60_000;

export type IdempotencyBegin =
  | { kind: 'started' }
  | { kind: 'replay'; answer: StoredAnswer }
  | { kind: 'in-progress' }
  | { kind: 'mismatch' };

/** What the ledger knew of a request signature when it was remembered. */
export type SignatureMemory = { seen: false } | { seen: true; idempotencyKey?: string };

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
  /** The records of these targets (absent: never seen). */
  targets(names: readonly string[]): Promise<Map<string, TargetRecord>>;
  /**
   * Writes a target's record if the stored one is still `record.version - 1` (absent for
   * version 1); `false` when another writer got there first.
   */
  putTarget(record: TargetRecord): Promise<boolean>;
  /** The most recent entries (of one target, recorded at or after `since`), oldest first. */
  history(options?: HistoryQuery): Promise<HistoryEntry[]>;
  /**
   * The entries already recorded for these calls, by call id (absent: none yet). One lookup for
   * many calls: a pass asks it for every call it resolves, so it must not cost a history query
   * per call.
   */
  recordedEntries(calls: readonly RecordedCall[]): Promise<Map<string, HistoryEntry>>;
  /**
   * Notes that these calls are being sent, synchronously, at the last moment before their
   * request is written to the connection (never before the call's in-flight record). It may
   * throw: then the request is not sent. Only a ledger whose processes can stop between the
   * in-flight record and the request (`serve`, killed) keeps these marks: with them, a call whose
   * process stopped without a mark is known never to have been sent, and gets no entry.
   */
  markSending?(calls: readonly SendingCall[]): void;
  /** Whether the sending of a call was marked (see `markSending`). */
  sendingMarked?(call: SendingCall): Promise<boolean>;
  /** Starts an idempotent request, or finds the first answer to it. */
  beginIdempotent(key: string, fingerprint: string, options?: IdempotencyOptions): Promise<IdempotencyBegin>;
  /** Keeps the answer for repeats (a day); a store with a size limit keeps large ones safely. */
  completeIdempotent(key: string, answer: StoredAnswer): Promise<void>;
  /**
   * Releases a key whose request failed inside Nightshift before any upstream call, so a retry
   * can run. Never called once upstream was called: a retry would act twice.
   */
  abandonIdempotent(key: string): Promise<void>;

  /**
   * Remembers an HTTP request signature until `expiresAt` (ms) so a replay within the signing
   * window is refused, by whichever process or container receives it. Exactly one caller of
   * many with the same signature gets `seen: false`; the others learn the Idempotency-Key the
   * first carried, so a retry with that same key can get the first answer.
   */
  rememberSignature(
    signature: string,
    options: { idempotencyKey?: string; expiresAt: number },
  ): Promise<SignatureMemory>;

  // ---- overrides ----
  /** Stores a new override, visible at once to every process and container sharing the ledger. */
  putOverride(override: Override): Promise<void>;
  /** Overrides not yet ended at `now` (active and future); ended ones are forgotten. */
  overrides(now: number): Promise<Override[]>;
  /** Removes an override; the removed one, or `undefined` when there is none with that id. */
  removeOverride(id: string): Promise<Override | undefined>;

  // ---- savings (engine/savings.ts): kept beside the history, which rotates or expires ----
  /**
   * Keeps observed states, compactly, for as long as the ledger lives. `record` keeps those its
   * entries carry (before writing them); a look that observes a state without an entry may too.
   */
  recordObservations(marks: readonly ObservedMark[]): Promise<void>;
  /** Per target, the marks in `[from, to)` and the latest before `from` (a year back at most). */
  observations(query: ObservationQuery): Promise<ObservedMark[]>;
  /** The marks of the targets wanted in one UTC month (`YYYY-MM`), in the order written. */
  observedMonth(month: string, targets: ReadonlySet<string>): Promise<ObservedMark[]>;
  /**
   * `summarizeMonth` (engine/held-off.ts) of one month's marks, for the targets wanted that have
   * any: what held off reads of a month a report covers whole. Kept beside the marks where the
   * ledger can keep it current, else made from them; the same figures either way.
   */
  observedMonthSummary(month: string, targets: ReadonlySet<string>): Promise<Map<string, MonthSummary>>;
  /**
   * Overrides that overlapped `[from, to)`, ended or removed ones included: `putOverride` and
   * `removeOverride` keep them for savings.
   */
  overridesBetween(from: number, to: number): Promise<OverrideSpan[]>;
  // ---- page sessions and sign-in links (the page, functions/page/) ----
  /** Stores a signed-in browser's session until its `expiresAt`, for every process and container. */
  putSession(session: PageSession): Promise<void>;
  /** The session with this cookie hash, unless absent or expired at `now` (ms). */
  session(idHash: string, now: number): Promise<PageSession | undefined>;
  /** Ends a session (sign-out); nothing happens when there is none. */
  removeSession(idHash: string): Promise<void>;
  /**
   * Marks a sign-in link used, remembered until `expiresAt` (ms, the link's own expiry: after it
   * the link is refused anyway). Exactly one caller of many, in any process, gets `true`.
   */
  useSignInLink(linkHash: string, expiresAt: number): Promise<boolean>;
  /** Whether a sign-in link was already used (and is still remembered at `now`). */
  signInLinkUsed(linkHash: string, now: number): Promise<boolean>;
}

// ---- page sessions (functions/page/) ----

export type PageScope = 'read' | 'write';

/** A signed-in browser: what the page's session cookie stands for. */
export interface PageSession {
  /** SHA-256 (hex) of the cookie value: the ledger never holds a cookie anyone could present. */
  idHash: string;
  /** `read` sees everything and changes nothing; `write` may create and remove overrides. */
  scope: PageScope;
  /** Who signed in, as the sign-in link names them: recorded as `createdBy` of their overrides. */
  name: string;
  createdAt: string;
  /** UTC ISO 8601: the session is refused from then on. */
  expiresAt: string;
}
