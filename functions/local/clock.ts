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

export function scaledClock(start: number, speed: number, realNow: () => number = Date.now): Clock {
  if (!(speed > 0)) throw new RangeError(`clock speed must be positive, got ${speed}`);
  const realStart = realNow();
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

/** `NIGHTSHIFT_CLOCK_START` (ISO) and `NIGHTSHIFT_CLOCK_SPEED` (factor) select a scaled clock. */
export function clockFromEnv(env: Record<string, string | undefined>): Clock {
  const start = env.NIGHTSHIFT_CLOCK_START;
  const speed = env.NIGHTSHIFT_CLOCK_SPEED;
  if (!start && !speed) return scaledClock(Date.now(), 1);
  const startMs = start ? Date.parse(start) : Date.now();
  if (Number.isNaN(startMs))
    throw new RangeError(`NIGHTSHIFT_CLOCK_START must be an ISO instant, got "${start}"`);
  return scaledClock(startMs, speed ? Number(speed) : 1);
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
