import { describe, expect, it } from 'vitest';
import { desiredOf, retryDelayMs } from '../../functions/engine/decision.ts';

const NOW = Date.parse('2027-03-29T20:05:00Z');
const MIN = 60_000;

describe('desired state from edges and overrides', () => {
  const edge = {
    at: '2027-03-29T20:00:00Z',
    schedule: 'office-hours',
    action: 'pause' as const,
    state: 'paused' as const,
  };
  const override = {
    id: 'keep-up',
    targets: ['orders-sync'],
    state: 'running' as const,
    from: '2027-03-29T19:00:00Z',
    until: '2027-03-29T23:00:00Z',
  };

  it('an active override beats the schedule, and the schedule applies again at until', () => {
    expect(desiredOf('orders-sync', edge, [override], NOW)).toMatchObject({
      state: 'running',
      override: 'keep-up',
    });
    expect(desiredOf('orders-sync', edge, [override], Date.parse('2027-03-29T23:00:00Z'))).toMatchObject({
      state: 'paused',
      because: 'office-hours',
    });
    expect(desiredOf('billing-sync', edge, [override], NOW)).toMatchObject({ state: 'paused' });
  });

  it('backs off 1, 2, 4 ... up to 30 minutes', () => {
    expect([1, 2, 3, 4, 5, 6, 7, 20].map((n) => retryDelayMs(n) / MIN)).toEqual([1, 2, 4, 8, 16, 30, 30, 30]);
  });
});
