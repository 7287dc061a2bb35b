import type { CliIo } from '../../functions/cli/io.ts';
import { main } from '../../functions/cli/main.ts';

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the CLI in-process with captured output. */
export async function runCli(argv: string[], overrides: Partial<CliIo> = {}): Promise<CliRun> {
  let stdout = '';
  let stderr = '';
  const io: CliIo = {
    stdout: { write: (t: string) => (stdout += t) },
    stderr: { write: (t: string) => (stderr += t) },
    env: {},
    cwd: process.cwd(),
    now: () => new Date('2027-03-27T00:00:00Z'),
    ...overrides,
  };
  const code = await main(argv, io);
  return { code, stdout, stderr };
}
