import { compileCron } from './calendar/cron.ts';
import { compileCalendars, type WorkCalendar } from './calendar/holidays.ts';
import type { TimeRule } from './calendar/rule.ts';
import { isSkipped, type SkipDates } from './calendar/skip-dates.ts';
import { compileWindow } from './calendar/window.ts';
import { type LocalDay, localDayOf, MINUTE_MS, minuteOfDay, ZoneClock } from './calendar/zone.ts';
import type { Config, ScheduleConfig } from './config/schema.ts';
import { expandTargetNames } from './config/validate.ts';
import { type Action, defaultWindowActions } from './kinds.ts';

/** One row of the plan: an action of a schedule due at one instant, for these targets. */
export interface DueAction {
  /** UTC ISO 8601, whole minutes, e.g. `2027-03-28T01:00:00Z` */
  at: string;
  schedule: string;
  action: Action;
  targets: string[];
}

/** A row a skip date or a calendar's holiday left out, for `plan --explain`: `skipped` says why. */
export interface SkippedAction extends DueAction {
  /** e.g. `holiday 国庆节 (cn)`, `skip date 12-25` */
  skipped: string;
}

interface ActionBatch {
  action: Action;
  targets: string[];
}

/**
 * One enabled schedule. Only what decides *when* its rules fire is compiled up front; what they
 * do to which targets (group expansion, per-kind defaults) and its skip dates are worked out when
 * a rule of it first comes up: a short plan, such as the tick's one minute, meets few of a large
 * config's schedules, and the rest never pay for it.
 */
class CompiledSchedule {
  readonly id: string;
  readonly rules: CompiledRule[] = [];
  private targetNames: string[] | undefined;
  private skipDates: SkipDates | null | undefined;

  constructor(
    private readonly config: Config,
    readonly source: ScheduleConfig,
    /** Its calendar: public holidays are skipped like skip dates, and it decides `workdays`. */
    readonly calendar: WorkCalendar | undefined,
  ) {
    this.id = source.id;
    if (source.window !== undefined) {
      const window = compileWindow(source.window);
      // A close listed before an open: when one window ends as the next begins, stop comes first.
      this.rules.push(
        new CompiledRule(this, window.close, 'closed'),
        new CompiledRule(this, window.open, 'open'),
      );
    }
    for (const action of source.actions ?? [])
      this.rules.push(new CompiledRule(this, compileCron(action.cron), action));
  }

  get skip(): SkipDates | undefined {
    if (this.skipDates === undefined)
      this.skipDates = this.source.skipDates?.length ? new Set(this.source.skipDates) : null;
    return this.skipDates ?? undefined;
  }

  targets(): string[] {
    this.targetNames ??= expandTargetNames(this.source.targets, this.config.targets, this.config.groups);
    return this.targetNames;
  }

  windowBatches(key: 'open' | 'closed'): ActionBatch[] {
    const explicit = this.source[key] as Action | undefined;
    if (explicit) return [{ action: explicit, targets: this.targets() }];
    const batches: ActionBatch[] = [];
    for (const name of this.targets()) {
      const action = defaultWindowActions(this.config.targets[name]!.kind)[key];
      const batch = batches.find((b) => b.action === action);
      if (batch) batch.targets.push(name);
      else batches.push({ action, targets: [name] });
    }
    return batches;
  }
}

type CronAction = NonNullable<ScheduleConfig['actions']>[number];

/** A window's opening or closing, or one cron action, of one schedule. */
class CompiledRule {
  private actionBatches: ActionBatch[] | undefined;
  private skipDates: SkipDates | null | undefined;

  constructor(
    readonly schedule: CompiledSchedule,
    readonly time: TimeRule,
    private readonly what: 'open' | 'closed' | CronAction,
  ) {}

  /** The rule's own skip dates (a cron action's), besides its schedule's. */
  get skip(): SkipDates | undefined {
    if (this.skipDates === undefined) {
      const dates = typeof this.what === 'string' ? undefined : this.what.skipDates;
      this.skipDates = dates?.length ? new Set(dates) : null;
    }
    return this.skipDates ?? undefined;
  }

  batches(): ActionBatch[] {
    this.actionBatches ??=
      typeof this.what === 'string'
        ? this.schedule.windowBatches(this.what)
        : [{ action: this.what.do as Action, targets: this.schedule.targets() }];
    return this.actionBatches;
  }
}

/** Every enabled schedule of one zone, with its rules bucketed by local minute of the day. */
interface ZonePlan {
  clock: ZoneClock;
  buckets: CompiledRule[][];
  /**
   * For each local minute of the day, how far on (1 to 1440 minutes) the next one with rules is:
   * a plan over a year steps from rule to rule, not through 525,600 minutes per zone.
   */
  nextRule: Int16Array;
}

function nextRuleDistances(buckets: readonly CompiledRule[][]): Int16Array {
  const distances = new Int16Array(1440);
  let next = -1;
  // Backwards over two days, so a minute late in the day finds the first rule of the next.
  for (let m = 2 * 1440 - 1; m >= 0; m--) {
    if (m < 1440) distances[m] = next === -1 ? 1440 : next - m;
    if (buckets[m % 1440]!.length > 0) next = m;
  }
  return distances;
}

/** The largest amount by which any zone turns its clocks back, with margin (Troll: 2 h). */
const LOOKBACK_MINUTES = 180;
/** A guard against plans that would take minutes to compute. */
export const MAX_PLAN_MINUTES = 400 * 1440;

export class PlanRangeError extends Error {
  override readonly name = 'PlanRangeError';
}

/**
 * A config compiled for evaluation: schedules grouped by zone, each rule placed in the buckets of
 * the local minutes it can fire at. Evaluating a minute then costs one offset look-up per zone
 * and a day test per rule in that minute's bucket.
 */
export class Planner {
  private readonly zones: ZonePlan[];

  constructor(config: Config) {
    const byZone = new Map<string, ZonePlan>();
    const calendars = compileCalendars(config.calendars);
    for (const schedule of config.schedules) {
      if (!schedule.enabled) continue;
      const zone = schedule.timezone ?? config.timezone ?? 'UTC';
      let plan = byZone.get(zone);
      if (!plan) {
        plan = {
          clock: new ZoneClock(zone),
          buckets: Array.from({ length: 1440 }, () => []),
          nextRule: new Int16Array(0),
        };
        byZone.set(zone, plan);
      }
      const calendar = schedule.calendar === undefined ? undefined : calendars.get(schedule.calendar);
      for (const rule of new CompiledSchedule(config, schedule, calendar).rules) {
        for (const minute of rule.time.minutesOfDay) plan.buckets[minute]!.push(rule);
      }
    }
    this.zones = [...byZone.values()];
    for (const zone of this.zones) zone.nextRule = nextRuleDistances(zone.buckets);
  }

  /** The actions whose time falls in `(from, to]`, sorted by time, then schedule id. */
  due(from: Date | number, to: Date | number): DueAction[] {
    return this.evaluate(from, to, undefined);
  }

  /**
   * The rows left out of {@link due} for `(from, to]` by a skip date (the schedule's or the
   * action's) or a calendar's holiday, each saying why.
   */
  skipped(from: Date | number, to: Date | number): SkippedAction[] {
    const skipped: SkippedAction[] = [];
    this.evaluate(from, to, skipped);
    return skipped;
  }

  private evaluate(
    from: Date | number,
    to: Date | number,
    skipped: SkippedAction[] | undefined,
  ): DueAction[] {
    const firstMinute = Math.floor(+from / MINUTE_MS) + 1;
    const lastMinute = Math.floor(+to / MINUTE_MS);
    if (!Number.isFinite(firstMinute) || !Number.isFinite(lastMinute))
      throw new PlanRangeError('invalid time');
    if (lastMinute - firstMinute + 1 > MAX_PLAN_MINUTES) {
      throw new PlanRangeError(`a plan may span at most ${MAX_PLAN_MINUTES / 1440} days`);
    }
    const rows: { minute: number; row: DueAction }[] = [];
    const left: { minute: number; row: DueAction }[] | undefined = skipped ? [] : undefined;
    for (const zone of this.zones) this.evaluateZone(zone, firstMinute, lastMinute, rows, left);
    const byTime = (a: { minute: number; row: DueAction }, b: { minute: number; row: DueAction }) =>
      a.minute - b.minute || compare(a.row.schedule, b.row.schedule);
    if (left && skipped) skipped.push(...left.sort(byTime).map((r) => r.row as SkippedAction));
    rows.sort(byTime);
    return rows.map((r) => r.row);
  }

  private evaluateZone(
    zone: ZonePlan,
    firstMinute: number,
    lastMinute: number,
    rows: { minute: number; row: DueAction }[],
    left?: { minute: number; row: DueAction }[],
  ): void {
    if (lastMinute < firstMinute) return;
    const { clock, buckets, nextRule } = zone;
    // The latest local time already shown by the clock: a local time not above it is a repeat
    // (clocks turned back), and local times skipped between it and now fell in a gap.
    let shown = Number.NEGATIVE_INFINITY;
    for (let t = firstMinute - LOOKBACK_MINUTES; t < firstMinute; t++)
      shown = Math.max(shown, clock.localMinute(t));

    // Minute by minute, except that while the offset holds the clock moves a minute a minute: the
    // minutes up to the next one with rules (or up to a repeat's end) are passed over at once,
    // with the local time they would have shown.
    for (let t = firstMinute; t <= lastMinute; ) {
      const local = clock.localMinute(t);
      if (local <= shown) {
        // The second pass through a fall-back hour fires nothing.
        t = Math.min(t + (shown - local) + 1, clock.sameOffsetUntil(t));
        continue;
      }
      let fired: CompiledRule[] | undefined;
      const holidays: HolidaySink | undefined = left ? new Map() : undefined;
      // Spring forward: local times that never happened fire now, at the first instant after the gap.
      for (let skipped = shown + 1; skipped < local && local - shown <= 1440 * 2; skipped++) {
        fired = collect(buckets[minuteOfDay(skipped)]!, skipped, fired, holidays);
      }
      shown = local;
      fired = collect(buckets[minuteOfDay(local)]!, local, fired, holidays);
      if (fired) emit(t, fired, rows);
      if (holidays?.size) emit(t, [...holidays.keys()], left!, holidays);
      const next = Math.min(t + nextRule[minuteOfDay(local)]!, clock.sameOffsetUntil(t));
      shown = local + (next - 1 - t);
      t = next;
    }
  }
}

/** Rules a skip date or a holiday kept from firing, with the reason (only for `plan --explain`). */
type HolidaySink = Map<CompiledRule, string>;

function collect(
  bucket: CompiledRule[],
  localMinute: number,
  fired: CompiledRule[] | undefined,
  holidays?: HolidaySink,
): CompiledRule[] | undefined {
  let out = fired;
  for (const rule of bucket) {
    const day = localDayOf(localMinute - rule.time.dayShift * 1440);
    const calendar = rule.schedule.calendar;
    if (!rule.time.matchesDay(day, calendar)) {
      // A holiday on a weekday is not a working day: `workdays` without the calendar would fire.
      if (holidays && calendar && rule.time.usesWorkdays && rule.time.matchesDay(day))
        noteHoliday(holidays, rule, day);
      continue;
    }
    if (isSkipped(rule.schedule.skip, day) || isSkipped(rule.skip, day)) {
      if (holidays && !holidays.has(rule)) holidays.set(rule, skipDateReason(rule, day));
      continue;
    }
    if (calendar?.holiday(day) !== undefined) {
      if (holidays) noteHoliday(holidays, rule, day);
      continue;
    }
    if (!out) out = [];
    if (!out.includes(rule)) out.push(rule);
  }
  return out;
}

/** `skip date 12-25 (office-hours)`, or `skip date 01-01 (its action)` for an action's own. */
function skipDateReason(rule: CompiledRule, day: LocalDay): string {
  const own = isSkipped(rule.schedule.skip, day) ? rule.schedule.skip! : rule.skip!;
  const entry = own.has(day.date) ? day.date : day.monthDay;
  return `skip date ${entry} (${own === rule.skip ? `an action of ${rule.schedule.id}` : rule.schedule.id})`;
}

function noteHoliday(holidays: HolidaySink, rule: CompiledRule, day: LocalDay): void {
  if (isSkipped(rule.schedule.skip, day) || isSkipped(rule.skip, day)) {
    if (!holidays.has(rule)) holidays.set(rule, skipDateReason(rule, day));
    return;
  }
  const reason = rule.schedule.calendar?.skipReason(day);
  if (reason !== undefined && !holidays.has(rule)) holidays.set(rule, reason);
}

function emit(
  minute: number,
  fired: CompiledRule[],
  rows: { minute: number; row: DueAction }[],
  reasons?: HolidaySink,
): void {
  const at = `${new Date(minute * MINUTE_MS).toISOString().slice(0, 19)}Z`;
  const bySchedule = new Map<CompiledSchedule, Map<Action, string[]>>();
  for (const rule of fired) {
    const schedule = rule.schedule;
    let actions = bySchedule.get(schedule);
    if (!actions) {
      actions = new Map();
      bySchedule.set(schedule, actions);
    }
    for (const batch of rule.batches()) {
      const targets = actions.get(batch.action);
      if (!targets) actions.set(batch.action, [...batch.targets]);
      else for (const target of batch.targets) if (!targets.includes(target)) targets.push(target);
    }
  }
  for (const [schedule, actions] of bySchedule) {
    const skipped = reasons && [...reasons].find(([rule]) => rule.schedule === schedule)?.[1];
    for (const [action, targets] of actions)
      rows.push({
        minute,
        row: { at, schedule: schedule.id, action, targets, ...(skipped ? { skipped } : {}) },
      });
  }
}

const compare = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

const planners = new WeakMap<Config, Planner>();

/**
 * The actions due in `(from, to]` for a validated config. The config is compiled once and the
 * compiled form reused for as long as the same config object is passed.
 */
export function due(config: Config, from: Date | number, to: Date | number): DueAction[] {
  let planner = planners.get(config);
  if (!planner) {
    planner = new Planner(config);
    planners.set(config, planner);
  }
  return planner.due(from, to);
}
