import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { build } from 'esbuild';
import { parseConfig } from '../functions/engine/config/validate.ts';
import { makeOverride } from '../functions/engine/overrides.ts';
import { LAMBDA_BUILD_OPTIONS } from '../functions/handlers/bundle-options.ts';
import { hashOf, newSessionId } from '../functions/page/sign-in.ts';
import { FileLedger } from '../functions/stores/local-ledger.ts';
import type { BenchResult } from './measure.ts';
import {
  PAGE_BENCH_NOW,
  PAGE_BENCH_TARGETS,
  pageBenchDocument,
  pageBenchHistory,
  pageBenchRecords,
} from './page-fixture.ts';

const RUNS = 5;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/**
 * The page with 200 targets: the first `GET /` a fresh process answers (as `serve` or a new api
 * Lambda container meets it), and the next ones. The ledger is a local state folder holding a
 * record per target, 2,000 history entries and a few overrides; status comes from the ledger
 * (the page's default: no upstream read per view).
 */
export async function benchPage(): Promise<BenchResult[]> {
  const cache = join(process.cwd(), 'node_modules', '.cache');
  mkdirSync(cache, { recursive: true });
  const dir = mkdtempSync(join(cache, 'nightshift-bench-page-'));
  try {
    const config = parseConfig(pageBenchDocument());
    const names = Object.keys(config.targets);
    const ledger = new FileLedger(join(dir, 'state'), () => PAGE_BENCH_NOW);
    for (const record of pageBenchRecords(names)) await ledger.putTarget(record);
    await ledger.record(pageBenchHistory(names));
    for (let i = 0; i < 5; i++)
      await ledger.putOverride(
        makeOverride(
          config,
          {
            targets: [names[i * 7]!],
            state: 'hands-off',
            until: new Date(PAGE_BENCH_NOW + (i + 2) * 3600_000).toISOString(),
            reason: `bench override ${i}`,
          },
          PAGE_BENCH_NOW,
        ),
      );
    const cookie = newSessionId();
    await ledger.putSession({
      idHash: hashOf(cookie),
      scope: 'write',
      name: 'bench',
      createdAt: new Date(PAGE_BENCH_NOW).toISOString(),
      expiresAt: new Date(PAGE_BENCH_NOW + 3600_000).toISOString(),
    });
    const outfile = join(dir, 'page-entry.mjs');
    await build({ entryPoints: ['bench/page-entry.ts'], outfile, ...LAMBDA_BUILD_OPTIONS, sourcemap: false });
    type Run = { first: number; firstCpu: number; warm: number[]; warmCpu: number[]; bytes: number };
    const run = (mode: 'cold' | 'ticked'): Run =>
      JSON.parse(execFileSync(process.execPath, [outfile, join(dir, 'state'), cookie, mode]).toString());
    // Interleaved, so that the machine's load falls on both alike.
    const ticked: Run[] = [];
    const cold: Run[] = [];
    for (let i = 0; i < RUNS; i++) {
      ticked.push(run('ticked'));
      cold.push(run('cold'));
    }
    const firsts = ticked.map((r) => r.first);
    const warm = ticked.flatMap((r) => r.warm);
    return [
      {
        name: `page: first GET / of a running serve (page prepared at start, first tick run), ${PAGE_BENCH_TARGETS} targets (median of ${RUNS} processes)`,
        value: median(firsts),
        unit: 'ms',
        budget: 300,
        detail: `CPU ${median(ticked.map((r) => r.firstCpu)).toFixed(0)} ms; min ${Math.min(...firsts).toFixed(0)} ms, max ${Math.max(...firsts).toFixed(0)} ms; ${Math.round(ticked[0]!.bytes / 1024)} KiB of HTML`,
      },
      {
        name: `page: later GET / (median of ${warm.length})`,
        value: median(warm),
        unit: 'ms',
        budget: 150,
        detail: `CPU ${median(ticked.flatMap((r) => r.warmCpu)).toFixed(0)} ms`,
      },
      {
        name: `page: first GET / of a process that computed nothing before (a new api Lambda container; median of ${RUNS})`,
        value: median(cold.map((r) => r.first)),
        unit: 'ms',
        budget: 1000,
        detail: `CPU ${median(cold.map((r) => r.firstCpu)).toFixed(0)} ms: the 35-day look-back of every target's desired state, sampled zone offsets included`,
      },
    ];
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
