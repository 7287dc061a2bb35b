import { getEventListeners } from 'node:events';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  cliClock,
  clockSettingFromEnv,
  publishClock,
  scaledClock,
  sleep,
} from '../../functions/local/clock.ts';

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

describe('the clock of the other commands (finding 2 of issue 20)', () => {
  const env = { NIGHTSHIFT_CLOCK_START: '2027-03-29T19:50:00+02:00', NIGHTSHIFT_CLOCK_SPEED: '60' };

  it('continues the clock serve published in the state folder, when the setting is the same', async () => {
    // Prepare: serve started its clock 10 real seconds ago
    const state = mkdtempSync(join(tmpdir(), 'nightshift-clock-'));
    const real = Date.parse('2026-11-30T22:00:10Z');
    await publishClock(state, clockSettingFromEnv(env), real - 10_000);
    // Act
    const followed = cliClock(env, state, () => real).now();
    const other = cliClock({ ...env, NIGHTSHIFT_CLOCK_SPEED: '10' }, state, () => real).now();
    const fresh = cliClock(env, mkdtempSync(join(tmpdir(), 'nightshift-clock-')), () => real).now();
    const realClock = cliClock({}, state, () => real).now();
    // Assess: ten real seconds at 60x are ten minutes of serve's clock
    expect(new Date(followed).toISOString()).toBe('2027-03-29T18:00:00.000Z');
    expect(new Date(other).toISOString()).toBe('2027-03-29T17:50:00.000Z');
    expect(new Date(fresh).toISOString()).toBe('2027-03-29T17:50:00.000Z');
    expect(realClock).toBe(real);
  });

  it('a serve on the real clock leaves nothing to follow', async () => {
    const state = mkdtempSync(join(tmpdir(), 'nightshift-clock-'));
    await publishClock(state, clockSettingFromEnv(env), Date.now());
    await publishClock(state, undefined, Date.now());
    const real = Date.parse('2026-11-30T22:00:00Z');
    expect(new Date(cliClock(env, state, () => real).now()).toISOString()).toBe('2027-03-29T17:50:00.000Z');
  });

  it('refuses a speed that is no positive number', () => {
    expect(() => clockSettingFromEnv({ NIGHTSHIFT_CLOCK_SPEED: 'fast' })).toThrow(
      /NIGHTSHIFT_CLOCK_SPEED must be a positive number/,
    );
  });
});
