import { MINUTE_MS } from './calendar/zone.ts';
import type { Config } from './config/schema.ts';
import { expandTargetNames } from './config/validate.ts';
import type { Action } from './kinds.ts';
import { type DueAction, due } from './planner.ts';
import { stateAfter, type TargetState } from './states.ts';

/** An instant at which a schedule sets a target's state. */
export interface Edge {
  /** UTC ISO 8601, whole minute. */
  at: string;
  schedule: string;
  action: Action;
  state: TargetState;
}

/** How far back the latest edge is looked for: beyond it a target has no desired state. */
export const LOOKBACK_DAYS = 35;
const DAY_MS = 1440 * MINUTE_MS;
const LOOKBACK_MS = LOOKBACK_DAYS * DAY_MS;

/**
 * Edges of one target at one instant resolve to `running` (a hand-over from one window to the
 * next, or a `00:00-24:00` window, never stops the target), and a held state beats a DRS end.
 */
const PRECEDENCE: Record<TargetState, number> = { running: 3, paused: 2, stopped: 2, ended: 1 };

export function prefer(current: Edge | undefined, next: Edge): Edge {
  if (!current || current.at !== next.at) return next;
  return PRECEDENCE[next.state] > PRECEDENCE[current.state] ? next : current;
}

/** The edges each target gets from plan rows, in time order. */
export function edgesOf(config: Config, rows: readonly DueAction[]): Map<string, Edge[]> {
  const edges = new Map<string, Edge[]>();
  for (const row of rows) {
    for (const target of row.targets) {
      const kind = config.targets[target]?.kind;
      if (!kind) continue;
      const edge = {
        at: row.at,
        schedule: row.schedule,
        action: row.action,
        state: stateAfter(kind, row.action),
      };
      const list = edges.get(target);
      if (list) list.push(edge);
      else edges.set(target, [edge]);
    }
  }
  return edges;
}

/**
 * Plan rows explained: the state each row sets for each of its targets, and the targets for
 * which another row at the same instant wins (a hand-over resolves to running).
 */
export function explainRows(
  config: Config,
  rows: readonly DueAction[],
): (DueAction & { desired: Record<string, TargetState>; overruled?: string[] })[] {
  const winner = new Map<string, Edge>();
  for (const [target, edges] of edgesOf(config, rows))
    for (const edge of edges)
      winner.set(`${target}|${edge.at}`, prefer(winner.get(`${target}|${edge.at}`), edge));
  return rows.map((row) => {
    const desired: Record<string, TargetState> = {};
    const overruled: string[] = [];
    for (const target of row.targets) {
      desired[target] = stateAfter(config.targets[target]!.kind, row.action);
      const won = winner.get(`${target}|${row.at}`);
      if (won && (won.schedule !== row.schedule || won.action !== row.action)) overruled.push(target);
    }
    return { ...row, desired, ...(overruled.length > 0 ? { overruled } : {}) };
  });
}

/** Targets named by at least one enabled schedule: the only ones that can have a desired state. */
function scheduledTargets(config: Config): Set<string> {
  const names = new Set<string>();
  for (const schedule of config.schedules) {
    if (!schedule.enabled) continue;
    for (const name of expandTargetNames(schedule.targets, config.targets, config.groups)) names.add(name);
  }
  return names;
}

/**
 * The latest edge of every scheduled target as of an instant, kept up to date incrementally:
 * a tick one minute after the last evaluates only that minute, and only a first evaluation (or
 * a jump) scans back, a day at a time, until every target has an edge or the look-back ends.
 */
class EdgeTracker {
  private asOf: number | undefined;
  private latest = new Map<string, Edge>();
  private readonly targets: Set<string>;

  constructor(private readonly config: Config) {
    this.targets = scheduledTargets(config);
  }

  at(t: number): Map<string, Edge> {
    const instant = Math.floor(t / MINUTE_MS) * MINUTE_MS;
    if (this.asOf !== undefined && instant >= this.asOf && instant - this.asOf <= DAY_MS) {
      this.apply(due(this.config, this.asOf, instant));
    } else {
      this.scanBack(instant);
    }
    this.asOf = instant;
    const live = new Map<string, Edge>();
    for (const [target, edge] of this.latest)
      if (Date.parse(edge.at) > instant - LOOKBACK_MS) live.set(target, edge);
    return live;
  }

  private apply(rows: readonly DueAction[]): void {
    for (const [target, edges] of edgesOf(this.config, rows))
      for (const edge of edges) this.latest.set(target, prefer(this.latest.get(target), edge));
  }

  private scanBack(instant: number): void {
    this.latest = new Map();
    let config = this.config;
    for (let day = 0; day < LOOKBACK_DAYS && this.latest.size < this.targets.size; day++) {
      // Most targets have an edge within a day: further back, only the schedules of the targets
      // still without one are evaluated, so a large config pays for its daily scan once.
      if (day === 1) config = this.narrowedToMissing();
      const to = instant - day * DAY_MS;
      const found = new Map<string, Edge>();
      for (const [target, edges] of edgesOf(config, due(config, to - DAY_MS, to))) {
        if (this.latest.has(target)) continue;
        let last: Edge | undefined;
        for (const edge of edges) last = prefer(last, edge);
        found.set(target, last!);
      }
      for (const [target, edge] of found) this.latest.set(target, edge);
    }
  }

  /** The config with only the schedules that name a target without an edge yet. */
  private narrowedToMissing(): Config {
    const schedules = this.config.schedules.filter(
      (schedule) =>
        schedule.enabled &&
        expandTargetNames(schedule.targets, this.config.targets, this.config.groups).some(
          (name) => !this.latest.has(name),
        ),
    );
    return { ...this.config, schedules };
  }
}

const trackers = new WeakMap<Config, EdgeTracker>();

/**
 * The latest edge at or before `t` (looking back 35 days) of every target that has one. Pure in
 * effect: the result depends only on the config and the instant; the incremental state is a
 * cache per config object.
 */
export function latestEdges(config: Config, t: number): Map<string, Edge> {
  let tracker = trackers.get(config);
  if (!tracker) {
    tracker = new EdgeTracker(config);
    trackers.set(config, tracker);
  }
  return tracker.at(t);
}
