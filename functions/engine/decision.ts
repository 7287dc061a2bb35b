import { MINUTE_MS } from './calendar/zone.ts';
import type { Config } from './config/schema.ts';
import type { Edge } from './desired.ts';
import type { Action } from './kinds.ts';
import type { TargetState } from './states.ts';

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
