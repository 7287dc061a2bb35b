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
