import { getEventListeners } from 'node:events';
import { describe, expect, it } from 'vitest';
import { scaledClock, sleep } from '../../functions/local/clock.ts';

describe('the serve clock', () => {
  it('sleepUntil leaves no abort listener behind, however many minutes pass', async () => {
    // Prepare: a fast clock and the one stop signal serve uses for its whole life
    const clock = scaledClock(Date.parse('2027-03-29T06:00:00Z'), 60_000);
    const stopping = new AbortController();
    // Act: more sleeps than the default max listeners (10)
    for (let i = 0; i < 25; i++) await clock.sleepUntil(clock.now() + 60_000, stopping.signal);
    // Assess
    expect(getEventListeners(stopping.signal, 'abort')).toHaveLength(0);
  });

  it('sleepUntil and sleep still end at once when the signal aborts', async () => {
    const clock = scaledClock(Date.now(), 1);
    const stopping = new AbortController();
    const started = Date.now();
    const both = Promise.all([
      clock.sleepUntil(Date.now() + 60_000, stopping.signal),
      sleep(60_000, stopping.signal),
    ]);
    stopping.abort();
    await both;
    expect(Date.now() - started).toBeLessThan(1_000);
    expect(getEventListeners(stopping.signal, 'abort')).toHaveLength(0);
  });
});
