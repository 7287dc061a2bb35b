import { MINUTE_MS } from './calendar/zone.ts';
import type { Config } from './config/schema.ts';
import type { Edge } from './desired.ts';
import type { Action, TargetKind } from './kinds.ts';
import type { TargetRecord } from './ledger.ts';
import { actionToward, type StatusRead, type TargetState } from './states.ts';

/**
 * An override as the decision sees it: while `from <= t < until` it beats every schedule.
 * `hands-off` means no call at all. (Stored and managed by the ledger; see overrides.)
 */
export interface OverrideRule {
  id: string;
  targets: readonly string[];
  state: TargetState | 'hands-off';
  from: string;
  until: string;
}

export type ReconcileMode = 'transitions' | 'enforce';

export interface Policy {
  mode: ReconcileMode;
  enforceEveryMinutes: number;
}

/** What a target should be now, and why. */
export interface Desired {
  state: TargetState | 'hands-off';
  /** The instant the state was set: the edge, or the override's start. */
  since: string;
  /** The schedule id, or the override id. */
  because: string;
  /** The edge's own action (a DRS stop is acted on once, at its edge). */
  action?: Action;
  override?: string;
}

export const DEFAULT_ENFORCE_EVERY_MINUTES = 15;
/** Backoff between tries that did not reach the state: 1, 2, 4, ... minutes, at most 30. */
export const MAX_RETRY_MINUTES = 30;

export function retryDelayMs(tries: number): number {
  return Math.min(2 ** Math.max(0, tries - 1), MAX_RETRY_MINUTES) * MINUTE_MS;
}

/** The override in force for a target at `t`: the one that started last wins. */
export function activeOverride(
  overrides: readonly OverrideRule[],
  target: string,
  t: number,
): OverrideRule | undefined {
  let found: OverrideRule | undefined;
  for (const o of overrides) {
    if (!o.targets.includes(target)) continue;
    if (Date.parse(o.from) > t || Date.parse(o.until) <= t) continue;
    if (!found || Date.parse(o.from) >= Date.parse(found.from)) found = o;
  }
  return found;
}

/** The desired state from the target's latest edge and the overrides in force. */
export function desiredOf(
  target: string,
  edge: Edge | undefined,
  overrides: readonly OverrideRule[],
  t: number,
): Desired | undefined {
  const override = activeOverride(overrides, target, t);
  if (override)
    return { state: override.state, since: override.from, because: override.id, override: override.id };
  if (!edge) return undefined;
  return { state: edge.state, since: edge.at, because: edge.schedule, action: edge.action };
}

const schedulesById = new WeakMap<Config, Map<string, Config['schedules'][number]>>();

/** A schedule by id, from a map built once per config: the tick asks for every target. */
export function scheduleById(config: Config, id: string): Config['schedules'][number] | undefined {
  let byId = schedulesById.get(config);
  if (!byId) {
    byId = new Map(config.schedules.map((s) => [s.id, s]));
    schedulesById.set(config, byId);
  }
  return byId.get(id);
}

/** The target's own `reconcile`, else that of the schedule that set the state, else transitions. */
export function policyOf(config: Config, target: string, desired: Desired | undefined): Policy {
  const own = config.targets[target];
  const schedule = desired?.override || !desired ? undefined : scheduleById(config, desired.because);
  return {
    mode: own?.reconcile ?? schedule?.reconcile ?? 'transitions',
    enforceEveryMinutes:
      own?.enforceEveryMinutes ?? schedule?.enforceEveryMinutes ?? DEFAULT_ENFORCE_EVERY_MINUTES,
  };
}

export type Outcome =
  /** Nothing to look at this tick. */
  | 'idle'
  /** The status must be read before deciding. */
  | 'look'
  /** Already in the desired state: no call. */
  | 'unchanged'
  /** A transition under way (STARTING, STOPPING, ...): wait, do not call. */
  | 'pending'
  /** The state cannot be reached (a DRS job that has ended): no call, no retry. */
  | 'impossible'
  /** One call to make. */
  | 'act';

export interface Decision {
  desired: Desired | undefined;
  outcome: Outcome;
  action?: Action;
  /** The desired state differs from what the ledger last held: a new edge or override. */
  fresh: boolean;
  /** With `enforce`: the target drifted from a state it had reached. */
  drift: boolean;
  /** The ledger holds a call whose outcome is unknown (its process stopped): resolve by status. */
  resolve: boolean;
  reason: string;
}

export interface DecisionInput {
  target: string;
  kind: TargetKind;
  desired: Desired | undefined;
  policy: Policy;
  record: TargetRecord | undefined;
  now: number;
  /** Who is deciding: a lease held by this owner does not block. */
  owner?: string;
  /**
   * The status just read: absent before the read (the decision then says whether to `look`),
   * `null` for kinds without a status query.
   */
  read?: StatusRead | null;
}

/**
 * The scheduling decision for one target, as one pure function (in the spirit of AWS Instance
 * Scheduler's `scheduling_decision`): the desired state, whether to look upstream, and the one
 * action to take or none, with a reason a person can read in the history.
 */
export function decide(input: DecisionInput): Decision {
  const { desired, record, now, policy } = input;
  const base = { desired, fresh: false, drift: false, resolve: false };
  if (!desired) return { ...base, outcome: 'idle', reason: 'no edge in the last 35 days: no desired state' };
  const fresh = !record || record.desired !== desired.state || record.since !== desired.since;
  const by = desired.override ? `override ${desired.override}` : `schedule ${desired.because}`;
  if (desired.state === 'hands-off')
    return { ...base, fresh, outcome: 'idle', reason: `hands-off (${by}): no call of any kind` };
  if (desired.state === 'ended')
    return {
      ...base,
      fresh,
      outcome: 'idle',
      reason: 'a DRS stop ends the job once, at its edge; reconciliation never repeats it',
    };
  const leased = record?.lease && Date.parse(record.lease.until) > now && record.lease.owner !== input.owner;
  if (leased)
    return {
      ...base,
      fresh,
      outcome: 'idle',
      reason: `another process holds the lease until ${record!.lease!.until}`,
    };
  const resolve = record?.inFlight !== undefined;

  if (input.read === undefined) {
    const look = (reason: string, drift = false) => ({
      ...base,
      fresh,
      resolve,
      drift,
      outcome: 'look' as const,
      reason,
    });
    if (resolve)
      return look(
        `the outcome of ${record!.inFlight!.action} (try ${record!.inFlight!.attempt}) is unknown: reading status`,
      );
    if (fresh) return look(`desired ${desired.state} since ${desired.since} (${by})`);
    if (record!.final)
      return {
        ...base,
        outcome: 'idle',
        reason: `${desired.state} cannot be reached (${record!.observed ?? 'unknown'}); waiting for the next edge`,
      };
    if (!record!.reached) {
      if (record!.nextCheckAt && Date.parse(record!.nextCheckAt) > now)
        return {
          ...base,
          outcome: 'idle',
          reason: `not yet ${desired.state}; next try at ${record!.nextCheckAt}`,
        };
      return look(`not yet ${desired.state}: try ${record!.tries + 1}`);
    }
    if (policy.mode === 'enforce') {
      const last = record!.lastCheckAt ? Date.parse(record!.lastCheckAt) : Number.NEGATIVE_INFINITY;
      if (now - last >= policy.enforceEveryMinutes * MINUTE_MS)
        return look(`enforce: checking for drift every ${policy.enforceEveryMinutes} min`, true);
      return {
        ...base,
        outcome: 'idle',
        reason: `${desired.state}; next drift check within ${policy.enforceEveryMinutes} min`,
      };
    }
    return {
      ...base,
      outcome: 'idle',
      reason: `${desired.state} reached; transitions mode leaves later manual changes alone`,
    };
  }

  const drift = !fresh && !resolve && record?.reached === true;
  const decided = { ...base, fresh, resolve };
  const action = actionToward(input.kind, desired.state);
  const act = (reason: string) =>
    action
      ? { ...decided, drift, outcome: 'act' as const, action, reason }
      : { ...decided, outcome: 'impossible' as const, reason: `a ${input.kind} cannot be ${desired.state}` };
  const read = input.read;
  if (read === null) return act(`${input.kind} has no status query: acting on the edge`);
  const observed = read.observation;
  if (!observed) return act(`status read failed (${read.error?.code ?? 'unknown'}): acting anyway`);
  const seen = `${observed.text}`;
  switch (observed.state) {
    case desired.state:
      return { ...decided, outcome: 'unchanged', reason: `already ${desired.state} (${seen})` };
    case 'pending':
      return { ...decided, outcome: 'pending', reason: `a transition is under way (${seen}); waiting` };
    case 'ended':
      return {
        ...decided,
        outcome: 'impossible',
        reason: `the job has ended (${seen}); it cannot be ${desired.state}`,
      };
    case 'failed':
      // A failed task is not running: that is what stopped or paused asks for.
      if (desired.state !== 'running')
        return {
          ...decided,
          outcome: 'unchanged',
          reason: `not running (${seen}): counts as ${desired.state}`,
        };
      return act(`${seen}: ${action} to bring it to ${desired.state}`);
    default:
      return act(`${seen}, desired ${desired.state} (${by})${drift ? ': drift' : ''}`);
  }
}
