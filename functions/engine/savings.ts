import type { Config } from './config/schema.ts';
import { expandTargetNames } from './config/validate.ts';
import { type Edge, eachDesiredSpan } from './desired.ts';
import type { TargetKind } from './kinds.ts';
import type { HistoryEntry } from './ledger.ts';
import { OVERRIDE_STATES, type OverrideState } from './overrides.ts';
import { type ObservedState, stateAfter, type TargetState } from './states.ts';

/**
 * The arithmetic of "what it saved" (design, "Savings"), pure:
 * - **held off**: from the observations, a target counts as off from the moment a status read
 *   (or a verified call) showed it stopped or paused until the next observation that shows
 *   anything else: running, a transition under way, failed, unknown, or ended;
 * - **planned off**: the schedules' desired state (the same level machine as the tick, through
 *   `desiredSpans`) with the overrides on top, stopped or paused;
 * - **cost avoided**: hours held off times the target's `cost.perHour`, totals per currency.
 */

/** Observed states that count as off: what Nightshift holds targets in at night. */
const OFF: ReadonlySet<string> = new Set<ObservedState>(['stopped', 'paused']);
/** Desired states that count as planned off (a DRS end is not held: the job is gone). */
const PLANNED_OFF: ReadonlySet<string> = new Set<TargetState>(['stopped', 'paused']);

export const OBSERVED_STATES: readonly ObservedState[] = [
  'running',
  'stopped',
  'paused',
  'ended',
  'pending',
  'failed',
  'unknown',
];

export const isOff = (state: ObservedState): boolean => OFF.has(state);

/**
 * One observation of a target's state, as the ledger keeps it beside the history: compact, and
 * kept as long as the ledger is (the history itself rotates, or expires after 90 days).
 */
export interface ObservedMark {
  target: string;
  /** Epoch milliseconds (the history entry's `recordedAt`). */
  at: number;
  state: ObservedState;
}

/** Which marks to read: those in `[from, to)` and, per target, the latest before `from`. */
export interface ObservationQuery {
  targets: readonly string[];
  from: number;
  to: number;
}

/** How far back the state at the start of a range is looked for: a year of months. */
export const OBSERVATION_LOOKBACK_MONTHS = 12;

/**
 * An override as savings need it once it has ended (the ledger's `overrides()` forgets ended
 * ones): kept by the ledger when it is created, with the instant it was removed, if it was.
 */
export interface OverrideSpan {
  id: string;
  targets: readonly string[];
  state: OverrideState;
  from: string;
  until: string;
  /** When the override was stored: it cannot have changed anything before. */
  createdAt?: string;
  /** When it was removed, if it was (before its until, or after). */
  removedAt?: string;
}

/** Maps an upstream status text (`PAUSING`, `run_status 0 (running)`) of a kind to its state. */
export type StatusTextMap = (kind: TargetKind, text: string) => ObservedState;

/**
 * The observation a history entry carries, if any: the status text read (after the call, or by
 * the look that found no call needed), mapped to a state; for a call without a status text (a
 * kind without a status query, a status read refused) the state its successful answer leads to.
 * Skipped, missed and dry-run entries observed nothing at their instant.
 */
export function markOf(entry: HistoryEntry, stateOf: StatusTextMap): ObservedMark | undefined {
  const { result } = entry;
  if (!result.kind || result.status === 'skipped' || result.status === 'dry-run') return undefined;
  const at = Date.parse(entry.recordedAt);
  if (Number.isNaN(at)) return undefined;
  if (typeof result.observed === 'string')
    return { target: result.target, at, state: stateOf(result.kind, result.observed) };
  // No status text: only a successful answer says something (a failed call changed nothing known).
  if (result.ok && result.status === 'succeeded')
    return { target: result.target, at, state: result.desired ?? stateAfter(result.kind, result.action) };
  return undefined;
}

/** The marks of a batch of history entries, in their order. */
export function marksOf(entries: readonly HistoryEntry[], stateOf: StatusTextMap): ObservedMark[] {
  const marks: ObservedMark[] = [];
  for (const entry of entries) {
    const mark = markOf(entry, stateOf);
    if (mark) marks.push(mark);
  }
  return marks;
}

/** `YYYY-MM` of an instant (UTC): the bucket a mark is kept in. */
export const monthOf = (at: number): string => new Date(at).toISOString().slice(0, 7);

const DIGIT_0 = 48;

/**
 * The instant of `YYYY-MM-DDTHH:MM:SS.mmmZ` (as `toISOString` writes it) at `start` of `text`, or
 * NaN when the text there is not that: read digit by digit, without cutting the text, because
 * a year of observations is hundreds of thousands of them (and with no closure made per call:
 * a transpiler keeping function names pays for each one it makes).
 */
export function isoMsAt(text: string, start: number): number {
  if (
    text.charCodeAt(start + 4) !== 45 ||
    text.charCodeAt(start + 7) !== 45 ||
    text.charCodeAt(start + 10) !== 84 ||
    text.charCodeAt(start + 13) !== 58 ||
    text.charCodeAt(start + 16) !== 58 ||
    text.charCodeAt(start + 19) !== 46 ||
    text.charCodeAt(start + 23) !== 90
  )
    return Number.NaN; // - - T : : . Z
  const year = twoDigits(text, start) * 100 + twoDigits(text, start + 2);
  const month = twoDigits(text, start + 5);
  const day = twoDigits(text, start + 8);
  const last = text.charCodeAt(start + 22) - DIGIT_0;
  const ms =
    ((twoDigits(text, start + 11) * 60 + twoDigits(text, start + 14)) * 60 + twoDigits(text, start + 17)) *
      1000 +
    twoDigits(text, start + 20) * 10 +
    last;
  if (!(month >= 1 && month <= 12 && day >= 1 && day <= 31 && last >= 0 && last <= 9 && ms >= 0))
    return Number.NaN;
  return daysFromCivil(year, month, day) * 86_400_000 + ms;
}

/** Two digits at `i` of `text` as a number, or NaN when either is not a digit. */
function twoDigits(text: string, i: number): number {
  const a = text.charCodeAt(i) - DIGIT_0;
  const b = text.charCodeAt(i + 1) - DIGIT_0;
  return a >= 0 && a <= 9 && b >= 0 && b <= 9 ? a * 10 + b : Number.NaN;
}

/** Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil). */
function daysFromCivil(year: number, month: number, day: number): number {
  const y = month <= 2 ? year - 1 : year;
  const era = Math.floor(y / 400);
  const yoe = y - era * 400;
  const doy = Math.floor((153 * (month + (month > 2 ? -3 : 9)) + 2) / 5) + day - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146_097 + doe - 719_468;
}

/** The UTC months `[from, to)` touches, oldest first. */
export function monthsBetween(from: number, to: number): string[] {
  const months: string[] = [];
  const d = new Date(from);
  let year = d.getUTCFullYear();
  let month = d.getUTCMonth();
  const last = monthOf(Math.max(from, to - 1));
  for (;;) {
    const text = `${String(year).padStart(4, '0')}-${String(month + 1).padStart(2, '0')}`;
    months.push(text);
    if (text >= last) return months;
    month += 1;
    if (month === 12) {
      month = 0;
      year += 1;
    }
  }
}

/** The months before `month`, newest first, as far as the look-back reaches. */
export function monthsBefore(month: string, count = OBSERVATION_LOOKBACK_MONTHS): string[] {
  let year = Number(month.slice(0, 4));
  let m = Number(month.slice(5, 7));
  const out: string[] = [];
  for (let i = 0; i < count; i++) {
    m -= 1;
    if (m === 0) {
      m = 12;
      year -= 1;
    }
    out.push(`${String(year).padStart(4, '0')}-${String(m).padStart(2, '0')}`);
  }
  return out;
}

/**
 * What `Ledger.observations` answers, for a ledger that reads its marks a month at a time
 * (`readMonth` gives the marks of the targets wanted in one month): the months of the range at
 * once, then earlier ones as far as needed.
 */
export async function readObservations(
  query: ObservationQuery,
  readMonth: (month: string, wanted: ReadonlySet<string>) => Promise<ObservedMark[]>,
): Promise<ObservedMark[]> {
  const wanted = new Set(query.targets);
  const read = (month: string) => readMonth(month, wanted);
  const months = await Promise.all(monthsBetween(query.from, query.to).map(read));
  return selectMarks(query, months, read);
}

/** An override as the ledger keeps it for savings. */
export function overrideSpanOf(override: OverrideSpan & { createdAt: string }): OverrideSpan {
  const { id, targets, state, from, until, createdAt } = override;
  return { id, targets, state, from, until, createdAt };
}

const isInstant = (value: unknown): value is string =>
  typeof value === 'string' && !Number.isNaN(Date.parse(value));

/**
 * A line of a kept override log, read back: the override as kept, or the instant one was removed;
 * undefined for anything else (a line damaged into other JSON), so a damaged line costs that line
 * only and never changes what the others say (an unknown state would have read as "not off").
 */
export function overrideLogLine(
  doc: unknown,
): { span: OverrideSpan } | { removed: { id: string; removedAt: string } } | undefined {
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) return undefined;
  const d = doc as Record<string, unknown>;
  if (typeof d.id !== 'string') return undefined;
  if (d.from === undefined && d.removedAt !== undefined)
    return isInstant(d.removedAt) ? { removed: { id: d.id, removedAt: d.removedAt } } : undefined;
  if (
    !(Array.isArray(d.targets) && d.targets.every((t) => typeof t === 'string')) ||
    !(OVERRIDE_STATES as readonly unknown[]).includes(d.state) ||
    !isInstant(d.from) ||
    !isInstant(d.until) ||
    (d.createdAt !== undefined && !isInstant(d.createdAt))
  )
    return undefined;
  return { span: doc as OverrideSpan };
}

/** A kept override with its removal, if it overlapped `[from, to)` before it ended. */
export function spanIfOverlapping(
  span: OverrideSpan,
  removedAt: string | undefined,
  from: number,
  to: number,
): OverrideSpan | undefined {
  const until = removedAt && removedAt < span.until ? removedAt : span.until;
  if (Date.parse(span.from) >= to || Date.parse(until) <= from) return undefined;
  return removedAt ? { ...span, removedAt } : span;
}

/**
 * Picks, from marks of whole months, what a query wants: per target its marks in `[from, to)`
 * and the latest one before `from`. `older` gives earlier months on demand, newest first, until
 * every target has a mark before `from` (or there are none left). Both ledgers answer through it,
 * so they give the same figures.
 */
export async function selectMarks(
  query: ObservationQuery,
  inRange: readonly (readonly ObservedMark[])[],
  older: (month: string) => Promise<readonly ObservedMark[]>,
): Promise<ObservedMark[]> {
  const wanted = new Set(query.targets);
  const { from, to } = query;
  const before = new Map<string, ObservedMark>();
  const out: ObservedMark[] = [];
  const consider = (mark: ObservedMark) => {
    if (!wanted.has(mark.target)) return;
    if (mark.at < from) {
      const seen = before.get(mark.target);
      // The latest before `from`; of equal instants the last written (a later look's outcome).
      if (!seen || mark.at >= seen.at) before.set(mark.target, mark);
    } else if (mark.at < to) out.push(mark);
  };
  for (const month of inRange) for (const mark of month) consider(mark);
  for (const month of monthsBefore(monthOf(from))) {
    if (before.size === wanted.size) break;
    const missing = new Set([...wanted].filter((t) => !before.has(t)));
    for (const mark of await older(month)) if (missing.has(mark.target)) consider(mark);
  }
  const all = [...before.values()];
  for (const mark of out) all.push(mark);
  return all;
}

/** Milliseconds a target was observed off in `[from, to)`; `marks` of that target, any order. */
export function heldOffMs(marks: readonly ObservedMark[], from: number, to: number): number {
  if (to <= from) return 0;
  // Stable: marks of one instant keep their written order, the last deciding. They mostly come
  // in time order already (as written): then there is nothing to sort.
  let ordered = true;
  for (let i = 1; i < marks.length && ordered; i++) ordered = marks[i - 1]!.at <= marks[i]!.at;
  const sorted = ordered ? marks : [...marks].sort((a, b) => a.at - b.at);
  let off = false;
  let since = from;
  let total = 0;
  for (const mark of sorted) {
    const { at } = mark;
    if (at < from) {
      off = isOff(mark.state);
      continue;
    }
    if (at >= to) break;
    if (off) total += at - since;
    since = at;
    off = isOff(mark.state);
  }
  if (off) total += to - since;
  return total;
}

/**
 * Milliseconds each target was planned off in `[from, to)`: the desired spans of its schedules,
 * with the overrides on top (while active an override beats every schedule; of two, the one that
 * started last; `hands-off` plans nothing).
 */
export function plannedOffMs(
  config: Config,
  overrides: readonly OverrideSpan[],
  from: number,
  to: number,
  targets: readonly string[],
): Map<string, number> {
  const timelines = timelinesByClass(config, from, to, targets);
  const reach = overrides
    .map((o, index) => ({ o, index, from: effectiveFrom(o), until: effectiveUntil(o) }))
    .filter((x) => x.until > from && x.from < to && x.until > x.from);
  const out = new Map<string, number>();
  for (const target of targets) {
    const covering = reach.filter((x) => x.o.targets.includes(target));
    out.set(target, offWithOverrides(timelines.get(target) ?? EMPTY, covering, from, to));
  }
  return out;
}

/** Spans as numbers: where each starts and ends, whether it is off, and the off time before it. */
interface Timeline {
  starts: number[];
  ends: number[];
  off: boolean[];
  /** `before[i]`: off milliseconds of the spans before span i; `before[n]` the total. */
  before: number[];
}

const EMPTY: Timeline = { starts: [], ends: [], off: [], before: [0] };

function addSpan(t: Timeline, start: number, end: number, edge: Edge | undefined): void {
  const isOffSpan = edge !== undefined && PLANNED_OFF.has(edge.state);
  t.starts.push(start);
  t.ends.push(end);
  t.off.push(isOffSpan);
  t.before.push(t.before[t.before.length - 1]! + (isOffSpan ? end - start : 0));
}

/** Off milliseconds of the timeline within `[a, b)`. */
function offBetween(t: Timeline, a: number, b: number): number {
  const n = t.starts.length;
  // The first span ending after a, by bisection.
  let lo = 0;
  let hi = n;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (t.ends[mid]! <= a) lo = mid + 1;
    else hi = mid;
  }
  let total = 0;
  for (let i = lo; i < n && t.starts[i]! < b; i++)
    if (t.off[i]) total += Math.min(b, t.ends[i]!) - Math.max(a, t.starts[i]!);
  return total;
}

/** An override changes nothing before it was stored, nor after it was removed. */
function effectiveFrom(o: OverrideSpan): number {
  const from = Date.parse(o.from);
  return o.createdAt ? Math.max(from, Date.parse(o.createdAt)) : from;
}

function effectiveUntil(o: OverrideSpan): number {
  const until = Date.parse(o.until);
  return o.removedAt ? Math.min(until, Date.parse(o.removedAt)) : until;
}

interface Covering {
  o: OverrideSpan;
  index: number;
  from: number;
  until: number;
}

function offWithOverrides(
  timeline: Timeline,
  covering: readonly Covering[],
  from: number,
  to: number,
): number {
  // The spans lie within [from, to): their total is the schedules' off time.
  let total = timeline.before.at(-1)!;
  if (covering.length === 0) return total;
  // Within the overrides' reach, what the winning override says replaces what the spans say.
  const cuts = [...new Set(covering.flatMap((c) => [Math.max(from, c.from), Math.min(to, c.until)]))].sort(
    (a, b) => a - b,
  );
  for (let i = 0; i + 1 < cuts.length; i++) {
    const a = cuts[i]!;
    const b = cuts[i + 1]!;
    let winner: Covering | undefined;
    for (const c of covering)
      if (
        c.from <= a &&
        c.until > a &&
        (!winner || c.from > winner.from || (c.from === winner.from && c.index > winner.index))
      )
        winner = c;
    if (!winner) continue;
    total -= offBetween(timeline, a, b);
    if (PLANNED_OFF.has(winner.o.state)) total += b - a;
  }
  return total;
}

/**
 * The desired spans (`eachDesiredSpan`) of the targets asked for, computed once per class of
 * targets that the level machine cannot tell apart (one kind, the same enabled schedules): five
 * hundred targets in twenty-five schedules cost twenty-five replays, not five hundred, and share
 * one timeline per class. The narrowed config keeps the schedules whole but names only one target
 * of each class; it is cached per config, so its planner (and its zone offsets) are compiled once.
 */
function timelinesByClass(
  config: Config,
  from: number,
  to: number,
  targets: readonly string[],
): Map<string, Timeline> {
  const classes = classesOf(config);
  const representatives = [...new Set(targets.map((t) => classes.representative.get(t) ?? t))].sort();
  const narrowed = narrowedConfig(config, classes, representatives);
  const byRepresentative = new Map<string, Timeline>();
  for (const r of representatives) byRepresentative.set(r, { starts: [], ends: [], off: [], before: [0] });
  eachDesiredSpan(narrowed, from, to, representatives, (r, start, end, edge) =>
    addSpan(byRepresentative.get(r)!, start, end, edge),
  );
  const out = new Map<string, Timeline>();
  for (const target of targets)
    out.set(target, byRepresentative.get(classes.representative.get(target) ?? target) ?? EMPTY);
  return out;
}

interface Classes {
  /** Each target's class representative (itself for the first of its class). */
  representative: Map<string, string>;
  /** Enabled schedules by the targets they name (expanded). */
  scheduleTargets: Map<string, string[]>;
  narrowed: Map<string, Config>;
}

const classCache = new WeakMap<Config, Classes>();

function classesOf(config: Config): Classes {
  let classes = classCache.get(config);
  if (classes) return classes;
  const scheduleTargets = new Map<string, string[]>();
  const memberOf = new Map<string, string[]>();
  for (const schedule of config.schedules) {
    if (!schedule.enabled) continue;
    const names = expandTargetNames(schedule.targets, config.targets, config.groups);
    scheduleTargets.set(schedule.id, names);
    for (const name of names) {
      const list = memberOf.get(name);
      if (list) list.push(schedule.id);
      else memberOf.set(name, [schedule.id]);
    }
  }
  const byKey = new Map<string, string>();
  const representative = new Map<string, string>();
  for (const [name, target] of Object.entries(config.targets)) {
    const key = `${target.kind}|${(memberOf.get(name) ?? []).join(',')}`;
    const first = byKey.get(key);
    if (first === undefined) byKey.set(key, name);
    representative.set(name, first ?? name);
  }
  classes = { representative, scheduleTargets, narrowed: new Map() };
  classCache.set(config, classes);
  return classes;
}

function narrowedConfig(config: Config, classes: Classes, representatives: readonly string[]): Config {
  const key = representatives.join(',');
  let narrowed = classes.narrowed.get(key);
  if (narrowed) return narrowed;
  const wanted = new Set(representatives);
  const schedules: Config['schedules'] = [];
  for (const schedule of config.schedules) {
    const names = classes.scheduleTargets.get(schedule.id)?.filter((n) => wanted.has(n)) ?? [];
    if (names.length > 0) schedules.push({ ...schedule, targets: names });
  }
  narrowed = { ...config, schedules };
  // A few shapes per config (all targets, one, a handful): enough to keep the planners warm.
  if (classes.narrowed.size >= 16) classes.narrowed.clear();
  classes.narrowed.set(key, narrowed);
  return narrowed;
}

const HOUR_MS = 3_600_000;

/** Hours with four decimals (a third of a second): figures people compare to the minute. */
export const hoursOf = (ms: number): number => Math.round((ms / HOUR_MS) * 10_000) / 10_000;

/** Money with two decimals. */
export const moneyOf = (amount: number): number => Math.round(amount * 100) / 100;
