import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * The time `serve` runs on. Real by default; a scaled clock (a start instant and a speed) lets a
 * test or a demo watch minutes pass in seconds, in a real process.
 */
export interface Clock {
  now(): number;
  /** Clock milliseconds per real millisecond (1 for the real clock). */
  readonly speed: number;
  /** Resolves when the clock reaches `at`, or at once when `signal` aborts. */
  sleepUntil(at: number, signal: AbortSignal): Promise<void>;
}

/**
 * A clock that reads `start` at the real instant `realStart` (default: now) and runs `speed` times
 * as fast as real time from there.
 */
export function scaledClock(
  start: number,
  speed: number,
  realNow: () => number = Date.now,
  realStart: number = realNow(),
): Clock {
  if (!(speed > 0)) throw new RangeError(`clock speed must be positive, got ${speed}`);
  const now = () => start + (realNow() - realStart) * speed;
  return {
    now,
    speed,
    sleepUntil(at, signal) {
      return new Promise<void>((resolve) => {
        if (signal.aborted) return resolve();
        let timer: NodeJS.Timeout | undefined;
        // The listener goes when the sleep ends: serve sleeps every minute on one signal for its
        // whole life, and a listener left per minute ends in MaxListenersExceededWarning.
        const done = () => {
          clearTimeout(timer);
          signal.removeEventListener('abort', done);
          resolve();
        };
        const wait = () => {
          const remaining = (at - now()) / speed;
          if (remaining <= 0 || signal.aborted) return done();
          timer = setTimeout(wait, Math.min(remaining + 1, 2_147_483_000));
        };
        signal.addEventListener('abort', done, { once: true });
        wait();
      });
    },
  };
}

/** What `NIGHTSHIFT_CLOCK_START` and `NIGHTSHIFT_CLOCK_SPEED` ask for; undefined: the real clock. */
export interface ClockSetting {
  start: number;
  speed: number;
}

export function clockSettingFromEnv(
  env: Record<string, string | undefined>,
  realNow: () => number = Date.now,
): ClockSetting | undefined {
  const start = env.NIGHTSHIFT_CLOCK_START;
  const speed = env.NIGHTSHIFT_CLOCK_SPEED;
  if (!start && !speed) return undefined;
  const startMs = start ? Date.parse(start) : realNow();
  if (Number.isNaN(startMs))
    throw new RangeError(`NIGHTSHIFT_CLOCK_START must be an ISO instant, got "${start}"`);
  const factor = speed ? Number(speed) : 1;
  if (!(factor > 0) || !Number.isFinite(factor))
    throw new RangeError(`NIGHTSHIFT_CLOCK_SPEED must be a positive number, got "${speed}"`);
  return { start: startMs, speed: factor };
}

/** `NIGHTSHIFT_CLOCK_START` (ISO) and `NIGHTSHIFT_CLOCK_SPEED` (factor) select a scaled clock. */
export function clockFromEnv(env: Record<string, string | undefined>): Clock {
  const setting = clockSettingFromEnv(env);
  return setting ? scaledClock(setting.start, setting.speed) : scaledClock(Date.now(), 1);
}

/**
 * Where `serve` publishes its scaled clock: `DIR/clock.json`, `{"start", "speed", "startedAt"}`
 * (`startedAt` is the real instant at which the clock read `start`). Every other command run with
 * the same NIGHTSHIFT_CLOCK_START and _SPEED continues that clock instead of starting its own, so
 * the minute a signature, an override or a plan is made in is the minute `serve` is in.
 */
export const CLOCK_FILE = 'clock.json';

interface PublishedClock {
  start: string;
  speed: number;
  startedAt: string;
}

export async function publishClock(stateDir: string, setting: ClockSetting | undefined, realStart: number) {
  const path = join(stateDir, CLOCK_FILE);
  if (!setting) {
    // A real-clock serve leaves nothing for others to follow.
    await rm(path, { force: true });
    return;
  }
  await mkdir(stateDir, { recursive: true });
  const value: PublishedClock = {
    start: new Date(setting.start).toISOString(),
    speed: setting.speed,
    startedAt: new Date(realStart).toISOString(),
  };
  const tmp = `${path}.${process.pid}.${randomUUID()}.tmp`;
  await writeFile(tmp, `${JSON.stringify(value)}\n`);
  await rename(tmp, path);
}

/**
 * The clock a CLI command runs on: the real one without NIGHTSHIFT_CLOCK_*; with them, the clock
 * `serve` published in the state folder when it was started with the same setting, else a new one
 * that reads NIGHTSHIFT_CLOCK_START now (as `serve` would).
 */
export function cliClock(
  env: Record<string, string | undefined>,
  stateDir: string,
  realNow: () => number = Date.now,
): Clock {
  const setting = clockSettingFromEnv(env, realNow);
  if (!setting) return scaledClock(realNow(), 1, realNow);
  const published = readPublishedClock(stateDir);
  if (
    published &&
    Date.parse(published.start) === setting.start &&
    published.speed === setting.speed &&
    !Number.isNaN(Date.parse(published.startedAt))
  )
    return scaledClock(setting.start, setting.speed, realNow, Date.parse(published.startedAt));
  return scaledClock(setting.start, setting.speed, realNow);
}

function readPublishedClock(stateDir: string): PublishedClock | undefined {
  try {
    const value = JSON.parse(readFileSync(join(stateDir, CLOCK_FILE), 'utf8')) as Partial<PublishedClock>;
    if (
      typeof value.start === 'string' &&
      typeof value.speed === 'number' &&
      typeof value.startedAt === 'string'
    )
      return value as PublishedClock;
  } catch {
    // No clock published (or a damaged file): start a clock of our own.
  }
  return undefined;
}

/** Waits `ms` of real time, or until `signal` aborts; leaves no listener behind either way. */
export function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise<void>((resolve) => {
    if (signal.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}
