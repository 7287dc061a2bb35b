import { compileCron, neverFiresReason } from '../calendar/cron.ts';
import { localDayOf, MINUTE_MS } from '../calendar/zone.ts';
import { edgesOf } from '../desired.ts';
import { defaultWindowActions } from '../kinds.ts';
import { due } from '../planner.ts';
import { stateAfter, type TargetState } from '../states.ts';
import type { Config, ScheduleConfig } from './schema.ts';
import { type ConfigIssue, expandTargetNames } from './validate.ts';

const DAY_MS = 1440 * MINUTE_MS;
/** Timing warnings look this far ahead: two weeks hold every weekly pattern twice. */
const HORIZON_DAYS = 14;
/** Four years hold every calendar day, 29 February included. */
const CRON_PROBE_DAYS = 4 * 366;
/** Huawei advises against a `pauseMode: "all"` pause longer than this. */
const PAUSE_ALL_LIMIT_MS = 24 * 3600_000;

/**
 * Things a valid config probably does not mean (validate prints them, exit 0; `--strict` makes
 * them errors): opposite edges from two schedules at one instant, a cron that never fires, a
 * target only ever started (or only stopped), and a DRS pause with `pauseMode: "all"` held for
 * more than 24 hours. (A window that opens as it closes is already an error.)
 */
export function configWarnings(config: Config, now: number): ConfigIssue[] {
  const warnings: ConfigIssue[] = [];
  const enabled = config.schedules
    .map((schedule, index) => ({ schedule, index }))
    .filter((s) => s.schedule.enabled);
  const targetsOf = new Map(enabled.map(({ schedule }) => [schedule, scheduleTargets(config, schedule)]));

  for (const { schedule, index } of enabled) {
    for (const [i, action] of (schedule.actions ?? []).entries()) {
      if (!firesEver(action.cron))
        warnings.push({
          path: `schedules[${index}].actions[${i}].cron`,
          message: `"${action.cron}" never fires: ${neverFiresReason(action.cron) ?? 'no calendar day matches it'}`,
        });
    }
  }

  // A target only ever sent one way stays there for good.
  const statesOf = new Map<string, { states: Set<TargetState>; first: number }>();
  for (const { schedule, index } of enabled) {
    for (const [target, states] of targetsOf.get(schedule)!) {
      const entry = statesOf.get(target) ?? { states: new Set<TargetState>(), first: index };
      for (const state of states) entry.states.add(state);
      statesOf.set(target, entry);
    }
  }
  for (const [target, { states, first }] of statesOf) {
    const held = [...states].filter((s) => s !== 'ended');
    if (held.length === 1)
      warnings.push({
        path: `schedules[${first}].targets`,
        message: `${target} is only ever set ${held[0]} by its schedules: nothing brings it back`,
      });
  }

  warnings.push(...timingWarnings(config, enabled, targetsOf, now));
  return warnings;
}

/** The states each target of a schedule can be set to by that schedule. */
function scheduleTargets(config: Config, schedule: ScheduleConfig): Map<string, Set<TargetState>> {
  const out = new Map<string, Set<TargetState>>();
  for (const name of expandTargetNames(schedule.targets, config.targets, config.groups)) {
    const kind = config.targets[name]!.kind;
    const states = new Set<TargetState>();
    if (schedule.window !== undefined) {
      const defaults = defaultWindowActions(kind);
      states.add(stateAfter(kind, (schedule.open ?? defaults.open) as never));
      states.add(stateAfter(kind, (schedule.closed ?? defaults.closed) as never));
    }
    for (const action of schedule.actions ?? []) states.add(stateAfter(kind, action.do as never));
    out.set(name, states);
  }
  return out;
}

function firesEver(cron: string): boolean {
  const rule = compileCron(cron);
  const start = Math.floor(Date.UTC(2024, 0, 1) / MINUTE_MS);
  for (let d = 0; d < CRON_PROBE_DAYS; d++) if (rule.matchesDay(localDayOf(start + d * 1440))) return true;
  return false;
}

/**
 * Warnings that need the real instants over the next two weeks, computed only over the schedules
 * that can cause them, so a large config with independent schedules stays cheap to validate.
 */
function timingWarnings(
  config: Config,
  enabled: { schedule: ScheduleConfig; index: number }[],
  targetsOf: Map<ScheduleConfig, Map<string, Set<TargetState>>>,
  now: number,
): ConfigIssue[] {
  const warnings: ConfigIssue[] = [];
  const scheduleCount = new Map<string, number>();
  for (const { schedule } of enabled)
    for (const target of targetsOf.get(schedule)!.keys())
      scheduleCount.set(target, (scheduleCount.get(target) ?? 0) + 1);
  const pauseAll = (name: string) => {
    const t = config.targets[name];
    return t?.kind === 'drs-job' && t.pauseMode === 'all';
  };
  const relevant = enabled.filter(({ schedule }) =>
    [...targetsOf.get(schedule)!.keys()].some((t) => (scheduleCount.get(t) ?? 0) > 1 || pauseAll(t)),
  );
  if (relevant.length === 0) return warnings;
  const indexOf = new Map(relevant.map(({ schedule, index }) => [schedule.id, index]));
  const sub: Config = { ...config, schedules: relevant.map((r) => r.schedule) };
  const from = Math.floor(now / MINUTE_MS) * MINUTE_MS;
  const edges = edgesOf(sub, due(sub, from, from + HORIZON_DAYS * DAY_MS));

  const reported = new Set<string>();
  for (const [target, list] of edges) {
    // Opposite edges from two schedules at one instant: the target ends up running, by the rule.
    for (let i = 1; i < list.length; i++) {
      const [a, b] = [list[i - 1]!, list[i]!];
      if (a.at !== b.at || a.schedule === b.schedule || a.state === b.state) continue;
      const key = `${target}|${[a.schedule, b.schedule].sort().join('|')}`;
      if (reported.has(key)) continue;
      reported.add(key);
      warnings.push({
        path: `schedules[${indexOf.get(b.schedule)}]`,
        message: `${b.schedule} and ${a.schedule} set ${target} to ${b.state} and ${a.state} at the same instant (first at ${a.at}); it will be running`,
      });
    }
    if (!pauseAll(target)) continue;
    let pausedSince: string | undefined;
    for (const edge of list) {
      if (edge.state === 'paused') pausedSince ??= edge.at;
      else if (pausedSince) {
        if (Date.parse(edge.at) - Date.parse(pausedSince) > PAUSE_ALL_LIMIT_MS) {
          warnings.push({
            path: `targets.${target}.pauseMode`,
            message: `${target} is paused with pauseMode "all" for ${Math.round((Date.parse(edge.at) - Date.parse(pausedSince)) / 3600_000)} h from ${pausedSince}: Huawei advises at most 24 h (incremental sync may fail and the job must be rebuilt); use pauseMode "target"`,
          });
          break;
        }
        pausedSince = undefined;
      }
    }
  }
  return warnings;
}
