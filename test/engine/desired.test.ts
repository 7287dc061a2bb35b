import { describe, expect, it } from 'vitest';
import { desiredSpans, latestEdges } from '../../functions/engine/desired.ts';
import { configWith, type RawSchedule } from '../helpers/config.ts';

const at = (iso: string) => Date.parse(iso);
const window = (id: string, spec: string, targets = ['face-search']): RawSchedule => ({
  id,
  targets,
  timezone: 'UTC',
  window: spec,
});

describe('latest edges: the desired state of each target', () => {
  it('follows a window: closed at night, running in office hours', () => {
    const config = configWith([window('office', 'Mon-Fri 08:00-20:00', ['face-search', 'orders-sync'])]);
    // Monday 2027-03-29
    expect(latestEdges(config, at('2027-03-29T07:59:00Z')).get('face-search')).toMatchObject({
      at: '2027-03-26T20:00:00Z',
      state: 'stopped',
      action: 'stop',
      schedule: 'office',
    });
    expect(latestEdges(config, at('2027-03-29T12:00:00Z')).get('orders-sync')).toMatchObject({
      at: '2027-03-29T08:00:00Z',
      state: 'running',
      action: 'resume',
    });
    expect(latestEdges(config, at('2027-03-29T20:00:00Z')).get('orders-sync')).toMatchObject({
      state: 'paused',
    });
  });

  it('a hand-over between two windows at one instant stays running', () => {
    const config = configWith([window('a', 'Mon-Fri 08:00-12:00'), window('b', 'Mon-Fri 12:00-18:00')]);
    expect(latestEdges(config, at('2027-03-29T12:00:00Z')).get('face-search')).toMatchObject({
      at: '2027-03-29T12:00:00Z',
      state: 'running',
    });
    expect(latestEdges(config, at('2027-03-29T18:00:00Z')).get('face-search')).toMatchObject({
      state: 'stopped',
    });
  });

  it('a Mon-Fri 00:00-24:00 window never stops the target at midnight between weekdays', () => {
    const config = configWith([window('all-day', 'Mon-Fri 00:00-24:00')]);
    for (const t of ['2027-03-30T00:00:00Z', '2027-03-31T00:00:00Z', '2027-04-02T12:00:00Z'])
      expect(latestEdges(config, at(t)).get('face-search')?.state).toBe('running');
    expect(latestEdges(config, at('2027-04-03T00:00:00Z')).get('face-search')?.state).toBe('stopped');
  });

  it('gives the same answer incrementally, minute after minute, as from scratch', () => {
    const config = configWith([window('office', 'Mon-Fri 08:00-20:00')]);
    const fresh = configWith([window('office', 'Mon-Fri 08:00-20:00')]);
    for (let t = at('2027-03-29T07:55:00Z'); t <= at('2027-03-29T08:05:00Z'); t += 60_000)
      expect(latestEdges(config, t).get('face-search')).toEqual(
        latestEdges(configWith([window('office', 'Mon-Fri 08:00-20:00')]), t).get('face-search'),
      );
    expect(latestEdges(fresh, at('2027-03-29T08:05:00Z')).get('face-search')?.state).toBe('running');
  });

  it('looks back 35 days at most', () => {
    const config = configWith([
      {
        id: 'yearly',
        targets: ['face-search'],
        timezone: 'UTC',
        actions: [{ do: 'start', cron: '0 9 1 1 *' }],
      },
    ]);
    expect(latestEdges(config, at('2027-02-04T08:00:00Z')).get('face-search')).toMatchObject({
      at: '2027-01-01T09:00:00Z',
    });
    expect(latestEdges(config, at('2027-02-05T09:00:00Z')).has('face-search')).toBe(false);
    expect(latestEdges(config, at('2027-02-05T08:59:00Z')).has('face-search')).toBe(true);
  });

  it('a disabled schedule gives no edges', () => {
    const config = configWith([{ ...window('office', 'Mon-Fri 08:00-20:00'), enabled: false }]);
    expect(latestEdges(config, at('2027-03-29T12:00:00Z')).size).toBe(0);
  });
});

describe('windows are levels: a target runs while any of its windows is open (finding 2)', () => {
  it('office 08-20 plus lunch-demo 10-12 on one task: still running at 12:00, stopped at 20:00', () => {
    const config = configWith([
      window('office', 'Mon-Fri 08:00-20:00'),
      window('lunch-demo', 'Mon-Fri 10:00-12:00'),
    ]);
    const state = (iso: string) => latestEdges(config, at(iso)).get('face-search');
    expect(state('2027-03-29T12:00:00Z')).toMatchObject({
      state: 'running',
      schedule: 'lunch-demo',
      at: '2027-03-29T10:00:00Z',
    });
    expect(state('2027-03-29T19:59:00Z')?.state).toBe('running');
    expect(state('2027-03-29T20:00:00Z')).toMatchObject({ state: 'stopped', schedule: 'office' });
  });

  it('across zones: a Berlin window closing inside a UTC window keeps the target running', () => {
    const config = configWith([
      { ...window('berlin', 'Mon-Fri 08:00-12:00'), timezone: 'Europe/Berlin' },
      window('utc', 'Mon-Fri 09:00-17:00'),
    ]);
    // Monday 2027-03-29, CEST: Berlin 12:00 = 10:00Z, inside the UTC window 09-17.
    expect(latestEdges(config, at('2027-03-29T10:00:00Z')).get('face-search')?.state).toBe('running');
    expect(latestEdges(config, at('2027-03-29T16:59:00Z')).get('face-search')?.state).toBe('running');
    expect(latestEdges(config, at('2027-03-29T17:00:00Z')).get('face-search')).toMatchObject({
      state: 'stopped',
      schedule: 'utc',
    });
  });

  it('a cron stop inside an open window is overruled; the window closing decides', () => {
    const config = configWith([
      window('office', 'Mon-Fri 08:00-20:00'),
      {
        id: 'noon-stop',
        targets: ['face-search'],
        timezone: 'UTC',
        actions: [{ do: 'stop', cron: '0 12 * * *' }],
      },
    ]);
    expect(latestEdges(config, at('2027-03-29T12:30:00Z')).get('face-search')?.state).toBe('running');
    // Saturday: no window, the cron stop decides.
    expect(latestEdges(config, at('2027-04-03T12:30:00Z')).get('face-search')).toMatchObject({
      state: 'stopped',
      schedule: 'noon-stop',
    });
  });

  it('a cron start after a window closed starts a new running edge', () => {
    const config = configWith([
      window('office', 'Mon-Fri 08:00-20:00'),
      {
        id: 'late',
        targets: ['face-search'],
        timezone: 'UTC',
        actions: [{ do: 'start', cron: '0 21 * * *' }],
      },
    ]);
    expect(latestEdges(config, at('2027-03-29T20:30:00Z')).get('face-search')?.state).toBe('stopped');
    expect(latestEdges(config, at('2027-03-29T21:00:00Z')).get('face-search')).toMatchObject({
      state: 'running',
      schedule: 'late',
    });
  });
});

describe('desired spans over a range: what the week view and savings draw', () => {
  it('gives consecutive spans, each set by one effective edge', () => {
    const config = configWith([
      window('office', 'Mon-Fri 08:00-20:00'),
      window('lunch-demo', 'Mon-Fri 10:00-12:00'),
    ]);
    const spans = desiredSpans(config, at('2027-03-29T00:00:00Z'), at('2027-03-30T00:00:00Z'), [
      'face-search',
    ]);
    expect(
      spans
        .get('face-search')!
        .map((s) => [s.from.slice(11, 16), s.to.slice(11, 16), s.edge?.state, s.edge?.schedule]),
    ).toEqual([
      ['00:00', '08:00', 'stopped', 'office'],
      ['08:00', '10:00', 'running', 'office'],
      ['10:00', '20:00', 'running', 'lunch-demo'],
      ['20:00', '00:00', 'stopped', 'office'],
    ]);
  });

  it('ends a span where its edge leaves the 35-day look-back, for that target only', () => {
    // face-search: one start a year (Jan 1); orders-sync: a window every weekday.
    const config = configWith([
      {
        id: 'yearly',
        targets: ['face-search'],
        timezone: 'UTC',
        actions: [{ do: 'start', cron: '0 0 1 1 *' }],
      },
      window('office', 'Mon-Fri 08:00-20:00', ['orders-sync']),
    ]);
    const spans = desiredSpans(config, at('2027-01-20T00:00:00Z'), at('2027-03-01T00:00:00Z'));
    expect(spans.get('face-search')!.map((s) => [s.from, s.to, s.edge?.state])).toEqual([
      ['2027-01-20T00:00:00.000Z', '2027-02-05T00:00:00.000Z', 'running'],
      ['2027-02-05T00:00:00.000Z', '2027-03-01T00:00:00.000Z', undefined],
    ]);
    const office = spans.get('orders-sync')!;
    expect(office).toHaveLength(2 * 28 + 1); // 28 weekdays from Wed Jan 20 to Fri Feb 26, two edges each
    expect(office.every((s) => s.edge !== undefined)).toBe(true);
  });

  it('agrees with latestEdges at every minute of a DST week in Berlin (a 23-hour day)', () => {
    const config = configWith([
      { ...window('office', 'Mon-Sun 01:00-03:30'), timezone: 'Europe/Berlin' },
      window('utc', 'Sat,Sun 00:30-02:00'),
      {
        id: 'c',
        targets: ['face-search'],
        timezone: 'Europe/Berlin',
        actions: [{ do: 'stop', cron: '15 2 * * *' }],
      },
    ]);
    const from = at('2027-03-26T00:00:00Z');
    const to = at('2027-03-30T00:00:00Z');
    const spans = desiredSpans(config, from, to, ['face-search']).get('face-search')!;
    const fresh = () =>
      configWith([
        { ...window('office', 'Mon-Sun 01:00-03:30'), timezone: 'Europe/Berlin' },
        window('utc', 'Sat,Sun 00:30-02:00'),
        {
          id: 'c',
          targets: ['face-search'],
          timezone: 'Europe/Berlin',
          actions: [{ do: 'stop', cron: '15 2 * * *' }],
        },
      ]);
    for (let t = from; t < to; t += 31 * 60_000) {
      const span = spans.find((s) => at(s.from) <= t && t < at(s.to))!;
      // From scratch each time (a new config object), and incrementally (the same one).
      expect(latestEdges(fresh(), t).get('face-search')).toEqual(span.edge);
      expect(latestEdges(config, t).get('face-search')).toEqual(span.edge);
    }
  });
});
