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
 * The longest a window can stay open: 24 hours (`00:00-24:00`), plus an hour on the night clocks
 * are turned back, plus margin. Replaying this much before an instant finds every window open at it.
 */
const WINDOW_SPAN_MS = 26 * 60 * MINUTE_MS;

/**
 * Edges of one target at one instant resolve to `running` (a hand-over from one window to the
 * next, or a `00:00-24:00` window, never stops the target), and a held state beats a DRS end.
 */
const PRECEDENCE: Record<TargetState, number> = { running: 3, paused: 2, stopped: 2, ended: 1 };

export function prefer(current: Edge | undefined, next: Edge): Edge {
  if (!current || current.at !== next.at) return next;
  return PRECEDENCE[next.state] > PRECEDENCE[current.state] ? next : current;
}

/** What a plan row is to one of its targets: a window opening or closing, or a cron action. */
type Role = 'open' | 'close' | 'cron';

interface Happening extends Edge {
  role: Role;
}

const schedulesWithWindows = new WeakMap<Config, Set<string>>();

function roleOf(config: Config, schedule: string, state: TargetState): Role {
  let windows = schedulesWithWindows.get(config);
  if (!windows) {
    windows = new Set(config.schedules.filter((s) => s.window !== undefined).map((s) => s.id));
    schedulesWithWindows.set(config, windows);
  }
  if (!windows.has(schedule)) return 'cron';
  return state === 'running' ? 'open' : 'close';
}

/** The edges each target gets from plan rows, in time order (every row, effective or not). */
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

/** What the schedules hold one target at, as a level machine: the windows open and the last edge. */
interface TargetLevel {
  /** Windows open now, by schedule id (a window is a level: running while any is open). */
  open: Set<string>;
  /** The latest effective edge. */
  edge?: Edge;
}

/**
 * Applies the happenings of one target at one instant to its level, and returns the new effective
 * edge, or undefined when they change nothing (a window closing while another is open, a cron
 * stop inside an open window: overruled).
 *
 * The rule (design, "Holding states: one transition function"): a target is `running` while any
 * of its windows is open, in each schedule's own zone; otherwise its latest edge (cron actions,
 * window closings) decides; edges at one instant resolve to `running`.
 */
function step(level: TargetLevel, happenings: readonly Happening[]): Edge | undefined {
  for (const h of happenings) if (h.role === 'close') level.open.delete(h.schedule);
  for (const h of happenings) if (h.role === 'open') level.open.add(h.schedule);
  let effective: Edge | undefined;
  if (level.open.size > 0) {
    // Running while a window is open: only an opening (first choice) or a cron start is an edge.
    const running =
      happenings.find((h) => h.role === 'open') ?? happenings.find((h) => h.state === 'running');
    if (running) effective = strip(running);
  } else {
    for (const h of happenings) effective = prefer(effective, strip(h));
  }
  if (effective) level.edge = effective;
  return effective;
}

function strip(h: Happening): Edge {
  return { at: h.at, schedule: h.schedule, action: h.action, state: h.state };
}

/**
 * Feeds plan rows, in time order, through each target's level machine; `onEdge` hears every
 * effective edge, `onOverruled` every row a target does not follow (for `plan --explain`).
 */
function replay(
  config: Config,
  levels: Map<string, TargetLevel>,
  rows: readonly DueAction[],
  onEdge?: (target: string, edge: Edge) => void,
  onOverruled?: (target: string, row: DueAction) => void,
): void {
  let i = 0;
  while (i < rows.length) {
    const at = rows[i]!.at;
    const byTarget = new Map<string, { happenings: Happening[]; rows: DueAction[] }>();
    for (; i < rows.length && rows[i]!.at === at; i++) {
      const row = rows[i]!;
      for (const target of row.targets) {
        const kind = config.targets[target]?.kind;
        if (!kind) continue;
        const state = stateAfter(kind, row.action);
        let entry = byTarget.get(target);
        if (!entry) {
          entry = { happenings: [], rows: [] };
          byTarget.set(target, entry);
        }
        entry.happenings.push({
          at,
          schedule: row.schedule,
          action: row.action,
          state,
          role: roleOf(config, row.schedule, state),
        });
        entry.rows.push(row);
      }
    }
    for (const [target, { happenings, rows: its }] of byTarget) {
      let level = levels.get(target);
      if (!level) {
        level = { open: new Set() };
        levels.set(target, level);
      }
      const edge = step(level, happenings);
      if (edge) onEdge?.(target, edge);
      if (onOverruled)
        for (const row of its)
          if (!edge || edge.schedule !== row.schedule || edge.action !== row.action) onOverruled(target, row);
    }
  }
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

/** The config with only the enabled schedules that name one of `wanted`. */
function narrowed(config: Config, wanted: ReadonlySet<string>): Config {
  const schedules = config.schedules.filter(
    (schedule) =>
      schedule.enabled &&
      expandTargetNames(schedule.targets, config.targets, config.groups).some((name) => wanted.has(name)),
  );
  return { ...config, schedules };
}

/**
 * How far back targets still without an edge are replayed, step by step: a week holds the last
 * edge of every weekday schedule (a Monday looks back past the weekend), and only the rest pay
 * for the whole look-back.
 */
const LOOKBACK_STEPS_MS = [7 * DAY_MS, LOOKBACK_MS];

/**
 * The level of every scheduled target at `instant`, computed from scratch: the rows of the last
 * day, replayed from a window span earlier so every window open at the instant is known; targets
 * with no edge in that day are replayed over a week, then over the whole look-back, with only
 * their schedules. An edge is trusted only when a window span of rows precedes it (a closing is
 * effective only if no earlier-opened window is still open).
 */
function levelsAt(config: Config, instant: number): Map<string, TargetLevel> {
  const levels = new Map<string, TargetLevel>();
  replay(config, levels, due(config, instant - DAY_MS - WINDOW_SPAN_MS, instant));
  let missing = new Set<string>();
  for (const target of scheduledTargets(config)) {
    const edge = levels.get(target)?.edge;
    if (!edge || Date.parse(edge.at) <= instant - DAY_MS) missing.add(target);
  }
  for (const span of LOOKBACK_STEPS_MS) {
    if (missing.size === 0) break;
    const older = new Map<string, TargetLevel>();
    const sub = narrowed(config, missing);
    replay(sub, older, due(sub, instant - span - WINDOW_SPAN_MS, instant));
    const still = new Set<string>();
    for (const target of missing) {
      const level = older.get(target);
      // Short of the whole look-back, an edge too close to the replay's start is not trusted.
      if (span < LOOKBACK_MS && (!level?.edge || Date.parse(level.edge.at) <= instant - span))
        still.add(target);
      else if (level) levels.set(target, level);
      else levels.delete(target);
    }
    missing = still;
  }
  return levels;
}

function live(levels: Map<string, TargetLevel>, instant: number): Map<string, Edge> {
  const out = new Map<string, Edge>();
  for (const [target, level] of levels)
    if (level.edge && Date.parse(level.edge.at) > instant - LOOKBACK_MS) out.set(target, level.edge);
  return out;
}

/**
 * The latest effective edge of every scheduled target as of an instant, kept up to date
 * incrementally: a tick one minute after the last replays only that minute; a first evaluation
 * (or a jump, or a step back) computes from scratch.
 */
class LevelTracker {
  private asOf: number | undefined;
  private levels = new Map<string, TargetLevel>();

  constructor(private readonly config: Config) {}

  at(t: number): Map<string, Edge> {
    const instant = Math.floor(t / MINUTE_MS) * MINUTE_MS;
    if (this.asOf !== undefined && instant >= this.asOf && instant - this.asOf <= DAY_MS) {
      if (instant > this.asOf) replay(this.config, this.levels, due(this.config, this.asOf, instant));
    } else {
      this.levels = levelsAt(this.config, instant);
    }
    this.asOf = instant;
    return live(this.levels, instant);
  }

  /**
   * The latest edges at later instants (ascending), replayed on a copy of the levels from where
   * this tracker stands, which stays put. Undefined when an instant is before where it stands, or
   * more than a day past it.
   */
  ahead(instants: readonly number[]): Map<string, Edge>[] | undefined {
    if (this.asOf === undefined) return undefined;
    const levels = new Map<string, TargetLevel>();
    for (const [target, level] of this.levels) levels.set(target, { ...level, open: new Set(level.open) });
    let asOf = this.asOf;
    const out: Map<string, Edge>[] = [];
    for (const t of instants) {
      const instant = Math.floor(t / MINUTE_MS) * MINUTE_MS;
      if (instant < asOf || instant - asOf > DAY_MS) return undefined;
      if (instant > asOf) replay(this.config, levels, due(this.config, asOf, instant));
      asOf = instant;
      out.push(live(levels, instant));
    }
    return out;
  }
}

const trackers = new WeakMap<Config, LevelTracker>();

/**
 * The latest effective edge at or before `t` (looking back 35 days) of every target that has
 * one: `running` while any of the target's windows is open, else its latest cron action or window
 * closing. Pure in effect: the result depends only on the config and the instant; the incremental
 * state is a cache per config object.
 */
export function latestEdges(config: Config, t: number): Map<string, Edge> {
  let tracker = trackers.get(config);
  if (!tracker) {
    tracker = new LevelTracker(config);
    trackers.set(config, tracker);
  }
  return tracker.at(t);
}

/** A stretch of time over which the schedules hold a target in one state, set by one edge. */
export interface Span {
  /** UTC ISO 8601: the start of the span within the range asked for (the range start at most). */
  from: string;
  /** UTC ISO 8601, exclusive: the next edge, or the range end. */
  to: string;
  /** The edge that set the state (it may precede `from`); absent: no desired state (nothing held). */
  edge?: Edge;
}

interface OpenSpan {
  from: number;
  edge?: Edge;
  edgeAt?: number;
}

/**
 * The schedules' desired state of each target over `[from, to)`, as consecutive spans: what the
 * week view draws and what savings count as planned. One span per effective edge, so a repeated
 * edge of the same state (a daily cron start) starts a new span. Computed by the same level
 * machine as the tick.
 */
export function desiredSpans(
  config: Config,
  from: number,
  to: number,
  targets: readonly string[] = Object.keys(config.targets),
): Map<string, Span[]> {
  const spans = new Map<string, Span[]>();
  for (const target of targets) spans.set(target, []);
  // Each target's spans follow one another: the instant one ends is formatted once, for both.
  const ends = new Map<string, { at: number; text: string }>();
  eachDesiredSpan(config, from, to, targets, (target, start, end, edge) => {
    const previous = ends.get(target);
    const startText = previous?.at === start ? previous.text : iso(start);
    const endText = iso(end);
    ends.set(target, { at: end, text: endText });
    spans.get(target)!.push({ from: startText, to: endText, ...(edge ? { edge } : {}) });
  });
  return spans;
}

/**
 * `desiredSpans` as numbers, handed over as each span closes (per target in time order): for
 * savings, which add them up, and need neither the span objects nor their instants as text.
 */
export function eachDesiredSpan(
  config: Config,
  from: number,
  to: number,
  targets: readonly string[],
  visit: (target: string, start: number, end: number, edge: Edge | undefined) => void,
): void {
  const start = Math.floor(from / MINUTE_MS) * MINUTE_MS;
  const wanted = new Set(targets);
  const levels = levelsAt(config, start);
  const open = new Map<string, OpenSpan>();
  for (const target of wanted) {
    const edge = levels.get(target)?.edge;
    const edgeAt = edge ? Date.parse(edge.at) : undefined;
    open.set(target, { from, ...(edge && edgeAt! > start - LOOKBACK_MS ? { edge, edgeAt } : {}) });
  }
  const close = (target: string, end: number) => {
    const current = open.get(target)!;
    if (end > current.from) visit(target, current.from, end, current.edge);
  };
  // An edge older than the look-back stops counting: the span ends there, with no desired state.
  // Judged per target when its next edge comes (or at the end): only that target's spans change,
  // and a year of edges over hundreds of targets stays linear.
  const expire = (target: string, until: number) => {
    const current = open.get(target)!;
    if (current.edgeAt === undefined) return;
    const ends = current.edgeAt + LOOKBACK_MS;
    if (ends <= until && ends > current.from) {
      close(target, ends);
      open.set(target, { from: ends });
    }
  };
  replay(config, levels, due(config, start, to), (target, edge) => {
    if (!wanted.has(target)) return;
    const at = Date.parse(edge.at);
    if (at >= to) return;
    expire(target, at);
    close(target, at);
    open.set(target, { from: at, edge, edgeAt: at });
  });
  for (const target of wanted) {
    expire(target, to);
    close(target, to);
  }
}

/**
 * Plan rows explained: the state each row sets for each of its targets, and the targets that do
 * not follow it (another row at the same instant wins, or an open window keeps the target running).
 */
export function explainRows(
  config: Config,
  rows: readonly DueAction[],
): (DueAction & { desired: Record<string, TargetState>; overruled?: string[] })[] {
  const overruled = new Map<DueAction, string[]>();
  if (rows.length > 0) {
    const first = Date.parse(rows[0]!.at);
    // The window state before the first row, so a closing inside another window is seen as such.
    const levels = levelsAt(config, first - MINUTE_MS);
    replay(config, levels, rows, undefined, (target, row) => {
      const list = overruled.get(row);
      if (list) list.push(target);
      else overruled.set(row, [target]);
    });
  }
  return rows.map((row) => {
    const desired: Record<string, TargetState> = {};
    for (const target of row.targets) desired[target] = stateAfter(config.targets[target]!.kind, row.action);
    const lost = overruled.get(row);
    return { ...row, desired, ...(lost && lost.length > 0 ? { overruled: lost } : {}) };
  });
}

const iso = (ms: number): string => new Date(ms).toISOString();

// ---- looking ahead (notifications: the changes coming up) ----

/**
 * `latestEdges` at later instants (ascending) without moving the tick's incremental replay: a
 * copy of its levels is replayed over the minutes in between (15 minutes ahead costs 15 minutes
 * of plan rows, not a replay from scratch). Undefined when there is no replay for this config at
 * or within a day before the first instant.
 */
export function latestEdgesAhead(
  config: Config,
  instants: readonly number[],
): Map<string, Edge>[] | undefined {
  return trackers.get(config)?.ahead(instants);
}
