import { describe, expect, it } from 'vitest';
import { latestEdges } from '../../functions/engine/desired.ts';
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
