import type { Config } from './config/schema.ts';
import {
  activeOverride,
  type Decision,
  type Desired,
  decide,
  desiredOf,
  type OverrideRule,
  policyOf,
  retryDelayMs,
  scheduleById,
} from './decision.ts';
import { latestEdges } from './desired.ts';
import { ErrorCode } from './error-codes.ts';
import { type ActionResult, execute, type TargetRef, type Upstream } from './executor.ts';
import type { Action } from './kinds.ts';
import { type HistoryEntry, type Ledger, newId, type TargetRecord, type Trigger } from './ledger.ts';
import { due } from './planner.ts';
import { actionToward, type StatusRead, type TargetState } from './states.ts';
import { judged } from './verify.ts';

const MINUTE = 60_000;
/** An edge acted on more than this after its instant is marked late in the history. */
const LATE_AFTER_MS = MINUTE;

export interface ReconcileOptions {
  config: Config;
  /** DRS stops whose edge falls in `(from, to]` are carried out (once) by this tick. */
  from: number;
  /** Default `now`. */
  to?: number;
  /** The instant evaluated: desired states are those in force now. */
  now: number;
  ledger: Ledger;
  upstream: Upstream;
  /** Who acts: leases name it, so that one process or container at a time works on a target. */
  owner: string;
  overrides?: readonly OverrideRule[];
  /** A DRS stop due longer ago than this is recorded as missed, not carried out. */
  maxLatenessMs: number;
  /**
   * Real milliseconds left before the caller must return (a Lambda's remaining time). No call
   * is started, and no answer waited for, past it; what is left is picked up by the next tick.
   */
  remainingMs?: () => number;
  /** How long (clock ms) a lease keeps others off a target; past it a stalled owner is overtaken. */
  leaseMs?: number;
  /** Whether a lease's owner is known to have stopped (a local process that no longer runs). */
  isOwnerGone?: (owner: string) => boolean;
  trigger?: Trigger;
  onEntry?: (entry: HistoryEntry) => void;
  /** Ledger failures (loud: without a record, nothing is done). */
  onLedgerError?: (error: unknown, target: string) => void;
  /** Things a person should fix that are not outcomes of a call (e.g. a status read refused). */
  onWarning?: (warning: ReconcileWarning) => void;
}

/** A condition a person should fix, found while reconciling; logged, counted and sent as an event. */
export interface ReconcileWarning {
  /** e.g. `status.unreadable` */
  code: string;
  target: string;
  message: string;
  /** For `status.unreadable`: the IAM permission to grant so the status can be read. */
  permission?: string;
}

export interface ReconcileSummary {
  from: string;
  to: string;
  /** Targets with a desired state now. */
  targets: number;
  /** Targets whose status was read (or, without a status query, acted on). */
  looked: number;
  unchanged: number;
  /** Action calls made. */
  acted: number;
  succeeded: number;
  failed: number;
  /** Transitions under way, looked at again later. */
  pending: number;
  /** Desired states superseded before they were reached, and DRS stops past the lateness bound. */
  missed: number;
  /** Targets another process or container was working on. */
  contended: number;
  /** Targets left for the next tick because the deadline came. */
  deferred: number;
  /** Targets left alone because the ledger could not record. */
  ledgerErrors: number;
  entries: HistoryEntry[];
  warnings: ReconcileWarning[];
}

interface Work {
  name: string;
  ref: TargetRef;
  desired: Desired;
  record: TargetRecord;
  decision: Decision;
  read?: StatusRead | null;
  action?: Action;
  /** The call's own result, before verification. */
  result?: ActionResult;
  verify?: StatusRead | null;
}

const DEFAULT_LEASE_MS = 5 * MINUTE;
/**
 * Targets looked at together (one DRS status call holds 100); slices run concurrently, so one
 * slice's ledger writes overlap another's upstream calls.
 */
const SLICE = 100;
/**
 * Two slices at a time keep the upstream bound (16 calls per account) busy while the other
 * slice's ledger writes run, instead of every slice reading at once and writing at the end.
 */
const SLICES_AT_ONCE = 2;

/** Runs `work` over the items, at most `size` at a time. */
async function inPool<T>(items: readonly T[], size: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await work(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(size, items.length) }, worker));
}
/** Time kept back from the deadline for writing the record of what was done. */
const RESERVE_MS = 1_000;

/**
 * One reconciliation pass: brings every target to the state its schedules (and overrides) say.
 * For each target that needs looking at: take its lease, read its status, make at most one call
 * (recorded as in flight before it is made), read the status again, and record the outcome in
 * the history and the target's record. Unreached states are tried again with backoff; a call
 * whose outcome was never recorded (a process killed, a deadline) is resolved by a status read.
 */
export async function reconcile(options: ReconcileOptions): Promise<ReconcileSummary> {
  const { now } = options;
  const summary: ReconcileSummary = {
    from: new Date(options.from).toISOString(),
    to: new Date(options.to ?? now).toISOString(),
    targets: 0,
    looked: 0,
    unchanged: 0,
    acted: 0,
    succeeded: 0,
    failed: 0,
    pending: 0,
    missed: 0,
    contended: 0,
    deferred: 0,
    ledgerErrors: 0,
    entries: [],
    warnings: [],
  };
  const pass = new Pass(options, summary);
  const oneShots: HistoryEntry[] = [];
  await pass.endDrsJobs(oneShots);
  await pass.recordOutcomes(oneShots, []);
  // Targets go through in slices, each slice's ledger writes overlapping the others' calls.
  const candidates = await pass.candidates();
  const slices: Work[][] = [];
  for (let i = 0; i < candidates.length; i += SLICE) slices.push(candidates.slice(i, i + SLICE));
  await inPool(slices, SLICES_AT_ONCE, async (slice) => {
    const entries: HistoryEntry[] = [];
    const done = await pass.lookAndAct(slice, entries);
    for (const work of done) {
      const entry = outcomeEntry(work, now, pass.trigger);
      if (entry) entries.push(entry);
    }
    await pass.recordOutcomes(entries, done);
  });
  return summary;
}

/** The state of one reconciliation pass. */
class Pass {
  readonly trigger: Trigger;
  private readonly remaining: () => number;
  private readonly at: string;

  constructor(
    private readonly options: ReconcileOptions,
    private readonly summary: ReconcileSummary,
  ) {
    this.trigger = options.trigger ?? 'tick';
    this.remaining = options.remainingMs ?? (() => Number.POSITIVE_INFINITY);
    this.at = new Date(options.now).toISOString();
  }

  ledgerFailed(error: unknown, target: string): void {
    this.summary.ledgerErrors += 1;
    this.options.onLedgerError?.(error, target);
  }

  /**
   * History first, then each target's record (which clears the call in flight): if the history
   * cannot be written, the records keep the call in flight and the next look resolves it.
   */
  async recordOutcomes(entries: readonly HistoryEntry[], done: readonly Work[]): Promise<void> {
    let written = true;
    try {
      if (entries.length > 0) await this.options.ledger.record(entries);
    } catch (error) {
      written = false;
      this.ledgerFailed(error, '(history)');
    }
    if (written) await Promise.all(done.map((work) => this.write(finalRecord(work, this.options.now))));
    // Logged and counted even when the history could not be written: what was done is known.
    for (const entry of entries) {
      this.summary.entries.push(entry);
      count(this.summary, entry);
      this.options.onEntry?.(entry);
    }
  }

  /** A compare-and-set of a target's record; a ledger failure counts, and nothing is done. */
  async write(record: TargetRecord): Promise<'written' | 'lost' | 'error'> {
    try {
      return (await this.options.ledger.putTarget(record)) ? 'written' : 'lost';
    } catch (error) {
      this.ledgerFailed(error, record.target);
      return 'error';
    }
  }

  get leaseMs(): number {
    return this.options.leaseMs ?? DEFAULT_LEASE_MS;
  }

  private timeLeft(): boolean {
    return this.remaining() > RESERVE_MS * 2;
  }

  /** Looks at the targets that need it and makes at most one call each; the works looked at. */
  /**
   * Reads the status of the candidates, then settles each with one compare-and-set on its
   * record: a target found in state (or pending, or unreachable) is recorded at once; one to act
   * on gets the lease and its call in flight in the same write, so of two processes looking at
   * once exactly one acts, and the other drops it. The works that made a call are returned, to be
   * verified and recorded; the others are recorded here.
   */
  async lookAndAct(candidates: readonly Work[], entries: HistoryEntry[]): Promise<Work[]> {
    const { options, summary } = this;
    if (candidates.length === 0) return [];
    if (!this.timeLeft()) {
      summary.deferred += candidates.length;
      return [];
    }
    const reads = await within(
      options.upstream.observe(candidates.map((w) => w.ref)),
      this.remaining() - RESERVE_MS,
    );
    if (!reads) {
      summary.deferred += candidates.length;
      return [];
    }
    const toAct: Work[] = [];
    const settled: Work[] = [];
    for (const [i, work] of candidates.entries()) {
      work.read = reads[i]!;
      const { fresh } = work.decision;
      work.decision = {
        ...decide({ ...this.decisionInput(work.name, work.desired, work.record), read: work.read }),
        fresh,
      };
      if (work.decision.outcome === 'act') {
        work.action = work.decision.action!;
        toAct.push(work);
      } else settled.push(work);
    }

    // Found in state, pending or unreachable: one write records it, and only its winner reports.
    const settledEntries: HistoryEntry[] = [];
    await Promise.all(
      settled.map(async (work) => {
        const written = await this.write(finalRecord(work, options.now));
        if (written === 'lost') summary.contended += 1;
        if (written !== 'written') return;
        summary.looked += 1;
        if (work.decision.outcome === 'pending') summary.pending += 1;
        settledEntries.push(...this.lookEntries(work));
        const entry = outcomeEntry(work, options.now, this.trigger);
        if (entry) settledEntries.push(entry);
      }),
    );
    await this.recordOutcomes(settledEntries, []);
    if (toAct.length === 0) return [];
    if (!this.timeLeft()) {
      summary.deferred += toAct.length;
      return [];
    }

    // The lease and the call in flight go in one write before the call: without it, no call.
    const acting: Work[] = [];
    await Promise.all(
      toAct.map(async (work) => {
        const next: TargetRecord = {
          ...afterLook(work),
          version: work.record.version + 1,
          lease: { owner: options.owner, until: new Date(options.now + this.leaseMs).toISOString() },
          inFlight: {
            action: work.action!,
            attempt: work.decision.fresh ? 1 : work.record.tries + 1,
            startedAt: this.at,
            owner: options.owner,
          },
          lastAttemptAt: this.at,
        };
        const written = await this.write(next);
        if (written === 'lost') summary.contended += 1;
        if (written !== 'written') return;
        summary.looked += 1;
        entries.push(...this.lookEntries(work));
        work.record = next;
        acting.push(work);
      }),
    );
    if (acting.length === 0) return [];
    const results = await within(
      execute(
        options.config,
        acting.map((w) => ({ target: w.name, action: w.action! })),
        { upstream: options.upstream },
      ),
      this.remaining() - RESERVE_MS,
    );
    if (!results) {
      // The calls may still land: their records keep them in flight until a status read settles them.
      summary.deferred += acting.length;
      return [];
    }
    summary.acted += acting.length;
    acting.forEach((work, i) => {
      work.result = results[i]!;
    });
    // Read the status again: did the call reach the state?
    const verifies = await within(
      options.upstream.observe(acting.map((w) => w.ref)),
      this.remaining() - RESERVE_MS,
    );
    if (verifies)
      acting.forEach((work, i) => {
        work.verify = verifies[i]!;
      });
    return acting;
  }

  /** Entries a look owes before its outcome: a state it supersedes, a call it resolves. */
  private lookEntries(work: Work): HistoryEntry[] {
    const out: HistoryEntry[] = [];
    const original = work.record;
    if (work.decision.fresh && isSuperseded(original))
      out.push(supersededEntry(this.options.config, original, work.desired, this.at, this.trigger));
    if (original.inFlight) out.push(resolvedEntry(work, this.at, this.trigger));
    return out;
  }

  private decisionInput(name: string, desired: Desired, record: TargetRecord | undefined) {
    const { config, now, owner } = this.options;
    return {
      target: name,
      kind: config.targets[name]!.kind,
      desired,
      policy: policyOf(config, name, desired),
      record,
      now,
      owner,
    };
  }

  /** The targets with a desired state that need a look now. */
  async candidates(): Promise<Work[]> {
    const { config, now } = this.options;
    const edges = latestEdges(config, now);
    const overrides = this.options.overrides ?? [];
    const desiredByTarget = new Map<string, Desired>();
    for (const name of Object.keys(config.targets)) {
      const desired = desiredOf(name, edges.get(name), overrides, now);
      if (desired) desiredByTarget.set(name, desired);
    }
    this.summary.targets = desiredByTarget.size;
    if (desiredByTarget.size === 0) return [];
    const records = await this.options.ledger.targets([...desiredByTarget.keys()]);
    const candidates: Work[] = [];
    for (const [name, desired] of desiredByTarget) {
      const stored = withoutVoidLease(records.get(name), this.options.isOwnerGone);
      const decision = decide(this.decisionInput(name, desired, stored));
      if (decision.outcome !== 'look') continue;
      const target = config.targets[name]!;
      candidates.push({
        name,
        ref: {
          target: name,
          config: target,
          account: { name: target.account, config: config.accounts[target.account]! },
        },
        desired,
        record: stored ?? { target: name, version: 0, reached: false, tries: 0 },
        decision,
      });
    }
    return candidates;
  }

  /**
   * DRS stops at their edges: ending a job is never a state to hold, so it happens once, at its
   * edge (claimed per occurrence in the ledger), is never retried, and past the lateness bound
   * is recorded as missed.
   */
  async endDrsJobs(entries: HistoryEntry[]): Promise<void> {
    const { config, from, now, ledger } = this.options;
    for (const row of due(config, from, this.options.to ?? now)) {
      if (row.action !== 'stop') continue;
      for (const target of row.targets) {
        if (config.targets[target]?.kind !== 'drs-job') continue;
        if (!(await ledger.claim({ schedule: row.schedule, action: 'stop', at: row.at, target }))) continue;
        const lateness = now - Date.parse(row.at);
        const base = {
          id: newId(),
          recordedAt: this.at,
          trigger: this.trigger,
          schedule: row.schedule,
          scheduledAt: row.at,
        };
        // An override beats every schedule, a DRS end included; hands-off means no call at all.
        const override = activeOverride(this.options.overrides ?? [], target, Date.parse(row.at));
        if (override) {
          entries.push({
            ...base,
            override: override.id,
            reason: `override ${override.id} (${override.state}) is in force: the DRS stop is not carried out`,
            result: {
              target,
              kind: 'drs-job',
              action: 'stop',
              ok: true,
              status: 'skipped',
              attempts: 0,
              durationMs: 0,
            },
          });
          continue;
        }
        if (lateness > this.options.maxLatenessMs) {
          entries.push({ ...base, late: true, result: missedStop(target, row.at, lateness) });
          continue;
        }
        const [result] = await execute(config, [{ target, action: 'stop' }], {
          upstream: this.options.upstream,
        });
        this.summary.acted += 1;
        entries.push({
          ...base,
          ...(lateness > LATE_AFTER_MS ? { late: true } : {}),
          result: result!,
        });
      }
    }
  }
}

/** The record as the decision sees it: the lease of an owner that has stopped counts for nothing. */
function withoutVoidLease(
  record: TargetRecord | undefined,
  isOwnerGone: ((owner: string) => boolean) | undefined,
): TargetRecord | undefined {
  if (!record?.lease || !isOwnerGone?.(record.lease.owner)) return record;
  return { ...record, lease: undefined };
}

/** A desired state given up before it was reached: recorded as missed when a newer one replaces it. */
function isSuperseded(record: TargetRecord): boolean {
  return (
    record.desired !== undefined &&
    record.desired !== 'hands-off' &&
    record.desired !== 'ended' &&
    !record.reached &&
    !record.final &&
    record.inFlight === undefined
  );
}

function missedStop(target: string, at: string, lateness: number): ActionResult {
  return {
    target,
    kind: 'drs-job',
    action: 'stop',
    ok: false,
    status: 'skipped',
    errorCode: ErrorCode.missed,
    errorMessage: `missed: the DRS stop was due at ${at}, ${Math.round(lateness / MINUTE)} min before it could run, beyond the lateness bound; a job is never ended late`,
    attempts: 0,
    durationMs: 0,
  };
}

function count(summary: ReconcileSummary, entry: HistoryEntry): void {
  const { result } = entry;
  if (result.errorCode === ErrorCode.missed) summary.missed += 1;
  else if (result.status === 'unchanged') summary.unchanged += 1;
  else if (result.ok) summary.succeeded += 1;
  else summary.failed += 1;
}

/** Waits for a promise at most `ms` real milliseconds; `undefined` when time ran out. */
async function within<T>(promise: Promise<T>, ms: number): Promise<T | undefined> {
  if (ms === Number.POSITIVE_INFINITY) return promise;
  if (ms <= 0) return undefined;
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => resolve(undefined), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

function observedText(read: StatusRead | null | undefined): string | null | undefined {
  if (read === undefined || read === null) return undefined;
  return read.observation ? read.observation.text : null;
}

function baseEntry(work: Work, at: string, trigger: Trigger): Omit<HistoryEntry, 'result'> {
  const { desired } = work;
  return {
    id: newId(),
    recordedAt: at,
    trigger,
    ...(desired.override ? { override: desired.override } : { schedule: desired.because }),
    scheduledAt: desired.since,
  };
}

function resultOf(
  work: Work,
  fields: Partial<ActionResult> & Pick<ActionResult, 'ok' | 'status'>,
): ActionResult {
  const kind = work.ref.config.kind;
  const observed = observedText(work.verify ?? work.read);
  return {
    target: work.name,
    kind,
    action:
      work.action ?? actionToward(kind, work.desired.state as TargetState) ?? work.desired.action ?? 'stop',
    attempts: 0,
    durationMs: 0,
    desired: work.desired.state as TargetState,
    ...(observed === undefined ? {} : { observed }),
    ...fields,
  };
}

/** The history entry of a look: the call and its verification, or why no call was made. */
function outcomeEntry(work: Work, now: number, trigger: Trigger): HistoryEntry | undefined {
  const at = new Date(now).toISOString();
  const { decision, record } = work;
  const late = decision.fresh && now - Date.parse(work.desired.since) > LATE_AFTER_MS ? { late: true } : {};
  const drift = decision.drift ? { drift: true } : {};
  const base = { ...baseEntry(work, at, trigger), ...late, ...drift, reason: decision.reason };
  switch (decision.outcome) {
    case 'unchanged':
      // A look that finds the state held is history only when something was at stake: a new
      // edge, or a state not yet known to be reached.
      // A resolved call already has its entry, which says what the status showed.
      if (decision.resolve || (!decision.fresh && record.reached)) return undefined;
      return { ...base, result: resultOf(work, { ok: true, status: 'unchanged' }) };
    case 'pending':
      return undefined;
    case 'impossible':
      return {
        ...base,
        result: resultOf(work, {
          ok: false,
          status: 'failed',
          errorCode: ErrorCode.unreachable,
          errorMessage: `${work.name}: ${decision.reason}`,
        }),
      };
    case 'act': {
      const { result, answerLost } = judged(work.result!, work.verify, work.desired.state as TargetState);
      return {
        ...base,
        ...(answerLost
          ? {
              reason: `${decision.reason}; the call's answer was lost (${work.result!.errorCode}), the status read shows ${work.desired.state}`,
            }
          : {}),
        result,
      };
    }
    default:
      return undefined;
  }
}

/** A call whose process stopped before recording it: its outcome, from the status now. */
function resolvedEntry(work: Work, at: string, trigger: Trigger): HistoryEntry {
  const inFlight = work.record.inFlight!;
  const observation = work.read?.observation;
  const reached = observation?.state === work.desired.state;
  const seen = observation ? observation.text : work.read === null ? 'no status query' : 'status unreadable';
  return {
    ...baseEntry(work, at, trigger),
    reason: `the ${inFlight.action} made at ${inFlight.startedAt} by ${inFlight.owner} was never recorded; resolved by status: ${seen}`,
    result: {
      target: work.name,
      kind: work.ref.config.kind,
      action: inFlight.action,
      ok: reached,
      status: reached ? 'succeeded' : 'failed',
      ...(reached
        ? {}
        : {
            errorCode: ErrorCode.outcomeUnknown,
            errorMessage: `${work.name}: the outcome of ${inFlight.action} was never recorded and the status (${seen}) does not show ${work.desired.state}`,
          }),
      attempts: 1,
      durationMs: 0,
      desired: work.desired.state as TargetState,
      verified: reached,
      ...(work.read ? { observed: work.read.observation?.text ?? null } : {}),
    },
  };
}

function supersededEntry(
  config: Config,
  record: TargetRecord,
  desired: Desired,
  at: string,
  trigger: Trigger,
): HistoryEntry {
  const kind = config.targets[record.target]!.kind;
  const state = record.desired as TargetState;
  return {
    id: newId(),
    recordedAt: at,
    trigger,
    ...(scheduleById(config, record.because!)
      ? { schedule: record.because! }
      : { override: record.because! }),
    ...(record.since ? { scheduledAt: record.since } : {}),
    reason: `superseded by ${desired.state} (${desired.because}, ${desired.since}) before ${state} was reached`,
    result: {
      target: record.target,
      kind,
      action: actionToward(kind, state) ?? 'stop',
      ok: false,
      status: 'skipped',
      errorCode: ErrorCode.missed,
      errorMessage: `missed: ${record.target} never reached ${state} (last seen ${record.observed ?? 'unknown'}) before a newer desired state replaced it`,
      attempts: record.tries,
      durationMs: 0,
      desired: state,
      ...(record.observed === undefined ? {} : { observed: record.observed }),
    },
  };
}

/**
 * The record as a look leaves it before its outcome: a new desired state starts afresh, and a
 * lease or call in flight it took over (resolved by its status read) is gone.
 */
function afterLook(work: Work): TargetRecord {
  const { record, desired } = work;
  return {
    ...record,
    lease: undefined,
    inFlight: undefined,
    ...(work.decision.fresh
      ? {
          desired: desired.state,
          since: desired.since,
          because: desired.because,
          reached: false,
          final: false,
          tries: 0,
          nextCheckAt: undefined,
        }
      : {}),
  };
}

/** The record after a look: reached or not, when to look again, lease and call in flight cleared. */
function finalRecord(work: Work, now: number): TargetRecord {
  const { decision, record } = work;
  const at = new Date(now).toISOString();
  const read = work.verify ?? work.read;
  const observed = observedText(read);
  const base: TargetRecord = {
    ...afterLook(work),
    version: record.version + 1,
    lastCheckAt: at,
    ...(observed === undefined ? {} : { observed }),
  };
  const retry = (tries: number): TargetRecord => ({
    ...base,
    reached: false,
    tries,
    nextCheckAt: new Date(now + retryDelayMs(tries)).toISOString(),
  });
  switch (decision.outcome) {
    case 'unchanged':
      return { ...base, reached: true, tries: 0, nextCheckAt: undefined };
    case 'pending':
      return retry(record.tries + 1);
    case 'impossible':
      return { ...base, reached: false, final: true };
    case 'act': {
      const observation = work.verify?.observation;
      const reached =
        observation?.state === work.desired.state || (work.verify === null && work.result?.ok === true);
      return reached ? { ...base, reached: true, tries: 0, nextCheckAt: undefined } : retry(record.tries + 1);
    }
    default:
      return base;
  }
}
