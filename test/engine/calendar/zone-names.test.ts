import { describe, expect, it } from 'vitest';
import { isValidTimeZone } from '../../../functions/engine/calendar/zone.ts';

describe('time zone names', () => {
  it.each(['Europe/Berlin', 'Asia/Shanghai', 'America/Argentina/Buenos_Aires', 'UTC'])(
    'accepts the canonical IANA name %s',
    (zone) => expect(isValidTimeZone(zone)).toBe(true),
  );
  it.each(['Asia/Calcutta', 'US/Eastern'])('accepts the IANA alias %s', (zone) =>
    expect(isValidTimeZone(zone)).toBe(true),
  );
  it.each(['Mars/Base', '+01:00', 'Europe/berlin ', ''])('refuses %j', (zone) =>
    expect(isValidTimeZone(zone)).toBe(false),
  );
});
