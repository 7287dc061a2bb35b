import type { Config } from '../engine/config/schema.ts';
import { activeOverride, type OverrideRule } from '../engine/decision.ts';
import { type Edge, latestEdges, latestEdgesAhead } from '../engine/desired.ts';
import { due } from '../engine/planner.ts';
import type { UpcomingChange } from './make.ts';

const MINUTE = 60_000;

/**
 * When the tick's own replay cannot be looked ahead from (a catch-up, a late Lambda tick), the
 * look ahead keeps a replay of its own, on a shallow copy of the config made once per config:
 * sharing the tick's would send it back and forth and replay from scratch every tick.
 */
const ahead = new WeakMap<Config, Config>();
function lookAheadConfig(config: Config): Config {
  let copy = ahead.get(config);
  if (!copy) {
    copy = { ...config };
    ahead.set(config, copy);
  }
  return copy;
}

export interface UpcomingOptions {
  config: Config;
  /** The overrides current at the tick (active and future): a change an override covers is not coming. */
  overrides: readonly OverrideRule[];
  /** The minutes the tick evaluated: `(from, to]`. */
  from: number;
  to: number;
  /** Nothing already past is announced (a catch-up after downtime). */
  now: number;
  minutesAhead: number;
}

/**
 * The desired-state changes the schedules make `minutesAhead` after the evaluated minutes: for each
 * target whose effective edge in `(from + ahead, to + ahead]` sets another state than the one
 * before it, and which no override holds at that instant. Cheap on the minutes with no plan row
 * (nearly all of them): the level replay runs only when a row is due.
 */
export function upcomingChanges(options: UpcomingOptions): UpcomingChange[] {
  const { config, minutesAhead } = options;
  if (minutesAhead <= 0) return [];
  const shift = minutesAhead * MINUTE;
  const start = options.from + shift;
  const end = options.to + shift;
  if (end <= start || due(config, start, end).length === 0) return [];
  // From the tick's replay (which reconcile has just brought to "now"): 15 minutes of rows.
  const [before, after] = (latestEdgesAhead(config, [start, end]) ?? [
    latestEdges(lookAheadConfig(config), start),
    latestEdges(lookAheadConfig(config), end),
  ]) as [Map<string, Edge>, Map<string, Edge>];
  const changes: UpcomingChange[] = [];
  for (const [target, edge] of after) {
    const at = Date.parse(edge.at);
    if (at <= start || at <= options.now) continue;
    const previous = before.get(target);
    if (previous && previous.state === edge.state) continue;
    if (activeOverride(options.overrides, target, at)) continue;
    const kind = config.targets[target]?.kind;
    if (!kind) continue;
    changes.push({
      target,
      kind,
      at: edge.at,
      state: edge.state,
      ...(previous ? { from: previous.state } : {}),
      action: edge.action,
      schedule: edge.schedule,
      minutesAhead: Math.round((at - options.now) / MINUTE),
    });
  }
  return changes.sort((a, b) => a.at.localeCompare(b.at) || a.target.localeCompare(b.target));
}
