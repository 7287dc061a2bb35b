import type { Log } from './log.ts';

export interface TextLogOptions {
  write: (text: string) => void;
  /** The runtime's clock, and how to show one of its instants (`20:00:07`). */
  now: () => number;
  time: (ms: number) => string;
  /** Messages already shown on stdout as readable lines (each action): not repeated here. */
  shownElsewhere?: ReadonlySet<string>;
}

/**
 * The log of `serve` on a terminal: warnings and errors as one readable line each
 * (`20:00:07 warning: catching up (from 19:58, minutes 2)`). Information lines are left out: the
 * readable lines on stdout already say what happened. `--log-format json` (the default when
 * stderr is not a terminal) gives every line as JSON instead.
 */
export function textLog(options: TextLogOptions): Log {
  const line = (level: 'warning' | 'error') => (message: string, fields?: Record<string, unknown>) => {
    if (options.shownElsewhere?.has(message)) return;
    const details = Object.entries(fields ?? {})
      .filter(([, value]) => value !== undefined)
      .map(([key, value]) => `${key} ${typeof value === 'string' ? value : JSON.stringify(value)}`);
    options.write(
      `${options.time(options.now())} ${level}: ${message}${details.length > 0 ? ` (${details.join(', ')})` : ''}\n`,
    );
  };
  return { debug() {}, info() {}, warn: line('warning'), error: line('error') };
}
