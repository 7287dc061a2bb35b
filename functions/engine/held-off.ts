import {
  isOff,
  monthsBefore,
  monthsBetween,
  OBSERVATION_LOOKBACK_MONTHS,
  type ObservedMark,
} from './savings.ts';
import type { ObservedState } from './states.ts';

/**
 * Hours held off over a range, read a month at a time (design, "Savings"). A month the range
 * covers whole needs only a summary per target of its marks: a year over 500 targets is then
 * 6,000 summaries instead of hundreds of thousands of observations. The months at the range's
 * ends, cut by it, are read mark by mark. The figures are those of `heldOffMs` over every mark.
 */

/** One target's marks of one UTC month, reduced to what held off needs of a month read whole. */
export interface MonthSummary {
  /** The earliest mark. */
  firstAt: number;
  /** The latest mark (of equal instants, the last written) and the state it saw. */
  lastAt: number;
  lastState: ObservedState;
  /** Milliseconds observed off between the first mark and the last. */
  offMs: number;
}

/** Where held off reads observations: a ledger, a month at a time. */
export interface ObservedMonths {
  /** The marks of the targets wanted in one UTC month (`YYYY-MM`), in the order written. */
  observedMonth(month: string, targets: ReadonlySet<string>): Promise<ObservedMark[]>;
  /**
   * `summarizeMonth` of the same marks, for the targets wanted that have any: kept beside them
   * by a ledger that can, made from them by one that cannot.
   */
  observedMonthSummary(month: string, targets: ReadonlySet<string>): Promise<Map<string, MonthSummary>>;
}

/** `[start, end)` of a UTC month `YYYY-MM`, in epoch milliseconds. */
export function monthBounds(month: string): { start: number; end: number } {
  const year = Number(month.slice(0, 4));
  const index = Number(month.slice(5, 7)) - 1;
  return { start: Date.UTC(year, index, 1), end: Date.UTC(year, index + 1, 1) };
}

/**
 * The marks of each target in time order; of equal instants, in the order written (a later
 * look's outcome last). Marks outside the month (a line in the wrong file) are left out, so a
 * month summarised and the same month read mark by mark always agree.
 */
function byTarget(marks: readonly ObservedMark[], start: number, end: number): Map<string, ObservedMark[]> {
  const out = new Map<string, ObservedMark[]>();
  for (const mark of marks) {
    if (!(mark.at >= start && mark.at < end)) continue;
    const list = out.get(mark.target);
    if (list) list.push(mark);
    else out.set(mark.target, [mark]);
  }
  for (const list of out.values()) {
    let ordered = true;
    for (let i = 1; i < list.length && ordered; i++) ordered = list[i - 1]!.at <= list[i]!.at;
    // Array sort is stable: marks of one instant keep their written order.
    if (!ordered) list.sort((a, b) => a.at - b.at);
  }
  return out;
}

/** The summary of each target with marks in one UTC month (`marks` of that month, as written). */
export function summarizeMonth(month: string, marks: readonly ObservedMark[]): Map<string, MonthSummary> {
  const { start, end } = monthBounds(month);
  const out = new Map<string, MonthSummary>();
  for (const [target, list] of byTarget(marks, start, end)) {
    let offMs = 0;
    for (let i = 1; i < list.length; i++)
      if (isOff(list[i - 1]!.state)) offMs += list[i]!.at - list[i - 1]!.at;
    const last = list[list.length - 1]!;
    out.set(target, { firstAt: list[0]!.at, lastAt: last.at, lastState: last.state, offMs });
  }
  return out;
}

/**
 * `summarizeMonth` fed one mark at a time, without keeping the marks: a month of 500 targets is
 * some 27,000 of them, and a summary needs four numbers per target. Marks of a target that come
 * out of time order (two processes appending at once) cannot be folded in so: that target is
 * summarised again by `finish` from its marks, read anew.
 */
export class MonthSummarizer {
  private readonly start: number;
  private readonly end: number;
  private readonly summaries = new Map<string, MonthSummary>();
  private readonly unordered = new Set<string>();

  constructor(private readonly month: string) {
    ({ start: this.start, end: this.end } = monthBounds(month));
  }

  add(target: string, at: number, state: ObservedState): void {
    if (!(at >= this.start && at < this.end)) return;
    const summary = this.summaries.get(target);
    if (!summary) this.summaries.set(target, { firstAt: at, lastAt: at, lastState: state, offMs: 0 });
    else if (at >= summary.lastAt) {
      if (isOff(summary.lastState)) summary.offMs += at - summary.lastAt;
      summary.lastAt = at;
      summary.lastState = state;
    } else this.unordered.add(target);
  }

  /** The summaries; `marksOf` reads the marks of targets seen out of order again, as written. */
  finish(marksOf: (targets: ReadonlySet<string>) => readonly ObservedMark[]): Map<string, MonthSummary> {
    if (this.unordered.size > 0)
      for (const [target, summary] of summarizeMonth(this.month, marksOf(this.unordered)))
        this.summaries.set(target, summary);
    return this.summaries;
  }
}

/** One target's held-off count as the months pass, in time order. */
class HeldOff {
  off = false;
  total = 0;
  constructor(public since: number) {}

  mark(at: number, state: ObservedState): void {
    if (this.off) this.total += at - this.since;
    this.since = at;
    this.off = isOff(state);
  }

  month(summary: MonthSummary): void {
    if (this.off) this.total += summary.firstAt - this.since;
    this.total += summary.offMs;
    this.since = summary.lastAt;
    this.off = isOff(summary.lastState);
  }
}

/** Per target, the latest mark before `from` (its state then), from the marks of one month. */
function latestBefore(marks: Map<string, ObservedMark[]>, from: number): Map<string, ObservedMark> {
  const out = new Map<string, ObservedMark>();
  for (const [target, list] of marks) {
    let latest: ObservedMark | undefined;
    for (const mark of list) {
      if (mark.at >= from) break;
      latest = mark;
    }
    if (latest) out.set(target, latest);
  }
  return out;
}

/**
 * Milliseconds each target was observed off in `[from, to)`: off from a mark that saw it
 * stopped or paused until the next mark, the state before `from` taken from the latest mark
 * before it (up to `OBSERVATION_LOOKBACK_MONTHS` back).
 */
export async function heldOffByTarget(
  query: { targets: readonly string[]; from: number; to: number },
  months: ObservedMonths,
): Promise<Map<string, number>> {
  const { from, to } = query;
  const wanted = new Set(query.targets);
  const out = new Map<string, number>();
  for (const target of wanted) out.set(target, 0);
  if (!(to > from)) return out;

  const range = monthsBetween(from, to).map((month) => {
    const bounds = monthBounds(month);
    return { month, ...bounds, whole: bounds.start >= from && bounds.end <= to };
  });
  // Every month of the range at once: summaries for the whole ones, marks for the ends.
  const read = await Promise.all(
    range.map(async ({ month, start, end, whole }) =>
      whole
        ? { summaries: await months.observedMonthSummary(month, wanted) }
        : { marks: byTarget(await months.observedMonth(month, wanted), start, end) },
    ),
  );

  // The state at `from`: the latest mark before it, in its own month or the ones before.
  const before = read[0]?.marks ? latestBefore(read[0].marks, from) : new Map<string, ObservedMark>();
  const states = new Map<string, ObservedState>();
  for (const [target, mark] of before) states.set(target, mark.state);
  for (const month of monthsBefore(range[0]!.month, OBSERVATION_LOOKBACK_MONTHS)) {
    if (states.size === wanted.size) break;
    const missing = new Set([...wanted].filter((t) => !states.has(t)));
    for (const [target, summary] of await months.observedMonthSummary(month, missing))
      states.set(target, summary.lastState);
  }

  const held = new Map<string, HeldOff>();
  for (const target of wanted) {
    const count = new HeldOff(from);
    const state = states.get(target);
    count.off = state !== undefined && isOff(state);
    held.set(target, count);
  }
  for (const month of read) {
    if (month.summaries) {
      for (const [target, summary] of month.summaries) held.get(target)?.month(summary);
      continue;
    }
    for (const [target, list] of month.marks!) {
      const count = held.get(target);
      if (!count) continue;
      for (const mark of list) {
        if (mark.at >= to) break;
        if (mark.at >= from) count.mark(mark.at, mark.state);
      }
    }
  }
  for (const [target, count] of held) out.set(target, count.total + (count.off ? to - count.since : 0));
  return out;
}
