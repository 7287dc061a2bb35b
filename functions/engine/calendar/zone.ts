/**
 * Wall-clock arithmetic for IANA zones.
 *
 * Intl is the only source of zone rules, but it is slow per call (some microseconds), and a plan
 * over a year asks for the offset of every minute in it. So offsets are sampled once a day (UTC)
 * and a change inside a day is found once, by bisection to the minute, and kept: a year of one
 * zone costs some 400 Intl calls instead of 35,000 (a quarter-hour sampling) or 525,600. This is
 * exact as long as a zone changes its offset at most once in a day. In the tz database the
 * closest two changes of one zone since 1900 are four days apart (Freetown, 1939), and seven
 * days since 1970 (Brazil, 2000); for all 418 zones from 1970 to 2037 this clock agreed with
 * Intl hour by hour, and minute by minute around each change (Node 20, ICU 78).
 */

import { closest } from '../suggest.ts';

export const MINUTE_MS = 60_000;
/** Minutes between two samples of a zone's offset: a day. */
const BLOCK_MIN = 1440;
/** Blocks kept per zone: some 13 years, then forgotten and sampled anew. */
const MAX_BLOCKS = 5_000;

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
 * then never samples a block the process has already sampled.
 */
interface ZoneSamples {
  format: Intl.DateTimeFormat;
  /** Formats `GMT+01:00`: one part to read, about three times faster than `formatToParts`. */
  offsetFormat: Intl.DateTimeFormat;
  /** The offset at the start of each block sampled, by block number (epoch minute / BLOCK_MIN). */
  blocks: Map<number, number>;
  /** For a block whose offset changes inside it: the first minute with the new offset. */
  changes: Map<number, number>;
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
      blocks: new Map(),
      changes: new Map(),
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
  private readonly samples: ZoneSamples;
  /**
   * The stretch `[runFrom, runTo)` of epoch minutes last found at one offset: a plan asks minute
   * after minute, and each answer inside it then costs no look-up at all.
   */
  private runFrom = 0;
  private runTo = 0;
  private runOffset = 0;

  constructor(zone: string) {
    this.zone = zone;
    this.samples = samplesOf(zone);
  }

  /** Offset from UTC in whole minutes at the UTC minute `epochMinute`. */
  offsetAt(epochMinute: number): number {
    if (epochMinute >= this.runFrom && epochMinute < this.runTo) return this.runOffset;
    const block = Math.floor(epochMinute / BLOCK_MIN);
    const blockFrom = block * BLOCK_MIN;
    const start = this.blockOffset(block);
    const end = this.blockOffset(block + 1);
    if (start === end) return this.run(blockFrom, blockFrom + BLOCK_MIN, start);
    const change = this.changeIn(block, end);
    return epochMinute >= change
      ? this.run(change, blockFrom + BLOCK_MIN, end)
      : this.run(blockFrom, change, start);
  }

  /** Local wall-clock time, in minutes since the epoch as if local time were UTC. */
  localMinute(epochMinute: number): number {
    return epochMinute + this.offsetAt(epochMinute);
  }

  /**
   * A minute after `epochMinute` up to which the offset stays the one at `epochMinute` (exclusive;
   * at most a day on): a plan passes over the minutes in between without asking each.
   */
  sameOffsetUntil(epochMinute: number): number {
    this.offsetAt(epochMinute);
    return this.runTo;
  }

  private run(from: number, to: number, offset: number): number {
    this.runFrom = from;
    this.runTo = to;
    this.runOffset = offset;
    return offset;
  }

  private blockOffset(block: number): number {
    const { blocks, changes } = this.samples;
    let offset = blocks.get(block);
    if (offset === undefined) {
      if (blocks.size > MAX_BLOCKS) {
        blocks.clear();
        changes.clear();
      }
      offset = this.intlOffset(block * BLOCK_MIN);
      blocks.set(block, offset);
    }
    return offset;
  }

  /** The first minute of a block with the offset its end has (the block's start has another). */
  private changeIn(block: number, end: number): number {
    let change = this.samples.changes.get(block);
    if (change === undefined) {
      let lo = block * BLOCK_MIN;
      let hi = lo + BLOCK_MIN;
      while (hi - lo > 1) {
        const mid = Math.floor((lo + hi) / 2);
        if (this.intlOffset(mid) === end) hi = mid;
        else lo = mid;
      }
      change = hi;
      this.samples.changes.set(block, change);
    }
    return change;
  }

  private intlOffset(epochMinute: number): number {
    const text = this.samples.offsetFormat.format(new Date(epochMinute * MINUTE_MS));
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
    for (const part of this.samples.format.formatToParts(new Date(epochMinute * MINUTE_MS))) {
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
