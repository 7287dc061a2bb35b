import {
  closestTimeZone,
  isValidTimeZone,
  MINUTE_MS,
  wallClock,
  ZoneClock,
} from '../engine/calendar/zone.ts';
import type { Config } from '../engine/config/schema.ts';
import { expandTargetNames } from '../engine/config/validate.ts';
import { stringOption, type Values } from './command.ts';
import { UsageError } from './io.ts';

/**
 * Which zone a command reads and shows wall-clock times in. Output uses one zone, named: `--tz`,
 * else the config's top-level zone. Times a person types for an override are read in the zone of
 * the targets' schedules, since that is the clock the schedules they beat run on.
 */

export { wallClock };

export const TZ_HELP = `  --tz ZONE       show times in this IANA zone (default: the config's "timezone", else UTC)`;

/** The config's top-level zone, UTC when it names none. */
export function configZone(config: Config): string {
  return config.timezone ?? 'UTC';
}

/** `--tz ZONE`, checked: an IANA name (a typo gets a "did you mean"). */
export function tzOption(values: Values): string | undefined {
  const zone = stringOption(values, 'tz');
  if (zone === undefined) return undefined;
  if (!isValidTimeZone(zone)) {
    const near = closestTimeZone(zone);
    throw new UsageError(
      `--tz: "${zone}" is not an IANA time zone (${near ? `did you mean "${near}"?` : 'e.g. Europe/Berlin, Asia/Shanghai, UTC'})`,
    );
  }
  return zone;
}

/** The one zone of a command's readable output: `--tz`, else the config's zone. */
export function outputZone(values: Values, config: Config): string {
  return tzOption(values) ?? configZone(config);
}

/**
 * The zones of the enabled schedules that set these targets (groups expanded), each with the ids
 * of its schedules, in config order.
 */
export function scheduleZones(config: Config, targets: readonly string[]): Map<string, string[]> {
  const wanted = new Set(expandTargetNames(targets, config.targets, config.groups));
  const zones = new Map<string, string[]>();
  for (const schedule of config.schedules) {
    if (!schedule.enabled) continue;
    const names = expandTargetNames(schedule.targets, config.targets, config.groups);
    if (!names.some((n) => wanted.has(n))) continue;
    const zone = schedule.timezone ?? configZone(config);
    zones.set(zone, [...(zones.get(zone) ?? []), schedule.id]);
  }
  return zones;
}

/**
 * The zone wall-clock TIMEs of an override are read in: `--tz` when given; else the one zone the
 * targets' schedules share; else (no schedule) the config's zone. Schedules in several zones make
 * a wall-clock time ambiguous: `--tz` is then required (`needed` false: every TIME is an ISO
 * instant, so the zone is only for echoing it).
 */
export function readingZone(
  config: Config,
  selection: { targets: readonly string[]; schedule: string | undefined },
  tz: string | undefined,
  needed: boolean,
): string {
  if (tz !== undefined) return tz;
  const scheduleOf =
    selection.schedule === undefined ? undefined : config.schedules.find((s) => s.id === selection.schedule);
  if (scheduleOf) return scheduleOf.timezone ?? configZone(config);
  const zones = scheduleZones(config, selection.targets);
  if (zones.size === 1) return [...zones.keys()][0]!;
  if (zones.size === 0 || !needed) return configZone(config);
  const listed = [...zones].map(([zone, ids]) => `${zone} (${ids.join(', ')})`).join(' and ');
  throw new UsageError(
    `the schedules of ${selection.targets.join(', ')} run in ${listed}: say which zone the times are in with --tz ZONE`,
  );
}

/** {@link wallClock} of an ISO instant, or the text itself when it is not one. */
export function wallClockOf(iso: string, zone: string, options: { seconds?: boolean } = {}): string {
  const ms = Date.parse(iso);
  return Number.isNaN(ms) ? iso : wallClock(ms, zone, options);
}

/** The offset from UTC at an instant, as `UTC+08:00`. */
export function offsetText(ms: number, zone: string): string {
  const offset = clockOf(zone).offsetAt(Math.floor(ms / MINUTE_MS));
  const sign = offset < 0 ? '-' : '+';
  const abs = Math.abs(offset);
  return `UTC${sign}${String(Math.floor(abs / 60)).padStart(2, '0')}:${String(abs % 60).padStart(2, '0')}`;
}

/** The line above a table that names its one zone: `Times in Europe/Berlin (UTC+02:00 now).` */
export function zoneLine(zone: string, now: number): string {
  return `Times in ${zone} (${offsetText(now, zone)} now).\n`;
}

const clockOf = (zone: string): ZoneClock => ZoneClock.of(zone);
