import type { Config, TargetConfig } from './config/schema.ts';
import { activeOverride, type Desired, desiredOf, type OverrideRule, policyOf } from './decision.ts';
import { latestEdges } from './desired.ts';
import { ErrorCode } from './error-codes.ts';
import { type ActionResult, resultOf, type TargetRef, type Upstream, type UpstreamItem } from './executor.ts';
import { recordedOutcomes, withdrawInFlight } from './in-flight.ts';
import type { HistoryEntry, Ledger, TargetRecord, Trigger } from './ledger.ts';
import { due } from './planner.ts';
import { markSending, neverSent, withoutUnsentCall, withSendingMarked } from './sending.ts';
import type { StatusRead } from './states.ts';
import {
  type Act,
  blank,
  concluded,
  type EndDue,
  inFlightRecord,
  notSent,
  observed,
  plan,
  resolvedUnread,
  type Settle,
  type TargetContext,
  usableVerify,
} from './transition.ts';

const MINUTE = 60_000;

export interface ReconcileOptions {
  config: Config;
  /** DRS stops whose edge falls in `(from, to]` are carried out (once) by this pass. */
  from: number;
  /** Default `now`. */
  to?: number;
  /** The instant evaluated: desired states are those in force now. */
  now: number;
  ledger: Ledger;
  upstream: Upstream;
  /** Who acts: leases name it, so that one actor at a time works on a target. */
  owner: string;
  /**
   * Overrides not ended before `from - maxLatenessMs` (`overridesSince`): a DRS end is judged by
   * the override of its own minute, and one owed since an earlier pass may be that old.
   */
  overrides?: readonly OverrideRule[];
  /**
   * Reads the overrides again: called before each slice and before each call (cached for half a
   * second), so an override acknowledged mid-pass stops calls on its targets within a second.
   */
  refreshOverrides?: () => Promise<readonly OverrideRule[]>;
  /** The runtime's current instant (a scaled clock in demos); default `now`. For overrides. */
  clock?: () => number;
  /** A DRS stop due longer ago than this is recorded as missed, not carried out. */
  maxLatenessMs: number;
  /**
   * Real milliseconds left before the caller must return (a Lambda's remaining time). No call
   * is sent past it (the HTTP client is given the deadline); what is left is picked up next tick.
   */
  remainingMs?: () => number;
  /** Stops the pass: no call is sent after it fires (calls under way finish). */
  signal?: AbortSignal;
  /**
   * Real time (epoch ms), for the deadline and how fresh the overrides are: `Date.now` unless a
   * simulation runs the pass on its virtual clock.
   */
  realNow?: () => number;
  /** A counter the driver bumps when it knows the overrides changed: read them again at once. */
  overridesVersion?: () => number;
  /** How long (clock ms) a lease keeps others off a target; past it a stalled owner is overtaken. */
  leaseMs?: number;
  /**
   * The runtime's clock went back behind minutes it already evaluated (`serve` knows from its
   * cursor): records written at later minutes do not hold this pass back; levels are reconciled
   * by this clock. Otherwise a pass behind a record's `evaluatedAt` changes nothing on it.
   */
  clockBehind?: boolean;
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

/**
 * An account whose secret still holds the placeholder the stack created: its targets were not
 * attempted (no request, no entry, no record written). Names the secret, never its value.
 */
export interface SecretNotSet {
  code: 'secret.not-set';
  account: string;
  /** The secret's name. */
  secret: string;
  /** The account's targets this pass did not attempt, sorted. */
  targets: string[];
  message: string;
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
  /** Targets left for the next tick because the deadline came (or an override arrived). */
  deferred: number;
  /** Targets left alone because the ledger could not record. */
  ledgerErrors: number;
  /** Targets not attempted: their account's secret is not set (see `secretsNotSet`). */
  notAttempted: number;
  entries: HistoryEntry[];
  warnings: ReconcileWarning[];
  /** One per account whose secret still holds the stack's placeholder. */
  secretsNotSet: SecretNotSet[];
}

/** One target in a pass: its context for the transition function, and its record as it goes. */
interface Work {
  ctx: TargetContext;
  ref: TargetRef;
  projectId: string;
  /** The record as stored (version and all): every write compares against it. */
  record: TargetRecord | undefined;
  /** The status read's reference: the in-flight call's target when the config moved on. */
  readRef: TargetRef;
  read?: StatusRead | null;
  act?: Act;
  /** The record's call in flight was never sent (its process is gone, with no sending mark). */
  unsent?: boolean;
}

/** A look and the history entries it would write. */
interface Look {
  work: Work;
  entries: readonly HistoryEntry[];
}

const DEFAULT_LEASE_MS = 5 * MINUTE;
/**
 * Targets looked at together (one DRS status call holds 100); slices run concurrently, so one
 * slice's ledger writes overlap another's upstream calls.
 */
const SLICE = 100;
const SLICES_AT_ONCE = 2;
/** Time kept back from the deadline for writing the record of what was done. */
const RESERVE_MS = 1_000;
/** Overrides read this recently are fresh enough for the one-second promise. */
const OVERRIDES_FRESH_MS = 500;

/**
 * The instant a pass's overrides must not have ended before (`ReconcileOptions.overrides`): a
 * DRS end owed since then is judged by the override of its own minute.
 */
export function overridesSince(from: number, maxLatenessMs: number): number {
  return from - maxLatenessMs;
}

/** Runs `work` over the items, at most `size` at a time. */
async function inPool<T>(items: readonly T[], size: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await work(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(size, items.length) }, worker));
}

/**
 * One reconciliation pass: brings every target to the state its schedules (and overrides) say,
 * through the one transition function (transition.ts). For each target that needs a look: read
 * its status, settle it or decide one call; the call's lease and in-flight record are written in
 * one compare-and-set just before it is sent; then the status is read again and the outcome
 * recorded (history first, then the record). Nothing is sent past the deadline, nor on a target
 * an override covers by then.
 */
export async function reconcile(options: ReconcileOptions): Promise<ReconcileSummary> {
  const summary: ReconcileSummary = {
    from: new Date(options.from).toISOString(),
    to: new Date(options.to ?? options.now).toISOString(),
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
    notAttempted: 0,
    entries: [],
    warnings: [],
    secretsNotSet: [],
  };
  const pass = new Pass(options, summary);
  const candidates = await pass.candidates();
  const slices: Work[][] = [];
  for (let i = 0; i < candidates.length; i += SLICE) slices.push(candidates.slice(i, i + SLICE));
  await inPool(slices, SLICES_AT_ONCE, (slice) => pass.slice(slice));
  summary.secretsNotSet = pass.secretsNotSet();
  return summary;
}

/** The state of one reconciliation pass. */
class Pass {
  private readonly trigger: Trigger;
  private readonly deadline: number | undefined;
  private readonly realNow: () => number;
  private overrides: readonly OverrideRule[];
  private overridesReadAt = Number.NEGATIVE_INFINITY;
  private overridesReading: Promise<readonly OverrideRule[]> | undefined;
  private overridesSeen: number | undefined;
  /** Accounts whose secret is not set, and their targets left alone this pass. */
  private readonly notSet = new Map<string, Set<string>>();

  constructor(
    private readonly options: ReconcileOptions,
    private readonly summary: ReconcileSummary,
  ) {
    this.trigger = options.trigger ?? 'tick';
    this.realNow = options.realNow ?? Date.now;
    this.overrides = options.overrides ?? [];
    if (options.refreshOverrides) this.overridesReadAt = this.realNow();
    this.overridesSeen = options.overridesVersion?.();
    const left = options.remainingMs?.();
    this.deadline =
      left === undefined || left === Number.POSITIVE_INFINITY
        ? undefined
        : this.realNow() + left - RESERVE_MS;
  }

  private get leaseMs(): number {
    return this.options.leaseMs ?? DEFAULT_LEASE_MS;
  }

  private clock(): number {
    return this.options.clock?.() ?? this.options.now;
  }

  private timeLeft(): boolean {
    if (this.options.signal?.aborted) return false;
    return this.deadline === undefined || this.deadline - this.realNow() > RESERVE_MS;
  }

  /** The upstream's bounds: the deadline (the signal only stops new calls, in `admit`). */
  private bounds(): { deadline?: number } {
    return this.deadline === undefined ? {} : { deadline: this.deadline };
  }

  /** The overrides, read again when older than half a second (real time) or known changed. */
  private async currentOverrides(): Promise<readonly OverrideRule[]> {
    const refresh = this.options.refreshOverrides;
    const version = this.options.overridesVersion?.();
    if (
      !refresh ||
      (this.realNow() - this.overridesReadAt < OVERRIDES_FRESH_MS && version === this.overridesSeen)
    )
      return this.overrides;
    this.overridesReading ??= refresh()
      .then((overrides) => {
        this.overrides = overrides;
        this.overridesReadAt = this.realNow();
        this.overridesSeen = version;
        return overrides;
      })
      .finally(() => {
        this.overridesReading = undefined;
      });
    try {
      return await this.overridesReading;
    } catch (error) {
      // Without them nothing may be sent: the caller treats a failure as "do not send".
      this.ledgerFailed(error, '(overrides)');
      throw error;
    }
  }

  private ledgerFailed(error: unknown, target: string): void {
    this.summary.ledgerErrors += 1;
    this.options.onLedgerError?.(error, target);
  }

  /**
   * A compare-and-set of a target's record; a ledger failure counts, and nothing is done. Every
   * record a pass writes carries the latest minute evaluated (`evaluatedAt`), so a pass behind it
   * leaves the target alone.
   */
  private async write(record: TargetRecord): Promise<'written' | 'lost' | 'error'> {
    const evaluated = Math.max(this.options.now, record.evaluatedAt ? Date.parse(record.evaluatedAt) : 0);
    try {
      const stamped = { ...record, evaluatedAt: new Date(evaluated).toISOString() };
      return (await this.options.ledger.putTarget(stamped)) ? 'written' : 'lost';
    } catch (error) {
      this.ledgerFailed(error, record.target);
      return 'error';
    }
  }

  /** Appends entries; false when the ledger failed (then no record may be written after them). */
  private async append(entries: readonly HistoryEntry[]): Promise<boolean> {
    if (entries.length === 0) return true;
    try {
      await this.options.ledger.record(entries);
    } catch (error) {
      this.ledgerFailed(error, '(history)');
      return false;
    }
    return true;
  }

  /**
   * Counts and reports entries once their record is written: of two processes that decided the
   * same thing, only the one whose record won reports it (the ledger keeps one entry per id).
   */
  private report(entries: readonly HistoryEntry[]): void {
    for (const entry of entries) {
      this.summary.entries.push(entry);
      count(this.summary, entry);
      this.options.onEntry?.(entry);
    }
  }

  private warn(target: string, warning: Settle['warning']): void {
    if (!warning) return;
    const full = { ...warning, target };
    this.summary.warnings.push(full);
    this.options.onWarning?.(full);
  }

  /**
   * Settles targets: their entries first (one append for all), then each record. If the history
   * cannot be written no record is, so the next look decides again (and, entries having stable
   * ids, the ledger keeps one of each).
   */
  private async commit(all: { work: Work; settle: Settle }[]): Promise<void> {
    if (all.length === 0) return;
    const current = await this.stillCurrent(all.map((s) => ({ work: s.work, entries: s.settle.entries })));
    const settled = all.filter((s) => current.has(s.work));
    if (!(await this.append(settled.flatMap((s) => s.settle.entries)))) return;
    const kept = await this.keptResolutions(
      settled.map((s) => ({ work: s.work, entries: s.settle.entries })),
    );
    await Promise.all(
      settled
        .filter((s) => kept.has(s.work))
        .map(async ({ work, settle }) => {
          const next = { ...settle.record, version: (work.record?.version ?? 0) + 1 };
          const written = await this.write(next);
          if (written === 'lost') this.summary.contended += 1;
          if (written === 'written') {
            work.record = next;
            this.report(settle.entries);
            this.warn(work.ctx.target, settle.warning);
          }
        }),
    );
  }

  /**
   * Looks that resolve a call another actor left in flight (its lease void: the actor is gone)
   * read the record again before anything is written. Everything the actor wrote landed before it
   * was judged gone, so this read sees it: a record that moved on since the look read it (the call
   * taken back as never sent, or resolved) drops the look, which would otherwise record an
   * outcome for a call that was never made. The next pass looks again.
   */
  private async stillCurrent(looks: readonly Look[]): Promise<Set<Work>> {
    const current = new Set(looks.map((l) => l.work));
    const checking = looks.flatMap(({ work, entries }) => {
      const flight = work.record?.inFlight;
      return flight && flight.owner !== this.options.owner && entries.some((e) => e.id === flight.id)
        ? [work]
        : [];
    });
    if (checking.length === 0) return current;
    let stored: Map<string, TargetRecord>;
    try {
      stored = await this.options.ledger.targets(checking.map((work) => work.ctx.target));
    } catch (error) {
      for (const work of checking) {
        this.ledgerFailed(error, work.ctx.target);
        current.delete(work);
      }
      return current;
    }
    for (const work of checking) {
      if (stored.get(work.ctx.target)?.version === work.record?.version) continue;
      current.delete(work);
      this.summary.contended += 1;
    }
    return current;
  }

  /**
   * The looks whose findings may be written (or acted on). One that resolves a call left in
   * flight counts only if its entry is the one the history kept: two processes may resolve one
   * call at once from different reads (one saw the state, the other's read failed), and the
   * record must say what the history says. A loser writes nothing; the next look settles the
   * call from the entry that was kept.
   */
  private async keptResolutions(looks: readonly Look[]): Promise<Set<Work>> {
    const kept = new Set(looks.map((l) => l.work));
    const resolving = looks.flatMap(({ work, entries }) => {
      const ours = entries.find((e) => e.id === work.record?.inFlight?.id);
      return ours ? [{ work, ours }] : [];
    });
    if (resolving.length === 0) return kept;
    let recorded: Map<string, HistoryEntry>;
    try {
      recorded = await recordedOutcomes(
        this.options.ledger,
        resolving.map((r) => r.work.record),
      );
    } catch (error) {
      for (const { work } of resolving) {
        this.ledgerFailed(error, work.ctx.target);
        kept.delete(work);
      }
      return kept;
    }
    for (const { work, ours } of resolving) {
      const theirs = recorded.get(work.ctx.target);
      if (theirs && !sameOutcome(theirs, ours)) kept.delete(work);
    }
    return kept;
  }

  /** Desired states at `t` for every target of the config. */
  private desiredAt(t: number, overrides: readonly OverrideRule[]): Map<string, Desired> {
    const { config } = this.options;
    const edges = latestEdges(config, t);
    const out = new Map<string, Desired>();
    for (const name of Object.keys(config.targets)) {
      const desired = desiredOf(name, edges.get(name), overrides, t);
      if (desired) out.set(name, desired);
    }
    return out;
  }

  /**
   * A DRS end an earlier pass saw due and did not get to, if an override covers its minute: it is
   * recorded as skipped. The override may have been acknowledged after that pass, or have ended
   * since; the end was still to be carried out, and a job is never ended against one.
   */
  private owedEndCovered(record: TargetRecord | undefined): EndDue | undefined {
    const owed = record?.endDue;
    if (!owed || !record || this.options.config.targets[record.target]?.kind !== 'drs-job') return undefined;
    const cover = activeOverride(this.overrides, record.target, Date.parse(owed.at));
    return cover
      ? { at: owed.at, schedule: owed.schedule, coveredBy: { id: cover.id, state: cover.state } }
      : undefined;
  }

  /** DRS ends due in `(from, to]`, the latest per target, with the override of their minute. */
  private endsDue(): Map<string, EndDue> {
    const { config, from, now } = this.options;
    const ends = new Map<string, EndDue>();
    const to = this.options.to ?? now;
    if (to <= from) return ends;
    for (const row of due(config, from, to)) {
      if (row.action !== 'stop') continue;
      for (const target of row.targets) {
        if (config.targets[target]?.kind !== 'drs-job') continue;
        const cover = activeOverride(this.overrides, target, Date.parse(row.at));
        ends.set(target, {
          at: row.at,
          schedule: row.schedule,
          ...(cover ? { coveredBy: { id: cover.id, state: cover.state } } : {}),
        });
      }
    }
    return ends;
  }

  private contextOf(name: string, desired: Desired | undefined, end: EndDue | undefined): TargetContext {
    const { config, now, owner, maxLatenessMs } = this.options;
    return {
      target: name,
      config: config.targets[name]!,
      desired,
      ...(end ? { end } : {}),
      policy: policyOf(config, name, desired),
      now,
      owner,
      trigger: this.trigger,
      maxLatenessMs,
      ...(this.options.clockBehind ? { clockBehind: true } : {}),
    };
  }

  private refOf(name: string, target: TargetConfig): TargetRef {
    const { config } = this.options;
    return {
      target: name,
      config: target,
      account: { name: target.account, config: config.accounts[target.account]! },
    };
  }

  /** The targets that need a look now; the idle ones that owe a write (hands-off) are written. */
  async candidates(): Promise<Work[]> {
    const { config, now } = this.options;
    const desiredByTarget = this.desiredAt(now, this.overrides);
    const ends = this.endsDue();
    this.summary.targets = desiredByTarget.size;
    const names = Object.keys(config.targets).filter((n) => desiredByTarget.has(n) || ends.has(n));
    if (names.length === 0) return [];
    const records = await this.options.ledger.targets(names);
    // Calls left in flight whose outcome the history holds: settled from it, by a look or by
    // an idle step that resolves them (a hands-off may not read their status).
    const recorded = await this.recordedOf([...records.values()]);
    const candidates: Work[] = [];
    const writes: { work: Work; settle: Settle }[] = [];
    const notes: { work: Work; note: TargetRecord }[] = [];
    for (const name of names) {
      const work = this.workOf(name, desiredByTarget.get(name), ends.get(name), records.get(name));
      const entry = recorded.get(name);
      if (entry) work.ctx = { ...work.ctx, recorded: entry };
      const step = plan(withoutVoidLease(work.record, this.options.isOwnerGone), work.ctx, work.projectId);
      if (step.step === 'look') {
        work.readRef = this.refOf(name, step.ref);
        candidates.push(work);
        if (step.note) notes.push({ work, note: step.note });
      } else if (step.write) writes.push({ work, settle: step.write });
    }
    await this.commit(writes);
    // What must outlive this pass (a DRS end due) is written before anything is read or sent;
    // a target whose note is not written is left alone (another process has it, or the ledger
    // failed).
    const unnoted = new Set<Work>();
    await Promise.all(
      notes.map(async ({ work, note }) => {
        const written = await this.write(note);
        if (written === 'lost') this.summary.contended += 1;
        if (written === 'written') work.record = note;
        else unnoted.add(work);
      }),
    );
    return unnoted.size === 0 ? candidates : candidates.filter((work) => !unnoted.has(work));
  }

  private workOf(
    name: string,
    desired: Desired | undefined,
    end: EndDue | undefined,
    record: TargetRecord | undefined,
  ): Work {
    const { config } = this.options;
    const target = config.targets[name]!;
    const ref = this.refOf(name, target);
    return {
      ctx: this.contextOf(name, desired, end ?? this.owedEndCovered(record)),
      ref,
      readRef: ref,
      projectId: config.accounts[target.account]!.projectId,
      record,
    };
  }

  /**
   * One slice: overrides read again (one acknowledged since the pass began takes effect now),
   * statuses read, each target settled or given its call, the calls sent, verified and recorded.
   */
  async slice(slice: readonly Work[]): Promise<void> {
    const { summary } = this;
    if (!this.timeLeft()) {
      summary.deferred += slice.length;
      return;
    }
    let overrides: readonly OverrideRule[];
    try {
      overrides = await this.currentOverrides();
    } catch {
      summary.deferred += slice.length;
      return;
    }
    // Desired states of this slice with the overrides in force now (one may have come mid-pass).
    const edges = latestEdges(this.options.config, this.options.now);
    const at = Math.max(this.options.now, this.clock());
    const looking: Work[] = [];
    const writes: { work: Work; settle: Settle }[] = [];
    for (const work of slice) {
      const desired =
        desiredOf(work.ctx.target, edges.get(work.ctx.target), overrides, at) ??
        (work.ctx.desired?.override ? undefined : work.ctx.desired);
      if (desired?.override !== work.ctx.desired?.override || desired?.state !== work.ctx.desired?.state) {
        work.ctx = { ...work.ctx, desired, policy: policyOf(this.options.config, work.ctx.target, desired) };
        const step = plan(withoutVoidLease(work.record, this.options.isOwnerGone), work.ctx, work.projectId);
        if (step.step === 'idle') {
          if (step.write) writes.push({ work, settle: step.write });
          continue;
        }
      }
      looking.push(work);
    }
    await this.commit(writes);
    if (looking.length === 0) return;
    await this.findUnsent(looking);
    await this.withRecordedOutcomes(looking);

    const reads = await this.options.upstream.observe(
      looking.map((w) => w.readRef),
      { ...this.bounds(), admit: (i) => this.readWanted(looking[i]!) },
    );
    const settled: { work: Work; settle: Settle }[] = [];
    const acting: Work[] = [];
    looking.forEach((work, i) => {
      const read = reads[i]!;
      // The account's secret is not set: nothing can be read or done, and nothing is recorded.
      if (read?.error?.code === ErrorCode.secretNotSet || (read === null && this.isNotSet(work))) {
        this.leaveAlone(work);
        return;
      }
      const record = this.asSeen(work);
      // A read called off (a hands-off began): the next pass sees the override.
      if (read?.error?.code === ErrorCode.notSent) {
        summary.deferred += 1;
        return;
      }
      // A read cut short by the deadline says nothing: the target waits for the next pass. But a
      // call left in flight is resolved as unknown now, or a slow upstream could keep it there.
      if (read?.error?.code === ErrorCode.deadline || (read?.observation === null && !this.timeLeft())) {
        if (record?.inFlight) {
          const cut = read ?? {
            observation: null,
            error: { code: ErrorCode.deadline, message: 'not read in time' },
          };
          settled.push({ work, settle: resolvedUnread(record, work.ctx, cut, work.projectId) });
        } else summary.deferred += 1;
        return;
      }
      work.read = read;
      const next = observed(record, work.ctx, read, work.projectId);
      if (next.kind === 'settle') {
        settled.push({ work, settle: next.settle });
        if (next.settle.outcome === 'pending') summary.pending += 1;
      } else {
        work.act = next.act;
        acting.push(work);
      }
    });
    summary.looked += settled.length + acting.length;
    await this.commit(settled);
    if (acting.length > 0) await this.act(acting);
  }

  /** A target whose account's secret is not set: not attempted, its record left as it is. */
  private leaveAlone(work: Work): void {
    const account = work.ref.account.name;
    const targets = this.notSet.get(account) ?? new Set<string>();
    targets.add(work.ctx.target);
    this.notSet.set(account, targets);
    this.summary.notAttempted += 1;
  }

  private isNotSet(work: Work): boolean {
    return this.notSet.has(work.ref.account.name);
  }

  secretsNotSet(): SecretNotSet[] {
    return [...this.notSet]
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([account, targets]) => {
        const secret = this.options.config.accounts[account]?.secret ?? '';
        return {
          code: 'secret.not-set' as const,
          account,
          secret,
          targets: [...targets].sort(),
          message: `account ${account}: secret "${secret}" is not set (it still holds the placeholder the stack created); its ${targets.size} target${targets.size === 1 ? ' is' : 's are'} not attempted until the credentials are put in (README: Deploy, Fill in the secrets)`,
        };
      });
  }

  /** Marks the works whose call in flight was never sent: it is dropped, and read as the target is now. */
  private async findUnsent(works: readonly Work[]): Promise<void> {
    const { ledger, isOwnerGone } = this.options;
    await Promise.all(
      works.map(async (work) => {
        if (!(await neverSent(ledger, work.record, isOwnerGone))) return;
        work.unsent = true;
        work.readRef = work.ref;
      }),
    );
  }

  /** The record as the transition sees it: no void lease, no call that was never sent. */
  private asSeen(work: Work): TargetRecord | undefined {
    const record = withoutVoidLease(work.record, this.options.isOwnerGone);
    return work.unsent && record ? withoutUnsentCall(record) : record;
  }

  /** Calls left in flight whose outcome the history already holds are settled from it. */
  private async withRecordedOutcomes(works: readonly Work[]): Promise<void> {
    const held = works.filter((w) => !w.unsent && w.record?.inFlight);
    if (held.length === 0) return;
    const recorded = await this.recordedOf(held.map((w) => w.record));
    for (const work of held) {
      const entry = recorded.get(work.ctx.target);
      if (entry) work.ctx = { ...work.ctx, recorded: entry };
    }
  }

  /** The recorded outcomes of the records' calls in flight, by target; none if the ledger fails. */
  private async recordedOf(
    records: readonly (TargetRecord | undefined)[],
  ): Promise<Map<string, HistoryEntry>> {
    try {
      return await recordedOutcomes(this.options.ledger, records);
    } catch (error) {
      // Resolved from status instead: a resolution the history contradicts is not kept.
      this.ledgerFailed(error, '(history)');
      return new Map();
    }
  }

  /**
   * The calls: the entries each look owes first, then each call's lease and in-flight record in
   * one write at the moment it is about to be sent (after overrides and the deadline are checked
   * once more), then the call, a status read to verify, and the outcome.
   */
  private async act(decided: Work[]): Promise<void> {
    const { summary, options } = this;
    const current = await this.stillCurrent(decided.map((work) => ({ work, entries: work.act!.entries })));
    let acting = decided.filter((work) => current.has(work));
    if (!(await this.append(acting.flatMap((w) => w.act!.entries)))) return;
    // A look that resolved a call differently from the entry the history kept does not act on it.
    const kept = await this.keptResolutions(acting.map((work) => ({ work, entries: work.act!.entries })));
    acting = acting.filter((work) => kept.has(work));
    if (acting.length === 0) return;
    for (const work of acting) this.warn(work.ctx.target, work.act!.warning);
    const admission = new Map<Work, 'prepared' | 'sent' | 'refused' | 'lost'>();
    const items: UpstreamItem[] = acting.map((w) => ({ ...w.ref, action: w.act!.call.action }));
    // The call's lease and in-flight record, written before its request waits for a slot.
    const written = new Map<Work, Promise<TargetRecord | undefined>>();
    const prepare = (index: number): Promise<TargetRecord | undefined> => {
      const work = acting[index]!;
      let record = written.get(work);
      if (!record) {
        record = this.recordInFlight(work, admission);
        written.set(work, record);
      }
      return record;
    };
    const admit = async (index: number): Promise<boolean> => {
      const work = acting[index]!;
      // A DRS batch is not prepared: its jobs' records are written here.
      const next = await prepare(index);
      if (!next) return false;
      // The write (and the wait for a slot) took time: the deadline and the overrides are
      // checked again as it goes out.
      if (!(await this.stillWanted(work))) {
        await this.withdraw(next);
        admission.set(work, 'lost');
        return false;
      }
      work.record = next;
      admission.set(work, 'sent');
      this.report(work.act!.entries);
      return true;
    };
    const outcomes = await options.upstream.perform(items, undefined, {
      ...this.bounds(),
      prepare: async (index) => (await prepare(index)) !== undefined,
      admit,
      ...markSending(options.ledger, (i) => ({
        target: acting[i]!.ctx.target,
        id: acting[i]!.act!.call.id,
        owner: options.owner,
      })),
    });
    // Recorded in flight but never sent (the deadline came while it waited for a slot): taken back.
    await Promise.all(written.values());
    const unsent = acting.filter((w) => admission.get(w) === 'prepared');
    await Promise.all(
      unsent.map(async (work) => {
        await this.withdraw((await written.get(work))!);
        admission.set(work, 'lost');
      }),
    );
    summary.deferred += unsent.length;

    // The account's secret turned out not to be set (a kind without a status query finds out
    // only now): not attempted, and nothing recorded.
    const notSet = acting.filter(
      (w, i) => admission.get(w) === undefined && outcomes[i]?.errorCode === ErrorCode.secretNotSet,
    );
    for (const work of notSet) this.leaveAlone(work);
    // Decided but not sent (an override came, the deadline passed): the look's own findings (a
    // resolved call, a new desired state) are still written.
    const refused = acting.filter(
      (w) => admission.get(w) !== 'sent' && admission.get(w) !== 'lost' && !notSet.includes(w),
    );
    summary.deferred += refused.length;
    await this.keepFindings(refused);

    const sent = acting.filter((w) => admission.get(w) === 'sent');
    if (sent.length === 0) return;
    summary.acted += sent.length;
    const results = new Map<Work, ActionResult>();
    acting.forEach((work, i) => {
      if (admission.get(work) === 'sent') results.set(work, resultOf(items[i]!, outcomes[i]!));
    });
    // Read the status again: did the call reach the state? (Not for calls whose answer is not in.)
    const toVerify = sent.filter((w) => results.get(w)!.errorCode !== ErrorCode.deadline);
    const verifies = toVerify.length
      ? await options.upstream.observe(
          toVerify.map((w) => w.readRef),
          { ...this.bounds(), admit: (i) => this.readWanted(toVerify[i]!) },
        )
      : [];
    const verifyOf = new Map(toVerify.map((w, i) => [w, verifies[i]]));
    const done: { work: Work; settle: Settle }[] = [];
    const notSentAfterAll: Work[] = [];
    for (const work of sent) {
      const verify = verifyOf.get(work);
      // A verify cut short by the deadline says nothing: judged as not verified.
      const usable = usableVerify(verify);
      const outcome = concluded(work.record!, work.ctx, results.get(work)!, usable);
      if (outcome === 'in-flight') summary.deferred += 1;
      else if (outcome === 'not-sent') notSentAfterAll.push(work);
      else done.push({ work, settle: outcome });
    }
    await Promise.all(
      notSentAfterAll.map((work) =>
        this.write({ ...notSent(work.record!), version: work.record!.version + 1 }),
      ),
    );
    await this.commit(done);
  }

  /**
   * Writes a decided call's lease and in-flight record, if it may still go out (time left, no
   * override acknowledged against it): the record written, or `undefined` and it is not sent.
   */
  private async recordInFlight(
    work: Work,
    admission: Map<Work, 'prepared' | 'sent' | 'refused' | 'lost'>,
  ): Promise<TargetRecord | undefined> {
    const { options, summary } = this;
    const { call } = work.act!;
    admission.set(work, 'refused');
    if (!(await this.stillWanted(work))) return undefined;
    const record = inFlightRecord(work.act!.record, call, work.ctx, {
      owner: options.owner,
      // From the moment it is written: a pass may start late (a busy process catching up).
      until: Math.max(options.now, this.realNow()) + this.leaseMs,
    });
    const next = { ...withSendingMarked(record, options.ledger), version: (work.record?.version ?? 0) + 1 };
    const written = await this.write(next);
    if (written === 'lost') summary.contended += 1;
    if (written === 'error') await this.withdraw(next);
    if (written !== 'written') {
      admission.set(work, 'lost');
      return undefined;
    }
    admission.set(work, 'prepared');
    return next;
  }

  /** Whether a status read may still go out: no hands-off acknowledged on its target since. */
  private async readWanted(work: Work): Promise<boolean> {
    let overrides: readonly OverrideRule[];
    try {
      overrides = await this.currentOverrides();
    } catch {
      return false;
    }
    return activeOverride(overrides, work.ctx.target, this.clock())?.state !== 'hands-off';
  }

  /** Whether a decided call may still go out: time left, and no override acknowledged against it. */
  private async stillWanted(work: Work): Promise<boolean> {
    if (!this.timeLeft()) return false;
    let overrides: readonly OverrideRule[];
    try {
      overrides = await this.currentOverrides();
    } catch {
      return false;
    }
    const { call } = work.act!;
    // A DRS end is never carried out late, by the clock it goes out on: a pass that started
    // behind (catching up, or slowed) must not send one its own minute still allowed.
    const sentAt = Math.max(this.options.now, this.clock());
    if (call.occurrence && sentAt - Date.parse(call.occurrence) > this.options.maxLatenessMs) return false;
    const cover = activeOverride(overrides, work.ctx.target, this.clock());
    // An override acknowledged since the decision: no call its state does not ask for.
    if (cover && (call.occurrence || cover.state === 'hands-off' || cover.state !== call.want)) return false;
    // Nor a DRS end an override covers the minute of, acknowledged since (even one ended since).
    if (call.occurrence && activeOverride(overrides, work.ctx.target, Date.parse(call.occurrence)))
      return false;
    return this.timeLeft();
  }

  /** A call's in-flight write failed: if it landed all the same, it is taken back. */
  private async withdraw(written: TargetRecord): Promise<void> {
    try {
      await withdrawInFlight(this.options.ledger, written);
    } catch (error) {
      this.ledgerFailed(error, written.target);
    }
  }

  /** Writes what a look found when its call was not sent, if it found anything new. */
  private async keepFindings(works: readonly Work[]): Promise<void> {
    await Promise.all(
      works.map(async (work) => {
        const found = notSent(work.act!.record);
        if (!changed(work.record, found)) return;
        const written = await this.write({ ...found, version: (work.record?.version ?? 0) + 1 });
        if (written === 'lost') this.summary.contended += 1;
        if (written === 'written') this.report(work.act!.entries);
      }),
    );
  }
}

/** Whether a record differs from the stored one in anything but its version. */
function changed(stored: TargetRecord | undefined, next: TargetRecord): boolean {
  if (!stored) return true;
  const { version: _a, ...a } = stored;
  const { version: _b, ...b } = next;
  return JSON.stringify(a) !== JSON.stringify(b);
}

/** The record as the decision sees it: the lease of an owner that has stopped counts for nothing. */
/** Whether two entries for one call tell the same outcome. */
function sameOutcome(a: HistoryEntry, b: HistoryEntry): boolean {
  return (
    a.result.ok === b.result.ok &&
    a.result.status === b.result.status &&
    a.result.errorCode === b.result.errorCode &&
    a.result.observed === b.result.observed
  );
}

function withoutVoidLease(
  record: TargetRecord | undefined,
  isOwnerGone: ((owner: string) => boolean) | undefined,
): TargetRecord | undefined {
  if (!record?.lease || !isOwnerGone?.(record.lease.owner)) return record;
  return { ...record, lease: undefined };
}

function count(summary: ReconcileSummary, entry: HistoryEntry): void {
  const { result } = entry;
  if (result.errorCode === ErrorCode.missed) summary.missed += 1;
  else if (result.status === 'unchanged' || result.status === 'skipped') summary.unchanged += 1;
  else if (result.ok) summary.succeeded += 1;
  else summary.failed += 1;
}

export { blank };
