import { createHash } from 'node:crypto';
import { MINUTE_MS } from './calendar/zone.ts';
import type { TargetConfig } from './config/schema.ts';
import type { Desired, Policy } from './decision.ts';
import { retryDelayMs } from './decision.ts';
import { ErrorCode } from './error-codes.ts';
import type { ActionResult } from './executor.ts';
import type { Action, TargetKind } from './kinds.ts';
import type { HistoryEntry, InFlight, TargetRecord, Trigger } from './ledger.ts';
import { actionToward, type StatusRead, type TargetState } from './states.ts';
import { judged } from './verify.ts';

/**
 * The one transition function of a target, in three pure steps that every path shares
 * (scheduled transitions, the DRS end, on-demand actions):
 *
 *   plan(record)                 → look (read status) or stay idle
 *   observed(record, read)       → settle (record + entries), or act: one call, with the entries
 *                                  the look owes (a resolved call, a superseded state)
 *   concluded(record, result)    → the call's outcome: record + its one history entry
 *
 * The I/O around it (reconcile.ts, on-demand.ts) only reads, calls and writes: the lease and the
 * in-flight record of *this* call go in one write made just before the call is sent (`inFlight`),
 * history is appended before the record is compared-and-set, and every entry has a stable id, so
 * a write that fails between the two never duplicates an entry (the ledgers keep one per id).
 */

/** An edge's DRS end (a `stop` of a `drs-job`) that fell in the evaluated window. */
export interface EndDue {
  /** The edge's instant. */
  at: string;
  schedule: string;
  /** An override that covered the target at that minute (judged then, even if it has ended since). */
  coveredBy?: { id: string; state: string };
}

/** What the transition of one target is decided against. */
export interface TargetContext {
  target: string;
  config: TargetConfig;
  /** What the schedules and overrides want now; for an on-demand action, what it asks for. */
  desired: Desired | undefined;
  end?: EndDue;
  policy: Policy;
  now: number;
  /** Who decides: a lease it holds does not block it. */
  owner: string;
  trigger: Trigger;
  /** A DRS end due longer ago than this is recorded as missed, never carried out late. */
  maxLatenessMs: number;
  /**
   * The runtime's clock went back behind minutes it had evaluated: records written at later
   * minutes do not hold this pass back, and levels are reconciled by this clock.
   */
  clockBehind?: boolean;
  /** For an on-demand action: the request's id, reason and whether to call even when in state. */
  request?: { id?: string; reason?: string; force?: boolean };
  /** The history entry already recorded for the call the record holds in flight, if any. */
  recorded?: HistoryEntry;
}

/** The call a look decided on. */
export interface Call {
  /** Also the id of its history entry, whoever records it. */
  id: string;
  action: Action;
  /** The state this call wants: it is judged against this, even after the desired state moved on. */
  want: TargetState;
  /** The DRS end's edge, for an end. */
  occurrence?: string;
  /** The DRS end's schedule, for an end. */
  schedule?: string;
  drift?: boolean;
  /** The status could not be read: the call is made once and its answer is the outcome. */
  blind?: boolean;
  reason: string;
}

export type Plan =
  | { step: 'idle'; reason: string; write?: Settle }
  /**
   * `note`: a record to write before the status is read (a DRS end seen due, kept in the record,
   * so that a later pass carries it out if this one is cut short before the call is sent).
   */
  | { step: 'look'; reason: string; ref: TargetConfig; note?: TargetRecord };

export interface Settle {
  record: TargetRecord;
  entries: HistoryEntry[];
  reason: string;
  /** `unchanged`, `pending`, `impossible`, `skipped`, `missed`, `resolved`: for counts and logs. */
  outcome: string;
  warning?: { code: string; message: string; permission?: string };
}

export interface Act {
  call: Call;
  /** The record as the look leaves it; the call's write adds the lease and the in-flight record. */
  record: TargetRecord;
  /** Entries the look owes before the call (a resolved call, a superseded state). */
  entries: HistoryEntry[];
  warning?: Settle['warning'];
}

export type Observed = { kind: 'settle'; settle: Settle } | { kind: 'act'; act: Act };

// ---------------------------------------------------------------------------------------------
// Identity

/** What the record is about upstream: kind, project and ids. A change of it is a new target. */
export function identityOf(target: TargetConfig, projectId: string): string {
  switch (target.kind) {
    case 'vias-task':
      return `vias-task:${projectId}:${target.taskId}`;
    case 'vias-batch-task':
      return `vias-batch-task:${projectId}:${target.batchTaskId}`;
    case 'drs-job':
      return `drs-job:${projectId}:${target.jobId}`;
    case 'cpts-task':
      return `cpts-task:${projectId}:${target.testSuiteId}/${target.taskId}`;
  }
}

/** The target's config as a short hash: a change of it starts a desired state afresh (backoff). */
export function configHashOf(target: TargetConfig): string {
  let hash = configHashes.get(target);
  if (hash === undefined) {
    hash = createHash('sha256').update(stableJson(target)).digest('base64url').slice(0, 12);
    configHashes.set(target, hash);
  }
  return hash;
}

/**
 * Hashes of target configs by object: a pass asks for each target's several times, and a
 * config, once parsed, is never changed (a reload parses a new one).
 */
const configHashes = new WeakMap<TargetConfig, string>();

function stableJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(stableJson).join(',')}]`;
  if (value && typeof value === 'object')
    return `{${Object.keys(value)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${stableJson((value as Record<string, unknown>)[k])}`)
      .join(',')}}`;
  return JSON.stringify(value);
}

// ---------------------------------------------------------------------------------------------
// Step 1: plan

/**
 * Defects the simulation test switches on to show it catches them (test/simulation). Never set
 * outside that test: each breaks a guarantee on purpose.
 */
export const testDefects = {
  /** With the status unreadable, call again on later looks though a call was answered ok (finding 5). */
  repeatBlindCalls: false,
};

/** What a call left in flight is resolved by when a hands-off forbids reading its status. */
const HANDS_OFF_READ: StatusRead = {
  observation: null,
  error: { code: ErrorCode.handsOff, message: 'hands-off began: its status is not read' },
};

/** Whether a lease keeps this decider off the target. */
export function leasedByOther(record: TargetRecord | undefined, owner: string, now: number): boolean {
  return !!record?.lease && Date.parse(record.lease.until) > now && record.lease.owner !== owner;
}

/**
 * Whether to read the target's status this pass. Cheap and without I/O: the tick calls it for
 * every target each minute.
 */
export function plan(record: TargetRecord | undefined, ctx: TargetContext, projectId: string): Plan {
  const { desired, now } = ctx;
  if (leasedByOther(record, ctx.owner, now))
    return { step: 'idle', reason: `another process holds the lease until ${record!.lease!.until}` };
  if (record?.evaluatedAt && Date.parse(record.evaluatedAt) > now && !ctx.clockBehind)
    return {
      step: 'idle',
      reason: `a pass for a later minute (${record.evaluatedAt}) wrote this record: this one is behind it`,
    };
  const identity = identityOf(ctx.config, projectId);
  if (desired?.state === 'hands-off') {
    // Hands-off means no call of any kind, status reads and the resolution of a call included.
    // The record notes it, so the end of hands-off is a new desired state, looked at anew.
    const noted =
      record?.desired === 'hands-off' && record.since === desired.since && record.because === desired.because;
    const reason = `hands-off (override ${desired.because}): no call of any kind`;
    const endSkipped = endOf(record, ctx);
    // A call left in flight (its lease over) gets its outcome now, unknown: its status may not be
    // read, and no record stays in flight through a hands-off.
    const resolved = record?.inFlight ? resolveInFlight(record, ctx, HANDS_OFF_READ, projectId) : undefined;
    if (noted && !endSkipped && !resolved) return { step: 'idle', reason };
    const base = resolved?.record ?? record ?? blank(ctx.target);
    const next: TargetRecord = noted
      ? { ...base, version: (record?.version ?? 0) + 1 }
      : {
          ...freshEpoch(base, desired, identity, configHashOf(ctx.config)),
          version: (record?.version ?? 0) + 1,
          reached: true,
        };
    if (endSkipped) next.lastEnd = endSkipped.at;
    return {
      step: 'idle',
      reason,
      write: {
        record: next,
        entries: [
          ...(resolved?.entries ?? []),
          ...(endSkipped
            ? [coveredEnd(ctx, endSkipped, { id: desired.because, state: 'hands-off' }, iso(now))]
            : []),
        ],
        reason,
        outcome: 'hands-off',
      },
    };
  }
  const ref = record?.inFlight?.ref ?? ctx.config;
  const end = endOf(record, ctx);
  // A DRS end covered by an override, or past the lateness bound, is recorded without a read.
  const offline = end ? endWithoutCall(ctx, end, iso(now)) : undefined;
  // One to carry out is noted in the record first: a pass cut short before its call is sent
  // (the deadline, an override arriving) leaves it to the next pass, not to nobody.
  const note =
    end && !offline && record?.endDue?.at !== end.at ? noteEnd(record ?? blank(ctx.target), end) : undefined;
  if (record?.inFlight)
    return {
      step: 'look',
      ref,
      reason: `the outcome of ${record.inFlight.action} ${record.inFlight.id} (started ${record.inFlight.startedAt} by ${record.inFlight.owner}) is not recorded: reading status`,
      ...(note ? { note } : {}),
    };
  if (end && !offline)
    return {
      step: 'look',
      ref,
      reason: `DRS end due at ${end.at} (schedule ${end.schedule})`,
      ...(note ? { note } : {}),
    };
  const held = heldPlan(record, ctx, identity, ref);
  if (held.step === 'look' || !offline) return held;
  const base = record ?? blank(ctx.target);
  return {
    step: 'idle',
    reason: `${offline.reason}; ${held.reason}`,
    write: {
      record: { ...base, version: base.version + 1, lastEnd: end!.at },
      entries: [offline],
      reason: offline.reason ?? '',
      outcome: offline.result.errorCode === ErrorCode.missed ? 'missed' : 'skipped',
    },
  };
}

/** Whether the held state needs a look: a new desired state, a retry due, a drift check. */
function heldPlan(
  record: TargetRecord | undefined,
  ctx: TargetContext,
  identity: string,
  ref: TargetConfig,
): Plan {
  const { desired, now } = ctx;
  if (!desired) return { step: 'idle', reason: 'no edge in the last 35 days and no override: nothing held' };
  if (desired.state === 'ended')
    return {
      step: 'idle',
      reason: 'a DRS stop ends the job once, at its edge; reconciliation never repeats it',
    };
  if (!record || isFresh(record, desired, identity, configHashOf(ctx.config)))
    return { step: 'look', ref, reason: `desired ${desired.state} since ${desired.since} (${by(desired)})` };
  if (record.final)
    return {
      step: 'idle',
      reason: `${desired.state} cannot be reached (${record.observed ?? 'unknown'}); waiting for the next edge`,
    };
  if (!record.reached) {
    if (record.nextCheckAt && Date.parse(record.nextCheckAt) > now)
      return { step: 'idle', reason: `not yet ${desired.state}; next try at ${record.nextCheckAt}` };
    return { step: 'look', ref, reason: `not yet ${desired.state}: try ${record.tries + 1}` };
  }
  // Drift needs a status to see it by: a kind without a status query acts at edges only.
  if (ctx.policy.mode === 'enforce' && !record.blind && ctx.config.kind !== 'vias-batch-task') {
    const last = record.lastCheckAt ? Date.parse(record.lastCheckAt) : Number.NEGATIVE_INFINITY;
    if (now - last >= ctx.policy.enforceEveryMinutes * MINUTE_MS)
      return {
        step: 'look',
        ref,
        reason: `enforce: checking for drift every ${ctx.policy.enforceEveryMinutes} min`,
      };
    return {
      step: 'idle',
      reason: `${desired.state}; next drift check within ${ctx.policy.enforceEveryMinutes} min`,
    };
  }
  return {
    step: 'idle',
    reason: `${desired.state} reached; transitions mode leaves later manual changes alone`,
  };
}

/**
 * The entry of a DRS end that is not carried out whatever the status: an override covered its
 * minute (skipped), or it is past the lateness bound (missed; a job is never ended late).
 */
function endWithoutCall(ctx: TargetContext, end: EndDue, at: string): HistoryEntry | undefined {
  if (end.coveredBy) return coveredEnd(ctx, end, end.coveredBy, at);
  const lateness = ctx.now - Date.parse(end.at);
  if (lateness <= ctx.maxLatenessMs) return undefined;
  return {
    ...entryBase(`end:${ctx.target}:${end.at}`, at, ctx.trigger, {
      schedule: end.schedule,
      scheduledAt: end.at,
      late: true,
    }),
    result: {
      target: ctx.target,
      kind: 'drs-job',
      action: 'stop',
      ok: false,
      status: 'skipped',
      errorCode: ErrorCode.missed,
      errorMessage: `missed: the DRS stop was due at ${end.at}, ${Math.round(lateness / MINUTE_MS)} min before it could run, beyond the lateness bound; a job is never ended late`,
      attempts: 0,
      durationMs: 0,
    },
  };
}

function endHandled(record: TargetRecord | undefined, end: EndDue): boolean {
  return record?.lastEnd !== undefined && Date.parse(record.lastEnd) >= Date.parse(end.at);
}

/**
 * The DRS end to handle now, if any: the one due in this pass's window, else the one an earlier
 * pass saw due and did not get to (`endDue`). That one was uncovered at its minute; an override
 * in force now holds it too.
 */
function endOf(record: TargetRecord | undefined, ctx: TargetContext): EndDue | undefined {
  const owed = record?.endDue;
  const end =
    ctx.end ??
    (owed && ctx.config.kind === 'drs-job'
      ? {
          ...owed,
          ...(ctx.desired?.override
            ? { coveredBy: { id: ctx.desired.override, state: ctx.desired.state } }
            : {}),
        }
      : undefined);
  return end && !endHandled(record, end) ? end : undefined;
}

function noteEnd(record: TargetRecord, end: EndDue): TargetRecord {
  return { ...record, version: record.version + 1, endDue: { at: end.at, schedule: end.schedule } };
}

/** The desired state differs from the one the record holds: a new edge, override, or target. */
export function isFresh(
  record: TargetRecord,
  desired: Desired,
  identity: string,
  configHash: string,
): boolean {
  return (
    record.desired !== desired.state ||
    record.since !== desired.since ||
    record.because !== desired.because ||
    (record.identity !== undefined && record.identity !== identity) ||
    (record.configHash !== undefined && record.configHash !== configHash)
  );
}

function by(desired: Desired): string {
  return desired.override ? `override ${desired.override}` : `schedule ${desired.because}`;
}

export function blank(target: string): TargetRecord {
  return { target, version: 0, reached: false, tries: 0 };
}

/** The record at the start of a new desired state: backoff, calls and findings start afresh. */
function freshEpoch(
  record: TargetRecord,
  desired: Desired,
  identity: string,
  configHash: string,
): TargetRecord {
  const { lease: _lease, inFlight: _inFlight, nextCheckAt: _next, ...rest } = record;
  return {
    ...rest,
    // A new upstream thing is a new target: nothing known of the old one carries over.
    ...(record.identity !== undefined && record.identity !== identity
      ? { observed: undefined, lastEnd: undefined, endDue: undefined, lastCheckAt: undefined }
      : {}),
    identity,
    configHash,
    desired: desired.state,
    since: desired.since,
    because: desired.because,
    override: desired.override !== undefined,
    reached: false,
    final: false,
    tries: 0,
    calls: 0,
    blind: false,
    answeredOk: false,
  };
}

// ---------------------------------------------------------------------------------------------
// Step 2: observed

/** Readable text of a status read: the upstream status, or why there is none. */
function seen(read: StatusRead | null | undefined): string {
  if (read === null) return 'no status query';
  if (!read) return 'not read';
  return read.observation ? read.observation.text : `status unreadable (${read.error?.code ?? 'unknown'})`;
}

function observedText(read: StatusRead | null | undefined): string | null | undefined {
  if (read === undefined || read === null) return undefined;
  return read.observation ? read.observation.text : null;
}

/**
 * Decides on what a status read shows: first the call a stopped process left in flight is
 * resolved (judged against what *that* call wanted), then a DRS end due, then the desired state.
 */
export function observed(
  record: TargetRecord | undefined,
  ctx: TargetContext,
  read: StatusRead | null,
  projectId: string,
): Observed {
  const { now, desired } = ctx;
  const at = iso(now);
  const identity = identityOf(ctx.config, projectId);
  const configHash = configHashOf(ctx.config);
  const resolved = resolveInFlight(record, ctx, read, projectId);
  const entries = resolved.entries;
  let r = resolved.record;

  // A DRS end due: it happens once, at its edge, before any held state of this pass.
  const end = endOf(r, ctx);
  if (end) {
    const offline = endWithoutCall(ctx, end, at);
    if (offline) {
      r.lastEnd = end.at;
      entries.push(offline);
    } else if (read?.observation?.state === 'ended') {
      r.lastEnd = end.at;
      entries.push({
        ...entryBase(`end:${ctx.target}:${end.at}`, at, ctx.trigger, {
          schedule: end.schedule,
          scheduledAt: end.at,
        }),
        reason: `already ended (${read.observation.text})`,
        result: {
          target: ctx.target,
          kind: 'drs-job',
          action: 'stop',
          ok: true,
          status: 'unchanged',
          attempts: 0,
          durationMs: 0,
          observed: read.observation.text,
        },
      });
    } else if (desired?.state !== 'hands-off') {
      const lateness = now - Date.parse(end.at);
      return {
        kind: 'act',
        act: {
          record: r,
          entries,
          call: {
            id: callIdFor(ctx, `end:${end.at}`),
            action: 'stop',
            want: 'ended',
            occurrence: end.at,
            schedule: end.schedule,
            reason: `DRS end due at ${end.at} (schedule ${end.schedule})${lateness > LATE_AFTER_MS ? ', late' : ''}`,
          },
        },
      };
    }
  }

  if (!desired || desired.state === 'hands-off' || desired.state === 'ended') {
    return settle(r, entries, 'resolved', desired ? `${desired.state}: nothing to hold` : 'nothing held');
  }

  // A new desired state: the one it replaces, if never reached, was missed.
  const fresh = isFresh(r, desired, identity, configHash) || r.version === 0;
  // The resolved call served the desired state in force now: its outcome is this state's try
  // (and backoff). One that served an earlier state says nothing about this one.
  const resolvedCurrent = resolved.current && !fresh;
  if (fresh) {
    if (record && isSuperseded(record) && !record.inFlight)
      entries.push(supersededEntry(ctx, record, desired, at));
    r = { ...freshEpoch(r, desired, identity, configHash), observed: r.observed, lastCheckAt: r.lastCheckAt };
  }
  const action = actionToward(ctx.config.kind, desired.state);
  const entryOf = (
    suffix: string,
    reason: string,
    fields: Partial<ActionResult> & Pick<ActionResult, 'ok' | 'status'>,
  ) =>
    ({
      ...scheduledBase(
        // The stored version names the look: two deciders on one record make one entry, and the
        // same desired state coming back after an override gets entries of its own.
        `${suffix}:${ctx.target}:${desired.since}:${desired.state}:v${record?.version ?? 0}`,
        at,
        ctx,
        desired,
        fresh,
      ),
      reason,
      result: resultOf(ctx, desired, action, read, fields),
    }) satisfies HistoryEntry;

  if (!action) {
    r.final = true;
    const reason = `a ${ctx.config.kind} cannot be ${desired.state}`;
    return settle(r, fresh ? [...entries, unreachable(entryOf, ctx, reason)] : entries, 'impossible', reason);
  }
  // A call of this desired state just resolved as not reached: its backoff runs first.
  if (resolvedCurrent && read?.observation?.state !== desired.state)
    return settle(
      r,
      entries,
      'resolved',
      r.final
        ? `the unrecorded call's outcome cannot be known (status unreadable): not repeated`
        : `the unrecorded call did not reach ${desired.state}; next try at ${r.nextCheckAt}`,
    );
  if (read === null) {
    // No status query (VIAS batch task): act at the edge; the call's answer is the outcome.
    if (r.reached) return settle(r, entries, 'unchanged', 'reached');
    return act(r, entries, ctx, desired, {
      action,
      reason: `${ctx.config.kind} has no status query: acting on the edge`,
    });
  }
  const observation = read.observation;
  if (!observation) {
    const warning = unreadableWarning(ctx.config.kind, read);
    const repeat = testDefects.repeatBlindCalls;
    if (r.blind && r.reached && !repeat)
      return settle(r, entries, 'unchanged', 'reached (status unreadable)', warning);
    // Reached before, and a drift check's read failed: nothing says it drifted, so no call (a
    // blind start could begin a second load-test run).
    if (!fresh && r.reached && !resolvedCurrent && !r.blind)
      return settle(
        r,
        entries,
        'unchanged',
        `${desired.state} reached before; this drift check could not read the status (${read.error?.code ?? 'unknown'})`,
        warning,
      );
    // A call of this desired state was already answered ok: with no status to go by, its answer
    // is the outcome. Another call now could act twice (a second load-test run).
    if (r.answeredOk && !repeat)
      return settle(
        { ...r, reached: true, blind: true, tries: 0, nextCheckAt: undefined },
        entries,
        'unchanged',
        `status unreadable (${read.error?.code ?? 'unknown'}); the ${action} made for this state was answered ok: that is the outcome`,
        warning,
      );
    return act(
      { ...r, blind: true },
      entries,
      ctx,
      desired,
      {
        action,
        blind: true,
        reason: `status unreadable (${read.error?.code ?? 'unknown'}): one call, its answer is the outcome`,
      },
      warning,
    );
  }
  // A call of this desired state just resolved as not reached: its backoff runs first.
  if (resolvedCurrent && observation.state !== desired.state)
    return settle(
      r,
      entries,
      'resolved',
      `the unrecorded call did not reach ${desired.state}; next try at ${r.nextCheckAt}`,
    );
  const drift = !fresh && !resolvedCurrent && record?.reached === true && ctx.policy.mode === 'enforce';
  switch (observation.state) {
    case desired.state: {
      const wasReached = !fresh && record?.reached === true;
      r = { ...r, reached: true, tries: 0, nextCheckAt: undefined, final: false };
      const reason = `already ${desired.state} (${observation.text})`;
      // History only when something was at stake: a new desired state, or one not yet reached.
      const owed =
        wasReached || resolvedCurrent
          ? []
          : [entryOf('unchanged', reason, { ok: true, status: 'unchanged' })];
      return settle(r, [...entries, ...owed], 'unchanged', reason);
    }
    case 'pending': {
      const tries = r.tries + 1;
      r = { ...r, reached: false, tries, nextCheckAt: iso(now + retryDelayMs(tries)) };
      return settle(
        r,
        entries,
        'pending',
        `a transition is under way (${observation.text}); looking again at ${r.nextCheckAt}`,
      );
    }
    case 'ended': {
      const wasFinal = !fresh && record?.final === true;
      r = { ...r, reached: false, final: true };
      const reason = `the job has ended (${observation.text}); it cannot be ${desired.state}`;
      return settle(
        r,
        wasFinal ? entries : [...entries, unreachable(entryOf, ctx, reason)],
        'impossible',
        reason,
      );
    }
    case 'failed':
      // A failed task is not running: that is what stopped or paused asks for.
      if (desired.state !== 'running') {
        const wasReached = !fresh && record?.reached === true;
        r = { ...r, reached: true, tries: 0, nextCheckAt: undefined };
        const reason = `not running (${observation.text}): counts as ${desired.state}`;
        return settle(
          r,
          wasReached || resolvedCurrent
            ? entries
            : [...entries, entryOf('unchanged', reason, { ok: true, status: 'unchanged' })],
          'unchanged',
          reason,
        );
      }
      return act(r, entries, ctx, desired, {
        action,
        reason: `${observation.text}: ${action} to bring it to running`,
      });
    default:
      return act(r, entries, ctx, desired, {
        action,
        drift,
        reason: `${observation.text}, desired ${desired.state} (${by(desired)})${drift ? ': drift' : ''}`,
      });
  }
}

/** The entry of a DRS end an override covered at its minute: not carried out. */
function coveredEnd(
  ctx: TargetContext,
  end: EndDue,
  by: { id: string; state: string },
  at: string,
): HistoryEntry {
  return {
    ...entryBase(`end:${ctx.target}:${end.at}`, at, ctx.trigger, {
      schedule: end.schedule,
      scheduledAt: end.at,
      override: by.id,
    }),
    reason: `override ${by.id} (${by.state}) covered ${end.at}: the DRS stop is not carried out`,
    result: {
      target: ctx.target,
      kind: 'drs-job',
      action: 'stop',
      ok: true,
      status: 'skipped',
      attempts: 0,
      durationMs: 0,
    },
  };
}

/**
 * Resolves the call a stopped process (or a deadline) left in flight, by the status just read,
 * judged against what that call wanted; then notes what the read showed. `current`: the call
 * served the record's desired state, whose reached and backoff it has now updated.
 */
function resolveInFlight(
  record: TargetRecord | undefined,
  ctx: TargetContext,
  read: StatusRead | null,
  projectId: string,
): { record: TargetRecord; entries: HistoryEntry[]; current: boolean } {
  const at = iso(ctx.now);
  const entries: HistoryEntry[] = [];
  let r: TargetRecord = record ? { ...record } : blank(ctx.target);
  let current = false;
  if (r.inFlight) {
    const flight = r.inFlight;
    const sameThing =
      flight.ref === undefined || identityOf(flight.ref, projectId) === identityOf(ctx.config, projectId);
    const readOfFlight = sameThing ? read : null;
    // Its outcome already recorded (history is written before the record): known, not guessed.
    const recorded = ctx.recorded?.id === flight.id ? ctx.recorded : undefined;
    if (!recorded) entries.push(resolutionEntry(ctx.target, flight, readOfFlight, at));
    const reached = readOfFlight?.observation
      ? readOfFlight.observation.state === flight.want
      : sameThing && recorded?.result.ok === true;
    current = flight.trigger === 'tick' && flight.since === r.since && flight.want === r.desired;
    r = { ...r, inFlight: undefined, lease: undefined, ...endedAt(r, flight) };
    if (current) {
      if (reached) r = { ...r, reached: true, tries: 0, nextCheckAt: undefined };
      // Unreadable: whether the call happened cannot be known, so it is never repeated blind.
      // A read that only ran out of time is tried again, after the backoff.
      else if (read !== null && !read.observation && !unreadInTime(read))
        r = { ...r, reached: false, final: true };
      else
        r = {
          ...r,
          reached: false,
          tries: r.tries + 1,
          nextCheckAt: iso(ctx.now + retryDelayMs(r.tries + 1)),
        };
    }
  }
  r.observed = observedText(read) ?? r.observed;
  if (read !== null) r.lastCheckAt = at;
  return { record: r, entries, current };
}

/** A read that says nothing of the status because it ran out of time (not a refusal). */
function unreadInTime(read: StatusRead): boolean {
  const code = read.error?.code;
  return code === ErrorCode.deadline || code === ErrorCode.timeout || code === ErrorCode.network;
}

/**
 * A call left in flight (its lease over) whose status could not be read in time: resolved now as
 * unknown, so no record stays in flight past a lease and a tick however slow the upstream is. Its
 * desired state is looked at again after the backoff, with a fresh read; no call is made blind.
 */
export function resolvedUnread(
  record: TargetRecord,
  ctx: TargetContext,
  read: StatusRead,
  projectId: string,
): Settle {
  const flight = record.inFlight!;
  const resolved = resolveInFlight(record, ctx, read, projectId);
  return {
    record: resolved.record,
    entries: resolved.entries,
    outcome: 'resolved',
    reason: `the outcome of ${flight.action} ${flight.id} is unknown: its status was not read in time`,
  };
}

/**
 * An action asked for now (`run`, `POST /v1/actions`, `trigger`), by the same protocol: a call a
 * stopped process left in flight is resolved first; a target already in the requested state gets
 * `unchanged` and no call (unless forced); otherwise one call. The record's held state (what the
 * schedules want) is left as it is: an on-demand action is a manual change.
 */
export function onDemand(
  record: TargetRecord | undefined,
  ctx: TargetContext & { action: Action; want: TargetState },
  read: StatusRead | null,
  projectId: string,
): { record: TargetRecord; entries: HistoryEntry[]; call?: Call; unchanged?: HistoryEntry } {
  const resolved = resolveInFlight(record, ctx, read, projectId);
  const at = iso(ctx.now);
  const observation = read?.observation;
  if (!ctx.request?.force && observation?.state === ctx.want) {
    const unchanged: HistoryEntry = {
      ...entryBase(`${ctx.request?.id ?? at}:${ctx.target}:unchanged`, at, ctx.trigger, {
        ...(ctx.request?.id ? { requestId: ctx.request.id } : {}),
      }),
      reason: ctx.request?.reason ?? `on demand: ${ctx.action}; already ${ctx.want} (${observation.text})`,
      result: {
        target: ctx.target,
        kind: ctx.config.kind,
        action: ctx.action,
        ok: true,
        status: 'unchanged',
        attempts: 0,
        durationMs: 0,
        desired: ctx.want,
        observed: observation.text,
      },
    };
    return { record: resolved.record, entries: resolved.entries, unchanged };
  }
  return {
    record: resolved.record,
    entries: resolved.entries,
    call: {
      id: callIdFor(ctx, `${ctx.action}`),
      action: ctx.action,
      want: ctx.want,
      reason: ctx.request?.reason ?? `on demand: ${ctx.action}`,
      ...(read !== null && !observation ? { blind: true } : {}),
    },
  };
}

function unreachable(
  entryOf: (
    s: string,
    r: string,
    f: Partial<ActionResult> & Pick<ActionResult, 'ok' | 'status'>,
  ) => HistoryEntry,
  ctx: TargetContext,
  reason: string,
): HistoryEntry {
  return entryOf('unreachable', reason, {
    ok: false,
    status: 'failed',
    errorCode: ErrorCode.unreachable,
    errorMessage: `${ctx.target}: ${reason}`,
  });
}

function settle(
  record: TargetRecord,
  entries: HistoryEntry[],
  outcome: string,
  reason: string,
  warning?: Settle['warning'],
): Observed {
  return { kind: 'settle', settle: { record, entries, outcome, reason, ...(warning ? { warning } : {}) } };
}

function act(
  record: TargetRecord,
  entries: HistoryEntry[],
  ctx: TargetContext,
  desired: Desired,
  call: { action: Action; reason: string; drift?: boolean; blind?: boolean },
  warning?: Settle['warning'],
): Observed {
  const want = desired.state as TargetState;
  return {
    kind: 'act',
    act: {
      record,
      entries,
      call: {
        id: callIdFor(ctx, `${desired.since}:${want}:${record.calls ?? 0}`),
        action: call.action,
        want,
        reason: call.reason,
        ...(call.drift ? { drift: true } : {}),
        ...(call.blind ? { blind: true } : {}),
      },
      ...(warning ? { warning } : {}),
    },
  };
}

/**
 * A call's id: for a scheduled call, derived from what it is for (target, desired state, the
 * number of calls made for it), so two processes deciding the same call name it alike; on
 * demand, the request's own.
 */
function callIdFor(ctx: TargetContext, what: string): string {
  const basis = ctx.request?.id
    ? `req:${ctx.request.id}:${ctx.target}`
    : `${ctx.trigger}:${ctx.target}:${what}:${ctx.now}`;
  return `call-${createHash('sha256').update(basis).digest('base64url').slice(0, 22)}`;
}

/** The IAM permission a status read needs, by kind: named in the `status.unreadable` warning. */
const READ_PERMISSION: Record<TargetKind, string> = {
  'vias-task': 'GET /v2/{project_id}/tasks/{task_id} (VIAS read-only access)',
  'vias-batch-task': '(no status query)',
  'drs-job': 'POST /v3/{project_id}/jobs/batch-status (DRS ReadOnlyAccess)',
  'cpts-task': 'GET /v1/{project_id}/tasks/{task_id} (CPTS read-only access)',
};

function unreadableWarning(kind: TargetKind, read: StatusRead): Settle['warning'] {
  const code = read.error?.code ?? 'unknown';
  return {
    code: 'status.unreadable',
    permission: READ_PERMISSION[kind],
    message: `status unreadable (${code}: ${read.error?.message ?? ''}); each desired state gets one call, judged by its answer. Grant the IAM user the permission for ${READ_PERMISSION[kind]}`,
  };
}

// ---------------------------------------------------------------------------------------------
// The call's write, and step 3: concluded

/**
 * The record written just before the call is sent: the lease and the call in flight, in one
 * compare-and-set, so of two deciders exactly one sends, and a process that stops after sending
 * leaves what the next look needs to resolve the call.
 */
export function inFlightRecord(
  record: TargetRecord,
  call: Call,
  ctx: TargetContext,
  lease: { owner: string; until: number },
): TargetRecord {
  const scheduled = ctx.trigger === 'tick' && !call.occurrence;
  const inFlight: InFlight = {
    id: call.id,
    action: call.action,
    want: call.want,
    trigger: ctx.trigger,
    attempt: scheduled ? (record.calls ?? 0) + 1 : 1,
    startedAt: iso(ctx.now),
    owner: lease.owner,
    ref: ctx.config,
    ...(scheduled && ctx.desired
      ? {
          since: ctx.desired.since,
          because: ctx.desired.because,
          ...(ctx.desired.override ? { override: true } : {}),
        }
      : {}),
    ...(call.occurrence ? { occurrence: call.occurrence, because: call.schedule } : {}),
    ...(call.drift ? { drift: true } : {}),
    ...(call.blind ? { blind: true } : {}),
    ...(ctx.request?.id ? { requestId: ctx.request.id } : {}),
    ...(ctx.request?.reason ? { reason: ctx.request.reason } : {}),
  };
  return {
    ...record,
    version: record.version + 1,
    lease: { owner: lease.owner, until: iso(lease.until) },
    inFlight,
    lastAttemptAt: iso(ctx.now),
    ...(scheduled ? { calls: (record.calls ?? 0) + 1 } : {}),
  };
}

/** A call's answer is unknown when none came: it may have been applied (see `judged`). */
function unanswered(result: ActionResult): boolean {
  return (
    !result.ok &&
    (result.errorCode === ErrorCode.timeout ||
      result.errorCode === ErrorCode.network ||
      result.errorCode === ErrorCode.deadline)
  );
}

/**
 * The outcome of a call: its history entry (id = the call's id) judged by the status read after
 * it against what the call wanted, and the record with the lease and the call in flight cleared.
 * `in-flight` when the deadline cut the call off after it may have been sent: it stays in flight
 * and the next look resolves it by status; `not-sent` when it was never sent after all (the
 * deadline came first, or its sending could not be marked).
 */
export function concluded(
  record: TargetRecord,
  ctx: TargetContext,
  result: ActionResult,
  verify: StatusRead | null | undefined,
): Settle | 'in-flight' | 'not-sent' {
  const flight = record.inFlight!;
  if (result.errorCode === ErrorCode.deadline) return result.attempts > 0 ? 'in-flight' : 'not-sent';
  // Admitted, then kept from the connection (its sending could not be marked): never sent.
  if (result.errorCode === ErrorCode.notSent && result.attempts === 0) return 'not-sent';
  const at = iso(ctx.now);
  const { result: judgedResult, answerLost } = judged(result, verify, flight.want);
  const entry: HistoryEntry = {
    ...flightBase(flight, at),
    reason: answerLost
      ? `${flight.reason ?? ctx.desired?.because ?? ''}: the call's answer was lost (${result.errorCode}), the status read shows ${flight.want}`.replace(
          /^: /,
          '',
        )
      : flightReason(flight, ctx),
    result: { ...judgedResult, ...(flight.blind ? { verified: false, observed: null } : {}) },
  };
  let r: TargetRecord = {
    ...record,
    version: record.version + 1,
    inFlight: undefined,
    lease: undefined,
    ...endedAt(record, flight),
    lastOutcome: {
      at,
      action: flight.action,
      status: judgedResult.status,
      ...(judgedResult.errorCode ? { errorCode: judgedResult.errorCode } : {}),
    },
  };
  const observation = verify?.observation;
  if (verify) r.observed = observation ? observation.text : null;
  if (verify !== undefined && verify !== null) r.lastCheckAt = at;
  // The outcome moves the held state only when the call served it (not on demand, not an end).
  if (
    flight.trigger === 'tick' &&
    flight.since !== undefined &&
    flight.since === r.since &&
    flight.want === r.desired
  ) {
    if (judgedResult.ok) r.answeredOk = true;
    let reached: boolean;
    let final = false;
    if (flight.blind || verify === null) {
      // Nothing to verify by: the answer is the outcome. No answer: unknown, never repeated blind.
      reached = judgedResult.ok;
      final = !judgedResult.ok && unanswered(result) && flight.blind === true;
    } else {
      reached = observation?.state === flight.want;
    }
    r = reached
      ? { ...r, reached: true, tries: 0, nextCheckAt: undefined }
      : final
        ? { ...r, reached: false, final: true }
        : { ...r, reached: false, tries: r.tries + 1, nextCheckAt: iso(ctx.now + retryDelayMs(r.tries + 1)) };
  }
  return {
    record: r,
    entries: [entry],
    outcome: judgedResult.ok ? 'succeeded' : 'failed',
    reason: entry.reason ?? '',
  };
}

/** A verify read that says something: one cut short by the deadline or called off says nothing. */
export function usableVerify(read: StatusRead | null | undefined): StatusRead | null | undefined {
  const code = read?.error?.code;
  return code === ErrorCode.deadline || code === ErrorCode.notSent ? undefined : read;
}

/** A DRS end call, once sent, has handled its edge (whatever its outcome): it is never made twice. */
function endedAt(record: TargetRecord, flight: InFlight): Pick<TargetRecord, 'lastEnd'> {
  if (!flight.occurrence || endHandled(record, { at: flight.occurrence, schedule: '' })) return {};
  return { lastEnd: flight.occurrence };
}

/** The record when a decided call is not sent after all (an override came, the deadline passed). */
export function notSent(record: TargetRecord): TargetRecord {
  return { ...record, version: record.version + 1, lease: undefined, inFlight: undefined };
}

// ---------------------------------------------------------------------------------------------
// Entries

const LATE_AFTER_MS = MINUTE_MS;

function entryBase(
  id: string,
  at: string,
  trigger: Trigger,
  fields: Partial<HistoryEntry> = {},
): Omit<HistoryEntry, 'result'> {
  return { id: stableId(id), recordedAt: at, trigger, ...fields };
}

function stableId(basis: string): string {
  return `e-${createHash('sha256').update(basis).digest('base64url').slice(0, 22)}`;
}

function scheduledBase(
  id: string,
  at: string,
  ctx: TargetContext,
  desired: Desired,
  fresh: boolean,
): Omit<HistoryEntry, 'result'> {
  const late = fresh && ctx.now - Date.parse(desired.since) > LATE_AFTER_MS;
  return entryBase(id, at, ctx.trigger, {
    ...(desired.override ? { override: desired.override } : { schedule: desired.because }),
    scheduledAt: desired.since,
    ...(late ? { late: true } : {}),
  });
}

function resultOf(
  ctx: TargetContext,
  desired: Desired,
  action: Action | undefined,
  read: StatusRead | null,
  fields: Partial<ActionResult> & Pick<ActionResult, 'ok' | 'status'>,
): ActionResult {
  const observed = observedText(read);
  return {
    target: ctx.target,
    kind: ctx.config.kind,
    action: action ?? desired.action ?? 'stop',
    attempts: 0,
    durationMs: 0,
    desired: desired.state as TargetState,
    ...(observed === undefined ? {} : { observed }),
    ...fields,
  };
}

/** Where a call came from, as entry fields: its schedule or override and edge, or its request. */
function flightBase(flight: InFlight, at: string): Omit<HistoryEntry, 'result'> {
  const scheduledAt = flight.occurrence ?? flight.since;
  const late =
    scheduledAt !== undefined && Date.parse(flight.startedAt) - Date.parse(scheduledAt) > LATE_AFTER_MS;
  return {
    id: flight.id,
    recordedAt: at,
    startedAt: flight.startedAt,
    trigger: flight.trigger,
    ...(flight.because !== undefined
      ? flight.override
        ? { override: flight.because }
        : { schedule: flight.because }
      : {}),
    ...(scheduledAt !== undefined ? { scheduledAt } : {}),
    ...(late && flight.trigger === 'tick' ? { late: true } : {}),
    ...(flight.drift ? { drift: true } : {}),
    ...(flight.requestId ? { requestId: flight.requestId } : {}),
  };
}

function flightReason(flight: InFlight, ctx: TargetContext): string | undefined {
  if (flight.reason) return flight.reason;
  if (flight.occurrence) return `DRS end due at ${flight.occurrence}`;
  // On demand without a reason given: the entry's trigger and request id say it all.
  if (flight.trigger !== 'tick') return undefined;
  return ctx.desired
    ? `desired ${flight.want} since ${flight.since} (${by(ctx.desired)})`
    : `desired ${flight.want}`;
}

/**
 * The entry of a call whose process stopped before recording it: judged by the status now
 * against what that call wanted. Its id is the call's, so the entry the caller may have written
 * before it stopped and this one are one entry.
 */
function resolutionEntry(
  target: string,
  flight: InFlight,
  read: StatusRead | null,
  at: string,
): HistoryEntry {
  const observation = read?.observation;
  const reached = observation?.state === flight.want;
  const text = seen(read);
  return {
    ...flightBase(flight, at),
    reason: `the ${flight.action} sent at ${flight.startedAt} by ${flight.owner} was never recorded; resolved by status: ${text}`,
    result: {
      target,
      kind: flight.ref?.kind,
      action: flight.action,
      ok: reached,
      status: reached ? 'succeeded' : 'failed',
      ...(reached
        ? {}
        : {
            errorCode: ErrorCode.outcomeUnknown,
            errorMessage: `${target}: the outcome of ${flight.action} (sent ${flight.startedAt}) was never recorded and the status (${text}) does not show ${flight.want}`,
          }),
      attempts: 1,
      durationMs: 0,
      desired: flight.want,
      verified: reached,
      ...(read ? { observed: read.observation?.text ?? null } : {}),
    },
  };
}

/** A desired state given up before it was reached: missed when a newer one replaces it. */
function isSuperseded(record: TargetRecord): boolean {
  return (
    record.desired !== undefined &&
    record.desired !== 'hands-off' &&
    record.desired !== 'ended' &&
    !record.reached &&
    !record.final
  );
}

function supersededEntry(
  ctx: TargetContext,
  record: TargetRecord,
  desired: Desired,
  at: string,
): HistoryEntry {
  const kind = ctx.config.kind;
  const state = record.desired as TargetState;
  return {
    ...entryBase(`superseded:${ctx.target}:${record.since}:${state}:v${record.version}`, at, ctx.trigger, {
      ...(record.override ? { override: record.because! } : { schedule: record.because! }),
      ...(record.since ? { scheduledAt: record.since } : {}),
    }),
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

const iso = (ms: number): string => new Date(ms).toISOString();
