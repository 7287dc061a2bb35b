import { spawnSync } from 'node:child_process';
import { performance } from 'node:perf_hooks';

export interface BenchResult {
  name: string;
  value: number;
  unit: string;
  /** The figure must stay at or under this. */
  budget?: number;
  detail?: string;
}

export interface Timing {
  median: number;
  p99: number;
  min: number;
}

export function timeIt(fn: () => void, runs: number): Timing {
  const samples: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    fn();
    samples.push(performance.now() - t0);
  }
  return summarize(samples);
}

export async function timeItAsync(fn: () => Promise<void>, runs: number): Promise<Timing> {
  const samples: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    await fn();
    samples.push(performance.now() - t0);
  }
  return summarize(samples);
}

export const median = (xs: readonly number[]): number =>
  [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

function summarize(samples: number[]): Timing {
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
  return { median: at(0.5), p99: at(0.99), min: sorted[0]! };
}

export function report(results: BenchResult[]): boolean {
  let ok = true;
  for (const r of results) {
    const within = r.budget === undefined || r.value <= r.budget;
    ok &&= within;
    const budget =
      r.budget === undefined ? '' : `  (budget ${r.budget} ${r.unit}: ${within ? 'ok' : 'OVER'})`;
    const value = r.unit === 'ms' || r.unit === 's' ? r.value.toFixed(r.value < 10 ? 2 : 0) : String(r.value);
    console.log(`${r.name}: ${value} ${r.unit}${budget}${r.detail ? `\n    ${r.detail}` : ''}`);
  }
  return ok;
}

/** Reports the process's CPU time (user + system) on stderr as it exits. */
const CPU_HOOK = `data:text/javascript,process.on('exit',()=>{const u=process.cpuUsage();process.stderr.write('\\nbench-cpu-ms '+(u.user+u.system)/1000+'\\n')})`;

export interface ProcessSample {
  wall: number;
  cpu: number;
  stdout: string;
}

/**
 * Wall time of a whole Node.js process, in ms, and its CPU time: on a shared machine the wall
 * time includes waiting for a core, the CPU time much less so.
 */
export function timeProcess(args: string[], env: NodeJS.ProcessEnv = process.env): ProcessSample {
  const t0 = performance.now();
  const run = spawnSync(process.execPath, ['--import', CPU_HOOK, ...args], {
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
    maxBuffer: 64 * 1024 * 1024,
  });
  const wall = performance.now() - t0;
  if (run.status !== 0) throw new Error(`${args.join(' ')} exited ${run.status}: ${run.stderr}`);
  const cpu = Number(/bench-cpu-ms (\S+)/.exec(String(run.stderr))?.[1]);
  return { wall, cpu, stdout: String(run.stdout) };
}
