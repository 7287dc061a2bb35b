/** What a command needs from its process; tests pass their own. */
export interface CliIo {
  stdout: { write(text: string): unknown; isTTY?: boolean };
  stderr: { write(text: string): unknown; isTTY?: boolean };
  env: Record<string, string | undefined>;
  cwd: string;
  now: () => Date;
  /**
   * The clock of a command that works with the state folder `stateDir`: NIGHTSHIFT_CLOCK_* and
   * the clock `serve` published there. Absent (tests): `now` as given.
   */
  clockFor?: (stateDir: string) => () => Date;
}

/** Bad usage: exit code 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

export const EXIT_OK = 0;
export const EXIT_FAILED = 1;
export const EXIT_USAGE = 2;
