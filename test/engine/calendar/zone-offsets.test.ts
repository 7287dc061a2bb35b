import { describe, expect, it } from 'vitest';
import { MINUTE_MS, ZoneClock } from '../../../functions/engine/calendar/zone.ts';

const formats = new Map<string, Intl.DateTimeFormat>();

/** The offset Intl gives for one minute, read directly: what the sampled clock must agree with. */
function intlOffset(zone: string, epochMinute: number): number {
  let format = formats.get(zone);
  if (!format) {
    format = new Intl.DateTimeFormat('en-US', { timeZone: zone, timeZoneName: 'longOffset' });
    formats.set(zone, format);
  }
  const match = /GMT(?:([+-])(\d{2}):(\d{2}))?$/.exec(format.format(new Date(epochMinute * MINUTE_MS)))!;
  return match[1] ? (match[1] === '-' ? -1 : 1) * (Number(match[2]) * 60 + Number(match[3])) : 0;
}

/**
 * Years in which zones changed their offsets in unusual ways: half-hour and two-hour daylight
 * saving, Ramadan suspensions, a day skipped, a zone moving by a quarter hour or to another
 * offset for good.
 */
const cases: [zone: string, year: number][] = [
  ['Australia/Lord_Howe', 2027], // 30-minute DST
  ['Antarctica/Troll', 2027], // 2-hour DST
  ['Africa/Casablanca', 2027], // DST suspended for Ramadan: four changes a year
  ['Pacific/Apia', 2011], // skipped 30 December 2011
  ['Asia/Kathmandu', 1985], // +05:30 to +05:45 at 1986's first local midnight
  ['Pacific/Chatham', 2027], // +12:45 / +13:45
  ['Asia/Pyongyang', 2018], // back from +08:30 to +09:00
  ['America/Santiago', 2027],
  ['Europe/Berlin', 2027],
];

describe('zone offsets sampled once a day', () => {
  it.each(cases)(
    'agree with Intl minute by minute where %s changes its offset in %i, and hour by hour elsewhere',
    (zone, year) => {
      const clock = new ZoneClock(zone);
      const from = Date.UTC(year, 0, 1) / MINUTE_MS;
      const to = Date.UTC(year + 1, 0, 1) / MINUTE_MS;
      let changes = 0;
      let previous = intlOffset(zone, from);
      for (let hour = from; hour < to; hour += 60) {
        const offset = intlOffset(zone, hour + 60);
        expect(clock.offsetAt(hour + 60), `${zone} ${new Date((hour + 60) * MINUTE_MS).toISOString()}`).toBe(
          offset,
        );
        if (offset !== previous) {
          changes += 1;
          for (let m = hour; m <= hour + 60; m++) expect(clock.offsetAt(m)).toBe(intlOffset(zone, m));
        }
        previous = offset;
      }
      expect(changes).toBeGreaterThan(0);
    },
  );

  it('says how long the offset holds, and never past a change', () => {
    const clock = new ZoneClock('Europe/Berlin');
    // 2027-03-28 01:00 UTC: CET to CEST.
    const change = Date.parse('2027-03-28T01:00:00Z') / MINUTE_MS;
    for (const m of [change - 1441, change - 361, change - 1, change, change + 5]) {
      const until = clock.sameOffsetUntil(m);
      expect(until).toBeGreaterThan(m);
      expect(until - m).toBeLessThanOrEqual(1440);
      expect(intlOffset('Europe/Berlin', until - 1)).toBe(intlOffset('Europe/Berlin', m));
      if (m < change) expect(until).toBeLessThanOrEqual(change);
    }
    expect(clock.sameOffsetUntil(change - 1)).toBe(change);
  });
});
