import { describe, expect, it } from 'vitest';
import { latestEdges, latestEdgesAhead } from '../../functions/engine/desired.ts';
import type { HistoryEntry } from '../../functions/engine/ledger.ts';
import type { Override } from '../../functions/engine/overrides.ts';
import { EVENT_TYPES, typeMatches } from '../../functions/events/cloudevent.ts';
import { eventOfEntry, overrideEvent, typeOfEntry } from '../../functions/events/make.ts';
import { tickEvents } from '../../functions/events/tick-events.ts';
import { upcomingChanges } from '../../functions/events/upcoming.ts';
import { sinksFor } from '../../functions/notify/routing.ts';
import { configWith } from '../helpers/config.ts';
import { historyEntry } from '../helpers/entries.ts';

const MINUTE = 60_000;
const at = (iso: string) => Date.parse(iso);

const entry = (result: Partial<HistoryEntry['result']>, extra: Partial<HistoryEntry> = {}): HistoryEntry =>
  historyEntry(
    'e1',
    { target: 'orders-sync', kind: 'drs-job', action: 'pause', ok: true, status: 'succeeded', ...result },
    extra,
  );

const override = (fields: Partial<Override> = {}): Override => ({
  id: 'ovr-00000001',
  targets: ['orders-sync'],
  state: 'running',
  from: '2027-03-29T19:00:00.000Z',
  until: '2027-03-29T23:00:00.000Z',
  reason: 'release',
  createdAt: '2027-03-29T19:00:00.000Z',
  ...fields,
});

describe('events from history entries', () => {
  it.each([
    [{ ok: true, status: 'succeeded' }, {}, 'nightshift.action.succeeded'],
    [{ ok: true, status: 'unchanged' }, {}, 'nightshift.action.succeeded'],
    [{ ok: false, status: 'failed', errorCode: 'DRS.10000010' }, {}, 'nightshift.action.failed'],
    [{ ok: false, status: 'skipped', errorCode: 'NIGHTSHIFT.MISSED' }, {}, 'nightshift.action.missed'],
    [{ ok: true, status: 'succeeded' }, { drift: true }, 'nightshift.target.drifted'],
    [{ ok: false, status: 'failed' }, { drift: true }, 'nightshift.target.drifted'],
  ] as const)('%o %o is %s', (result, extra, type) => {
    expect(typeOfEntry(entry(result, extra))).toBe(type);
  });

  it('carries the entry id (receivers deduplicate by it), the target as subject and the entry as data', () => {
    const event = eventOfEntry(entry({ ok: false, status: 'failed', errorCode: 'X' }));
    expect(event).toEqual({
      specversion: '1.0',
      id: 'e1',
      source: 'nightshift',
      type: 'nightshift.action.failed',
      time: '2027-03-29T20:00:03.000Z',
      subject: 'orders-sync',
      datacontenttype: 'application/json',
      data: expect.objectContaining({
        schedule: 'office',
        result: expect.objectContaining({ errorCode: 'X' }),
      }),
    });
    expect(event.data).not.toHaveProperty('id');
  });

  it('an override event has one id per override and type, whoever makes it', () => {
    const a = overrideEvent('nightshift.override.created', override(), '2027-03-29T19:00:00Z');
    const b = overrideEvent('nightshift.override.created', override(), '2027-03-29T19:00:05Z');
    expect(a.id).toBe(b.id);
    expect(overrideEvent('nightshift.override.removed', override(), '2027-03-29T19:00:00Z').id).not.toBe(
      a.id,
    );
    expect(a.subject).toBe('ovr-00000001');
  });

  it('patterns: exact types, prefixes ending in .*, and *', () => {
    expect(typeMatches('nightshift.override.*', 'nightshift.override.ended')).toBe(true);
    expect(typeMatches('nightshift.override.*', 'nightshift.overrides')).toBe(false);
    expect(typeMatches('*', 'nightshift.ledger.failed')).toBe(true);
    expect(EVENT_TYPES.filter((t) => typeMatches('nightshift.action.*', t))).toHaveLength(4);
  });
});

describe('upcoming changes', () => {
  const config = configWith(
    [{ id: 'office', targets: ['orders-sync'], timezone: 'UTC', window: 'Mon-Fri 08:00-20:00' }],
    { timezone: 'UTC' },
  );
  const look = (toIso: string, overrides: Override[] = [], minutesAhead = 15) =>
    upcomingChanges({
      config,
      overrides,
      from: at(toIso) - MINUTE,
      to: at(toIso),
      now: at(toIso),
      minutesAhead,
    });

  it('announces the 20:00 pause at 19:45, once, and nothing in the minutes around it', () => {
    expect(look('2027-03-29T19:44:00Z')).toEqual([]);
    expect(look('2027-03-29T19:45:00Z')).toEqual([
      {
        target: 'orders-sync',
        kind: 'drs-job',
        at: '2027-03-29T20:00:00Z',
        state: 'paused',
        from: 'running',
        action: 'pause',
        schedule: 'office',
        minutesAhead: 15,
      },
    ]);
    expect(look('2027-03-29T19:46:00Z')).toEqual([]);
  });

  it('from the tick’s own replay (as reconcile leaves it at the minute) the same, and it stays put', () => {
    const tick = configWith(
      [{ id: 'office', targets: ['orders-sync'], timezone: 'UTC', window: 'Mon-Fri 08:00-20:00' }],
      { timezone: 'UTC' },
    );
    const look = (iso: string) => {
      expect(latestEdges(tick, at(iso)).get('orders-sync')?.state).toBe('running');
      expect(latestEdgesAhead(tick, [at(iso) + 15 * MINUTE])).toHaveLength(1);
      return upcomingChanges({
        config: tick,
        overrides: [],
        from: at(iso) - MINUTE,
        to: at(iso),
        now: at(iso),
        minutesAhead: 15,
      });
    };
    expect(look('2027-03-29T19:44:00Z')).toEqual([]);
    expect(look('2027-03-29T19:45:00Z')).toMatchObject([
      { target: 'orders-sync', at: '2027-03-29T20:00:00Z', state: 'paused' },
    ]);
    expect(look('2027-03-29T19:46:00Z')).toEqual([]);
    expect(latestEdgesAhead(tick, [at('2027-03-29T19:40:00Z')])).toBeUndefined();
  });

  it('says nothing of a change an override holds back, or when upcomingMinutes is 0', () => {
    expect(look('2027-03-29T19:45:00Z', [override()])).toEqual([]);
    expect(look('2027-03-29T19:50:00Z', [], 10)).toHaveLength(1);
    expect(look('2027-03-29T19:45:00Z', [], 0)).toEqual([]);
  });

  it('a hand-over from one window to the next is no change', () => {
    const handover = configWith(
      [
        { id: 'morning', targets: ['face-search'], timezone: 'UTC', window: 'Mon-Fri 08:00-12:00' },
        { id: 'afternoon', targets: ['face-search'], timezone: 'UTC', window: 'Mon-Fri 12:00-18:00' },
      ],
      { timezone: 'UTC' },
    );
    const around = (iso: string) =>
      upcomingChanges({
        config: handover,
        overrides: [],
        from: at(iso) - MINUTE,
        to: at(iso),
        now: at(iso),
        minutesAhead: 15,
      });
    expect(around('2027-03-29T11:45:00Z')).toEqual([]);
    expect(around('2027-03-29T17:45:00Z')).toMatchObject([{ target: 'face-search', state: 'stopped' }]);
  });
});

describe('a tick’s other events', () => {
  const config = configWith([], { timezone: 'UTC', notifications: { upcomingMinutes: 15 } });

  it('an override whose until falls in the evaluated minutes ended; warnings and ledger failures too', () => {
    const events = tickEvents({
      config,
      from: at('2027-03-29T22:59:00Z'),
      to: at('2027-03-29T23:00:00Z'),
      now: at('2027-03-29T23:00:00Z'),
      overrides: [],
      overridesAtFrom: [override(), override({ id: 'ovr-later', until: '2027-03-30T01:00:00.000Z' })],
      warnings: [
        {
          code: 'status.unreadable',
          target: 'orders-sync',
          message: 'DRS answered 403',
          permission: 'drs:job:list',
        },
      ],
      ledgerFailures: [{ target: 'face-search', error: 'ENOSPC' }],
    });
    expect(events.map((e) => [e.type, e.subject])).toEqual([
      ['nightshift.override.ended', 'ovr-00000001'],
      ['nightshift.status.unreadable', 'orders-sync'],
      ['nightshift.ledger.failed', undefined],
    ]);
    expect(events[0]!.time).toBe('2027-03-29T23:00:00.000Z');
    expect(events[2]!.data).toMatchObject({ targets: ['face-search'], errors: ['ENOSPC'] });
  });
});

describe('routing', () => {
  const config = configWith([], {
    notifications: {
      sinks: {
        oncall: { type: 'slack', secret: 's1' },
        team: { type: 'dingtalk', secret: 's2' },
        all: { type: 'webhook', secret: 's3' },
      },
      routes: [
        { sink: 'oncall', targets: ['replication'] },
        { sink: 'team', events: ['nightshift.action.upcoming', 'nightshift.override.*'] },
        { sink: 'all', events: ['*'] },
      ],
    },
  });
  const failed = eventOfEntry(entry({ ok: false, status: 'failed' }));

  it('a route without events takes failures, misses, drift and overrides; its targets may be groups', () => {
    expect(sinksFor(config, failed)).toEqual(['oncall', 'all']);
    expect(
      sinksFor(config, eventOfEntry(entry({ target: 'face-search', ok: false, status: 'failed' }))),
    ).toEqual(['all']);
    expect(sinksFor(config, eventOfEntry(entry({})))).toEqual(['all']);
  });

  it('override events go by the targets they cover', () => {
    const created = overrideEvent(
      'nightshift.override.created',
      override({ targets: ['face-search', 'billing-sync'] }),
      'x',
    );
    expect(sinksFor(config, created)).toEqual(['oncall', 'team', 'all']);
  });

  it('an event about no target (the ledger) goes only to routes for every target', () => {
    const [ledger] = tickEvents({
      config,
      from: 0,
      to: MINUTE,
      now: MINUTE,
      overrides: [],
      overridesAtFrom: [],
      warnings: [],
      ledgerFailures: [{ target: '(history)', error: 'EIO' }],
    });
    expect(sinksFor(config, ledger!)).toEqual(['all']);
  });
});
