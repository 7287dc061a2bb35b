import { describe, expect, it } from 'vitest';
import { due } from '../../../functions/engine/planner.ts';
import { configWith, cronConfig } from '../../helpers/config.ts';

const times = (rows: { at: string }[]) => rows.map((r) => r.at);

/**
 * Each case: a rule in a zone, a UTC span around one transition, and the instants it must fire.
 * Gap: a local time that does not exist fires once at the first instant after the gap.
 * Overlap: a local time that occurs twice fires once, at its first occurrence.
 */
const cases: { zone: string; what: string; cron: string; from: string; to: string; expected: string[] }[] = [
  // Europe/Berlin: 2027-03-28 02:00 CET -> 03:00 CEST; 2027-10-31 03:00 CEST -> 02:00 CET.
  {
    zone: 'Europe/Berlin',
    what: 'gap, daily 02:30',
    cron: '30 2 * * *',
    from: '2027-03-26T12:00:00Z',
    to: '2027-03-29T12:00:00Z',
    expected: ['2027-03-27T01:30:00Z', '2027-03-28T01:00:00Z', '2027-03-29T00:30:00Z'],
  },
  {
    zone: 'Europe/Berlin',
    what: 'gap, weekly Sunday 02:00',
    cron: '0 2 * * SUN',
    from: '2027-03-20T00:00:00Z',
    to: '2027-04-05T00:00:00Z',
    expected: ['2027-03-21T01:00:00Z', '2027-03-28T01:00:00Z', '2027-04-04T00:00:00Z'],
  },
  {
    zone: 'Europe/Berlin',
    what: 'just after the gap still fires normally',
    cron: '0 3 * * *',
    from: '2027-03-27T12:00:00Z',
    to: '2027-03-28T12:00:00Z',
    expected: ['2027-03-28T01:00:00Z'],
  },
  {
    zone: 'Europe/Berlin',
    what: 'overlap, daily 02:30',
    cron: '30 2 * * *',
    from: '2027-10-30T12:00:00Z',
    to: '2027-11-01T12:00:00Z',
    expected: ['2027-10-31T00:30:00Z', '2027-11-01T01:30:00Z'],
  },
  {
    zone: 'Europe/Berlin',
    what: 'overlap, weekly Sunday every 15 min of the repeated hour',
    cron: '*/15 2 * * 0',
    from: '2027-10-30T12:00:00Z',
    to: '2027-10-31T12:00:00Z',
    expected: [
      '2027-10-31T00:00:00Z',
      '2027-10-31T00:15:00Z',
      '2027-10-31T00:30:00Z',
      '2027-10-31T00:45:00Z',
    ],
  },
  // America/New_York: 2027-03-14 02:00 EST -> 03:00 EDT; 2027-11-07 02:00 EDT -> 01:00 EST.
  {
    zone: 'America/New_York',
    what: 'gap, daily 02:30',
    cron: '30 2 * * *',
    from: '2027-03-13T12:00:00Z',
    to: '2027-03-15T12:00:00Z',
    expected: ['2027-03-14T07:00:00Z', '2027-03-15T06:30:00Z'],
  },
  {
    zone: 'America/New_York',
    what: 'overlap, daily 01:30',
    cron: '30 1 * * *',
    from: '2027-11-06T12:00:00Z',
    to: '2027-11-08T12:00:00Z',
    expected: ['2027-11-07T05:30:00Z', '2027-11-08T06:30:00Z'],
  },
  {
    zone: 'America/New_York',
    what: 'gap, weekly Sunday every 20 minutes of 2 am, once',
    cron: '*/20 2 * * SUN',
    from: '2027-03-13T12:00:00Z',
    to: '2027-03-14T12:00:00Z',
    expected: ['2027-03-14T07:00:00Z'],
  },
  // America/Los_Angeles: same dates, UTC-8/-7.
  {
    zone: 'America/Los_Angeles',
    what: 'gap, daily 02:00',
    cron: '0 2 * * *',
    from: '2027-03-13T12:00:00Z',
    to: '2027-03-15T12:00:00Z',
    expected: ['2027-03-14T10:00:00Z', '2027-03-15T09:00:00Z'],
  },
  {
    zone: 'America/Los_Angeles',
    what: 'overlap, weekly Sunday 01:59',
    cron: '59 1 * * 7',
    from: '2027-11-06T12:00:00Z',
    to: '2027-11-08T12:00:00Z',
    expected: ['2027-11-07T08:59:00Z'],
  },
  // Australia/Lord_Howe: half-hour shift. 2027-10-03 02:00 (+10:30) -> 02:30 (+11); 2027-04-04 02:00 (+11) -> 01:30 (+10:30).
  {
    zone: 'Australia/Lord_Howe',
    what: 'half-hour gap, daily 02:15',
    cron: '15 2 * * *',
    from: '2027-10-01T12:00:00Z',
    to: '2027-10-03T12:00:00Z',
    expected: ['2027-10-01T15:45:00Z', '2027-10-02T15:30:00Z'],
  },
  {
    zone: 'Australia/Lord_Howe',
    what: 'half-hour overlap, daily 01:45',
    cron: '45 1 * * *',
    from: '2027-04-02T12:00:00Z',
    to: '2027-04-05T00:00:00Z',
    expected: ['2027-04-02T14:45:00Z', '2027-04-03T14:45:00Z', '2027-04-04T15:15:00Z'],
  },
  {
    zone: 'Australia/Lord_Howe',
    what: 'half-hour overlap, weekly Sunday 01:30',
    cron: '30 1 * * SUN',
    from: '2027-04-02T12:00:00Z',
    to: '2027-04-12T00:00:00Z',
    expected: ['2027-04-03T14:30:00Z', '2027-04-10T15:00:00Z'],
  },
  // Asia/Shanghai: no DST; the other zones' transition days change nothing.
  {
    zone: 'Asia/Shanghai',
    what: 'no gap on Berlin spring day',
    cron: '30 2 * * *',
    from: '2027-03-27T00:00:00Z',
    to: '2027-03-29T00:00:00Z',
    expected: ['2027-03-27T18:30:00Z', '2027-03-28T18:30:00Z'],
  },
  {
    zone: 'Asia/Shanghai',
    what: 'no overlap on New York fall day, weekly',
    cron: '30 1 * * SUN',
    from: '2027-11-01T00:00:00Z',
    to: '2027-11-15T00:00:00Z',
    expected: ['2027-11-06T17:30:00Z', '2027-11-13T17:30:00Z'],
  },
  // Europe/London: 2027-03-28 01:00 GMT -> 02:00 BST; 2027-10-31 02:00 BST -> 01:00 GMT.
  {
    zone: 'Europe/London',
    what: 'gap, daily 01:30',
    cron: '30 1 * * *',
    from: '2027-03-27T12:00:00Z',
    to: '2027-03-29T12:00:00Z',
    expected: ['2027-03-28T01:00:00Z', '2027-03-29T00:30:00Z'],
  },
  {
    zone: 'Europe/London',
    what: 'overlap, weekly Sunday 01:30',
    cron: '30 1 * * SUN',
    from: '2027-10-30T12:00:00Z',
    to: '2027-11-08T00:00:00Z',
    expected: ['2027-10-31T00:30:00Z', '2027-11-07T01:30:00Z'],
  },
];

describe('DST rules', () => {
  it.each(cases)('$zone: $what', ({ zone, cron, from, to, expected }) => {
    // Prepare
    const config = cronConfig(cron, zone);
    // Act
    const rows = due(config, new Date(from), new Date(to));
    // Assess
    expect(times(rows)).toEqual(expected);
  });

  it('fires a gap occurrence once even when evaluated minute by minute', () => {
    // Prepare
    const config = cronConfig('*/10 2 * * *', 'Europe/Berlin');
    const start = Date.parse('2027-03-28T00:00:00Z');
    // Act
    const fired: string[] = [];
    for (let m = 0; m < 180; m++)
      fired.push(...times(due(config, start + m * 60_000, start + (m + 1) * 60_000)));
    // Assess
    expect(fired).toEqual(['2027-03-28T01:00:00Z']);
  });

  it('fires an overlap occurrence once even when evaluated minute by minute', () => {
    // Prepare
    const config = cronConfig('30 2 * * *', 'Europe/Berlin');
    const start = Date.parse('2027-10-30T23:00:00Z');
    // Act
    const fired: string[] = [];
    for (let m = 0; m < 240; m++)
      fired.push(...times(due(config, start + m * 60_000, start + (m + 1) * 60_000)));
    // Assess
    expect(fired).toEqual(['2027-10-31T00:30:00Z']);
  });
});

describe('windows across DST transitions', () => {
  const windowCases = [
    {
      zone: 'Europe/Berlin',
      window: 'Sun 02:30-03:30',
      from: '2027-03-27T12:00:00Z',
      to: '2027-03-28T12:00:00Z',
      expected: [
        ['2027-03-28T01:00:00Z', 'start'],
        ['2027-03-28T01:30:00Z', 'stop'],
      ],
    },
    {
      zone: 'Europe/Berlin',
      window: 'Sun 02:15-02:45',
      from: '2027-10-30T12:00:00Z',
      to: '2027-10-31T12:00:00Z',
      expected: [
        ['2027-10-31T00:15:00Z', 'start'],
        ['2027-10-31T00:45:00Z', 'stop'],
      ],
    },
    {
      zone: 'America/New_York',
      window: 'Sat 22:00-02:30',
      from: '2027-03-13T12:00:00Z',
      to: '2027-03-14T12:00:00Z',
      expected: [
        ['2027-03-14T03:00:00Z', 'start'],
        ['2027-03-14T07:00:00Z', 'stop'],
      ],
    },
    {
      zone: 'America/Los_Angeles',
      window: 'Sat 23:00-01:30',
      from: '2027-11-06T12:00:00Z',
      to: '2027-11-07T12:00:00Z',
      expected: [
        ['2027-11-07T06:00:00Z', 'start'],
        ['2027-11-07T08:30:00Z', 'stop'],
      ],
    },
    {
      zone: 'Australia/Lord_Howe',
      window: 'Sun 02:10-02:40',
      from: '2027-10-02T00:00:00Z',
      to: '2027-10-03T00:00:00Z',
      expected: [
        ['2027-10-02T15:30:00Z', 'start'],
        ['2027-10-02T15:40:00Z', 'stop'],
      ],
    },
    {
      zone: 'Europe/London',
      window: 'Sat-Sun 01:15-01:45',
      from: '2027-10-30T00:00:00Z',
      to: '2027-11-01T00:00:00Z',
      expected: [
        ['2027-10-30T00:15:00Z', 'start'],
        ['2027-10-30T00:45:00Z', 'stop'],
        ['2027-10-31T00:15:00Z', 'start'],
        ['2027-10-31T00:45:00Z', 'stop'],
      ],
    },
    {
      zone: 'Asia/Shanghai',
      window: 'Sun 02:00-03:00',
      from: '2027-03-27T00:00:00Z',
      to: '2027-03-28T00:00:00Z',
      expected: [
        ['2027-03-27T18:00:00Z', 'start'],
        ['2027-03-27T19:00:00Z', 'stop'],
      ],
    },
  ];
  it.each(windowCases)('$zone: $window', ({ zone, window, from, to, expected }) => {
    // Prepare
    const config = configWith([{ id: 'w', targets: ['face-search'], timezone: zone, window }]);
    // Act
    const rows = due(config, new Date(from), new Date(to));
    // Assess
    expect(rows.map((r) => [r.at, r.action])).toEqual(expected);
  });
});
