import { isSkipped } from '../engine/calendar/skip-dates.ts';
import { localDayOf, MINUTE_MS } from '../engine/calendar/zone.ts';
import type { Config } from '../engine/config/schema.ts';
import { expandTargetNames } from '../engine/config/validate.ts';
import { desiredSpans, type Edge } from '../engine/desired.ts';
import type { TargetKind } from '../engine/kinds.ts';
import type { Override, OverrideState } from '../engine/overrides.ts';
import { Planner } from '../engine/planner.ts';
import type { TargetState } from '../engine/states.ts';
import { addDays, instantOfLocal, localDateOf, localMinuteOfDate, mondayOf } from './zone-time.ts';

/**
 * The week view's model: which state the schedules hold each target in over seven days of one
 * zone, where the edges fall, which overrides beat them, and which days a holiday or a skip date
 * changes. Nothing here decides a state: the bands are the engine's `desiredSpans` (the level
 * machine the tick runs), the holidays the planner's `skipped` rows, the skip dates the
 * config's own; this module only lays them out on days.
 */

export interface WeekOptions {
  config: Config;
  /** Active and future overrides (the ledger's `overrides(now)`). */
  overrides: readonly Override[];
  now: number;
  /** The zone whose days the week is drawn in. */
  zone: string;
  /** Any date (`YYYY-MM-DD`, in `zone`) of the week to show; default the week of `now`. */
  week?: string;
}

export interface WeekView {
  zone: string;
  /** The Monday the week starts on, and the Mondays before and after. */
  monday: string;
  previous: string;
  next: string;
  from: number;
  to: number;
  /** `now` when it falls in the week. */
  now?: number;
  days: DayColumn[];
  groups: TargetGroup[];
}

export interface DayColumn {
  date: string;
  from: number;
  to: number;
  /** 24, or 23 and 25 on the days the zone's clocks change. */
  hours: number;
  /** Holidays and skip dates that kept schedules from firing this day. */
  notes: DayNote[];
}

export interface DayNote {
  kind: 'holiday' | 'skip-date';
  /** e.g. `holiday 清明节 (cn)`, `skip date 12-25` */
  text: string;
  schedules: string[];
}

export interface TargetGroup {
  /** The config's group name; null for targets in no group. */
  name: string | null;
  rows: TargetRow[];
}

export interface TargetRow {
  target: string;
  kind: TargetKind;
  description?: string;
  bands: Band[];
  edges: EdgeMark[];
  overrides: OverrideBand[];
  skips: SkipMark[];
}

/** A stretch over which the schedules hold one state (null: no desired state, nothing held). */
export interface Band {
  from: number;
  to: number;
  state: TargetState | null;
  /** The edge that set the state, which may precede the week. */
  edge?: Edge;
}

export type EdgeMark = Edge;

export interface OverrideBand {
  id: string;
  state: OverrideState;
  /** The part inside the week. */
  from: number;
  to: number;
  /** The override's own span (ISO). */
  starts: string;
  until: string;
  reason: string;
  createdBy?: string;
}

/** A holiday or skip date: a span of a day or an instant at which a schedule did not fire. */
export interface SkipMark {
  kind: 'holiday' | 'skip-date';
  from: number;
  /** Equal to `from` for an instant (a holiday's skipped opening or closing). */
  to: number;
  text: string;
  schedule: string;
}

const DAY_MIN = 1440;

interface WeekPlan {
  spans: ReturnType<typeof desiredSpans>;
  skipped: ReturnType<Planner['skipped']>;
}

/** Weeks of one config already worked out: the most looked at are this week and its neighbours. */
const KEPT_WEEKS = 8;
const plans = new WeakMap<Config, { planner: Planner; weeks: Map<string, WeekPlan> }>();

/**
 * The engine's desired spans and calendar skips over `[from, to)`, kept per config object: they
 * depend on nothing else (not on `now`, not on overrides), and a view every minute would otherwise
 * replay the 35-day look-back each time.
 */
function weekPlan(config: Config, from: number, to: number): WeekPlan {
  let entry = plans.get(config);
  if (!entry) {
    entry = { planner: new Planner(config), weeks: new Map() };
    plans.set(config, entry);
  }
  const key = `${from}/${to}`;
  let plan = entry.weeks.get(key);
  if (plan) {
    // Most recently used last: the first is the one to drop.
    entry.weeks.delete(key);
  } else {
    plan = {
      spans: desiredSpans(config, from, to, Object.keys(config.targets)),
      // The planner reports (from, to]: one minute earlier is [from, to).
      // Skip dates are drawn as whole local days below; here only the holidays.
      skipped: entry.planner
        .skipped(from - MINUTE_MS, to - MINUTE_MS)
        .filter((row) => row.skipped.startsWith('holiday')),
    };
    if (entry.weeks.size >= KEPT_WEEKS) entry.weeks.delete(entry.weeks.keys().next().value!);
  }
  entry.weeks.set(key, plan);
  return plan;
}

export function weekView(options: WeekOptions): WeekView {
  const { config, zone, now } = options;
  const monday = mondayOf(options.week ?? localDateOf(zone, now));
  const starts = Array.from({ length: 8 }, (_, i) =>
    instantOfLocal(zone, localMinuteOfDate(addDays(monday, i))),
  );
  const from = starts[0]!;
  const to = starts[7]!;
  const days: DayColumn[] = starts.slice(0, 7).map((start, i) => ({
    date: addDays(monday, i),
    from: start,
    to: starts[i + 1]!,
    hours: (starts[i + 1]! - start) / 3600_000,
    notes: [],
  }));
  const dayAt = (t: number) => days.find((d) => t >= d.from && t < d.to);

  const names = Object.keys(config.targets);
  const { spans, skipped } = weekPlan(config, from, to);
  const rows = new Map<string, TargetRow>();
  for (const name of names) {
    const target = config.targets[name]!;
    const bands: Band[] = (spans.get(name) ?? []).map((span) => ({
      from: Date.parse(span.from),
      to: Date.parse(span.to),
      state: span.edge?.state ?? null,
      ...(span.edge ? { edge: span.edge } : {}),
    }));
    rows.set(name, {
      target: name,
      kind: target.kind,
      ...(target.description ? { description: target.description } : {}),
      bands,
      // An edge inside the week starts its own span.
      edges: bands
        .filter((b) => b.edge && Date.parse(b.edge.at) === b.from && b.from >= from)
        .map((b) => b.edge!),
      overrides: overrideBands(options.overrides, name, from, to),
      skips: [],
    });
  }

  // Holidays: the rows a calendar kept from firing.
  for (const row of skipped) {
    const at = Date.parse(row.at);
    addNote(dayAt(at), 'holiday', row.skipped, row.schedule);
    for (const target of row.targets)
      rows.get(target)?.skips.push({
        kind: 'holiday',
        from: at,
        to: at,
        text: `${row.skipped}: ${row.schedule} did not ${row.action}`,
        schedule: row.schedule,
      });
  }

  // Skip dates: local dates of a schedule's own zone on which it (or one of its actions) fires nothing.
  for (const schedule of config.schedules) {
    if (!schedule.enabled) continue;
    const scheduleZone = schedule.timezone ?? config.timezone ?? 'UTC';
    const sets: { dates: ReadonlySet<string>; what: string }[] = [];
    if (schedule.skipDates?.length) sets.push({ dates: new Set(schedule.skipDates), what: schedule.id });
    for (const action of schedule.actions ?? [])
      if (action.skipDates?.length)
        sets.push({ dates: new Set(action.skipDates), what: `${schedule.id} ${action.do} (${action.cron})` });
    if (sets.length === 0) continue;
    const targets = expandTargetNames(schedule.targets, config.targets, config.groups);
    const first = localDateOf(scheduleZone, from);
    const last = localDateOf(scheduleZone, to - 1);
    for (let date = first; date <= last; date = addDays(date, 1)) {
      const day = localDayOf(localMinuteOfDate(date));
      for (const { dates, what } of sets) {
        if (!isSkipped(dates, day)) continue;
        const start = Math.max(from, instantOfLocal(scheduleZone, localMinuteOfDate(date)));
        const end = Math.min(to, instantOfLocal(scheduleZone, localMinuteOfDate(date) + DAY_MIN));
        if (end <= start) continue;
        const text = `skip date ${dates.has(date) ? date : day.monthDay} of ${what}`;
        addNote(dayAt(start + (end - start) / 2), 'skip-date', text, schedule.id);
        for (const target of targets)
          rows
            .get(target)
            ?.skips.push({ kind: 'skip-date', from: start, to: end, text, schedule: schedule.id });
      }
    }
  }

  return {
    zone,
    monday,
    previous: addDays(monday, -7),
    next: addDays(monday, 7),
    from,
    to,
    ...(now >= from && now < to ? { now } : {}),
    days,
    groups: grouped(config, rows),
  };
}

function addNote(day: DayColumn | undefined, kind: DayNote['kind'], text: string, schedule: string): void {
  if (!day) return;
  const note = day.notes.find((n) => n.kind === kind && n.text === text);
  if (!note) day.notes.push({ kind, text, schedules: [schedule] });
  else if (!note.schedules.includes(schedule)) note.schedules.push(schedule);
}

function overrideBands(
  overrides: readonly Override[],
  target: string,
  from: number,
  to: number,
): OverrideBand[] {
  return overrides
    .filter((o) => o.targets.includes(target) && Date.parse(o.until) > from && Date.parse(o.from) < to)
    .sort((a, b) => Date.parse(a.from) - Date.parse(b.from))
    .map((o) => ({
      id: o.id,
      state: o.state,
      from: Math.max(from, Date.parse(o.from)),
      to: Math.min(to, Date.parse(o.until)),
      starts: o.from,
      until: o.until,
      reason: o.reason,
      ...(o.createdBy ? { createdBy: o.createdBy } : {}),
    }));
}

/**
 * Targets under the config's groups, in the config's order: each target once, under the first
 * group that names it (directly or through a nested group); the rest after them.
 */
function grouped(config: Config, rows: Map<string, TargetRow>): TargetGroup[] {
  const placed = new Set<string>();
  const groups: TargetGroup[] = [];
  for (const name of Object.keys(config.groups ?? {})) {
    const members = expandTargetNames([name], config.targets, config.groups).filter((t) => !placed.has(t));
    if (members.length === 0) continue;
    for (const t of members) placed.add(t);
    groups.push({ name, rows: members.map((t) => rows.get(t)!) });
  }
  const rest = [...rows.keys()].filter((t) => !placed.has(t));
  if (rest.length > 0) groups.push({ name: null, rows: rest.map((t) => rows.get(t)!) });
  return groups;
}
