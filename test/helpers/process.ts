import { type ChildProcess, spawn } from 'node:child_process';

export interface Served {
  child: ChildProcess;
  url: string;
  stdout(): string;
  stderr(): string;
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<RegExpMatchArray>;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/** Spawns `nightshift serve` as a real process and waits until it prints its URL. */
export async function spawnServe(args: string[], env: Record<string, string> = {}): Promise<Served> {
  const child = spawn(process.execPath, ['bin/nightshift.mjs', 'serve', ...args], {
    cwd: process.cwd(),
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  const waiters = new Set<() => void>();
  child.stdout!.on('data', (chunk) => {
    out += chunk;
    for (const w of waiters) w();
  });
  child.stderr!.on('data', (chunk) => {
    err += chunk;
  });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const waitFor = (pattern: RegExp, timeoutMs = 15_000) =>
    new Promise<RegExpMatchArray>((resolve, reject) => {
      const check = () => {
        const match = out.match(pattern);
        if (match) {
          waiters.delete(check);
          clearTimeout(timer);
          resolve(match);
        }
      };
      const timer = setTimeout(() => {
        waiters.delete(check);
        reject(new Error(`timed out waiting for ${pattern}\nstdout:\n${out}\nstderr:\n${err.slice(-2000)}`));
      }, timeoutMs);
      waiters.add(check);
      check();
    });
  const [, url] = await waitFor(/Nightshift is serving (http:\/\/\S+)/);
  return {
    child,
    url: url!,
    stdout: () => out,
    stderr: () => err,
    waitFor,
    async stop(signal = 'SIGTERM') {
      child.kill(signal);
      return exited;
    },
  };
}

export interface Finished {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs `nightshift ARGS` as a real process (or a shell command line with `shell: true`, for
 * pipes) and collects its output. The environment is the test's, plus `env`; `unset` removes
 * variables, e.g. AWS credentials.
 */
export function runNightshift(
  args: string[],
  options: { env?: Record<string, string>; unset?: string[]; cwd?: string; shell?: string } = {},
): Promise<Finished> {
  const env: Record<string, string | undefined> = { ...process.env, ...options.env };
  for (const name of options.unset ?? []) delete env[name];
  const child =
    options.shell === undefined
      ? spawn(process.execPath, [`${process.cwd()}/bin/nightshift.mjs`, ...args], {
          cwd: options.cwd ?? process.cwd(),
          env,
          stdio: ['ignore', 'pipe', 'pipe'],
        })
      : spawn('bash', ['-c', options.shell], {
          cwd: options.cwd ?? process.cwd(),
          env,
          stdio: ['ignore', 'pipe', 'pipe'],
        });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (chunk) => {
    stdout += chunk;
  });
  child.stderr!.on('data', (chunk) => {
    stderr += chunk;
  });
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}
