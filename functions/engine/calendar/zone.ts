/**
 * Wall-clock arithmetic for IANA zones.
 *
 * Intl is the only source of zone rules, but it is slow per call, so offsets are sampled every
 * quarter hour and a transition inside a quarter is found by bisection. Every real-world zone
 * changes its offset at most once in fifteen minutes, which makes the sampling exact.
 */

import { closest } from '../suggest.ts';

export const MINUTE_MS = 60_000;
const QUARTER_MIN = 15;

const zoneValidity = new Map<string, boolean>();

/**
 * The canonical IANA names the runtime knows. Looking a name up here takes about 2 ms; the first
 * `Intl.DateTimeFormat` of a process loads ICU's zone data and takes some 25 ms, which `validate`
 * then need not pay for the usual, canonical names.
 */
let canonicalZones: Set<string> | undefined;

export function isValidTimeZone(zone: string): boolean {
  let known = zoneValidity.get(zone);
  canonicalZones ??= new Set(Intl.supportedValuesOf?.('timeZone') ?? []);
  if (known === undefined && canonicalZones.has(zone)) known = true;
  if (known === undefined) {
    // Aliases (Asia/Calcutta, US/Eastern) are valid too: the formatter knows them.
    try {
      new Intl.DateTimeFormat('en-US', { timeZone: zone });
      // Intl accepts offsets such as "+01:00" too; the contract asks for IANA names.
      known = zone === 'UTC' || /^[A-Za-z][A-Za-z0-9_+-]*(\/[A-Za-z0-9_+-]+)*$/.test(zone);
    } catch {
      known = false;
    }
    zoneValidity.set(zone, known);
  }
  return known;
}

/** The canonical zone name closest to a misspelt one (`Asia/Shangai` → `Asia/Shanghai`), if any. */
export function closestTimeZone(zone: string): string | undefined {
  canonicalZones ??= new Set(Intl.supportedValuesOf?.('timeZone') ?? []);
  return closest(zone, canonicalZones);
}

/**
 * What every ZoneClock of one zone shares: the formatters and the offsets sampled so far. A
 * config compiled anew (a reload, the narrowed configs of a look-back, a page view's own planner)
 * then never samples a quarter the process has already sampled.
 */
interface ZoneSamples {
  format: Intl.DateTimeFormat;
  /** Formats `GMT+01:00`: one part to read, about three times faster than `formatToParts`. */
  offsetFormat: Intl.DateTimeFormat;
  quarters: Map<number, number>;
}

const samplesByZone = new Map<string, ZoneSamples>();

function samplesOf(zone: string): ZoneSamples {
  let samples = samplesByZone.get(zone);
  if (!samples) {
    samples = {
      format: new Intl.DateTimeFormat('en-US', {
        timeZone: zone,
        hourCycle: 'h23',
        year: 'numeric',
        month: 'numeric',
        day: 'numeric',
        hour: 'numeric',
        minute: 'numeric',
      }),
      offsetFormat: new Intl.DateTimeFormat('en-US', { timeZone: zone, timeZoneName: 'longOffset' }),
      quarters: new Map(),
    };
    samplesByZone.set(zone, samples);
  }
  return samples;
}

export class ZoneClock {
  private static readonly shared = new Map<string, ZoneClock>();

  /** One clock per zone for the process: formatters are costly to build, cheap to keep. */
  static of(zone: string): ZoneClock {
    let clock = ZoneClock.shared.get(zone);
    if (!clock) {
      clock = new ZoneClock(zone);
      ZoneClock.shared.set(zone, clock);
    }
    return clock;
  }

  readonly zone: string;
  private readonly format: Intl.DateTimeFormat;
  private readonly offsetFormat: Intl.DateTimeFormat;
  private readonly quarterOffsets: Map<number, number>;

  constructor(zone: string) {
    this.zone = zone;
    const samples = samplesOf(zone);
    this.format = samples.format;
    this.offsetFormat = samples.offsetFormat;
    this.quarterOffsets = samples.quarters;
  }

  /** Offset from UTC in whole minutes at the UTC minute `epochMinute`. */
  offsetAt(epochMinute: number): number {
    const q = Math.floor(epochMinute / QUARTER_MIN);
    const start = this.quarterOffset(q);
    const end = this.quarterOffset(q + 1);
    if (start === end) return start;
    // A transition lies in (q*15, (q+1)*15]: find the first minute with the new offset.
    let lo = q * QUARTER_MIN;
    let hi = (q + 1) * QUARTER_MIN;
    while (hi - lo > 1) {
      const mid = (lo + hi) >> 1;
      if (this.intlOffset(mid) === end) hi = mid;
      else lo = mid;
    }
    return epochMinute >= hi ? end : start;
  }

  /** Local wall-clock time, in minutes since the epoch as if local time were UTC. */
  localMinute(epochMinute: number): number {
    return epochMinute + this.offsetAt(epochMinute);
  }

  private quarterOffset(q: number): number {
    let offset = this.quarterOffsets.get(q);
    if (offset === undefined) {
      if (this.quarterOffsets.size > 50_000) this.quarterOffsets.clear();
      offset = this.intlOffset(q * QUARTER_MIN);
      this.quarterOffsets.set(q, offset);
    }
    return offset;
  }

  private intlOffset(epochMinute: number): number {
    const text = this.offsetFormat.format(new Date(epochMinute * MINUTE_MS));
    const match = /GMT(?:([+-])(\d{2}):(\d{2}))?$/.exec(text);
    // Offsets with seconds (local mean time, before 1900) are read from the wall clock instead.
    if (match) return match[1] ? (match[1] === '-' ? -1 : 1) * (Number(match[2]) * 60 + Number(match[3])) : 0;
    return this.wallClockOffset(epochMinute);
  }

  private wallClockOffset(epochMinute: number): number {
    let year = 0;
    let month = 0;
    let day = 0;
    let hour = 0;
    let minute = 0;
    for (const part of this.format.formatToParts(new Date(epochMinute * MINUTE_MS))) {
      if (part.type === 'year') year = Number(part.value);
      else if (part.type === 'month') month = Number(part.value);
      else if (part.type === 'day') day = Number(part.value);
      else if (part.type === 'hour') hour = Number(part.value);
      else if (part.type === 'minute') minute = Number(part.value);
    }
    const local = Date.UTC(year, month - 1, day, hour, minute) / MINUTE_MS;
    return local - epochMinute;
  }
}

/** Calendar facts about one local day, shared by every rule evaluated on it. */
export interface LocalDay {
  /** `YYYY-MM-DD` */
  date: string;
  /** `MM-DD` */
  monthDay: string;
  year: number;
  /** 1-12 */
  month: number;
  /** 1-31 */
  day: number;
  /** 0 = Sunday … 6 = Saturday */
  weekday: number;
  daysInMonth: number;
}

const MINUTES_PER_DAY = 1440;
const dayCache = new Map<number, LocalDay>();

/** The local day a local minute (from {@link ZoneClock.localMinute}) falls on. */
export function localDayOf(localMinute: number): LocalDay {
  const dayIndex = Math.floor(localMinute / MINUTES_PER_DAY);
  let day = dayCache.get(dayIndex);
  if (!day) {
    const d = new Date(dayIndex * MINUTES_PER_DAY * MINUTE_MS);
    const year = d.getUTCFullYear();
    const month = d.getUTCMonth() + 1;
    const dom = d.getUTCDate();
    const mm = String(month).padStart(2, '0');
    const dd = String(dom).padStart(2, '0');
    day = {
      date: `${String(year).padStart(4, '0')}-${mm}-${dd}`,
      monthDay: `${mm}-${dd}`,
      year,
      month,
      day: dom,
      weekday: d.getUTCDay(),
      daysInMonth: new Date(Date.UTC(year, month, 0)).getUTCDate(),
    };
    if (dayCache.size > 20_000) dayCache.clear();
    dayCache.set(dayIndex, day);
  }
  return day;
}

export function minuteOfDay(localMinute: number): number {
  return ((localMinute % MINUTES_PER_DAY) + MINUTES_PER_DAY) % MINUTES_PER_DAY;
}

/** Formats a local minute as `YYYY-MM-DD HH:MM`. */
export function formatLocalMinute(localMinute: number): string {
  const mod = minuteOfDay(localMinute);
  const hh = String(Math.floor(mod / 60)).padStart(2, '0');
  const mm = String(mod % 60).padStart(2, '0');
  return `${localDayOf(localMinute).date} ${hh}:${mm}`;
}

/** `2027-03-29 20:00` (with `seconds`: `20:00:07`): a UTC instant as wall-clock time in `zone`. */
export function wallClock(ms: number, zone: string, options: { seconds?: boolean } = {}): string {
  const epochMinute = Math.floor(ms / MINUTE_MS);
  const local = ZoneClock.of(zone).localMinute(epochMinute) * MINUTE_MS + (ms - epochMinute * MINUTE_MS);
  const d = new Date(local).toISOString();
  return `${d.slice(0, 10)} ${d.slice(11, options.seconds ? 19 : 16)}`;
}
