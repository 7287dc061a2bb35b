import fc from 'fast-check';
import { type SimLedger, type SimReport, simulate } from './harness.ts';
import { MemoryLedger } from './memory-ledger.ts';
import { type SimParams, simParams } from './params.ts';

export interface RunOptions {
  /** How many seeds (fast-check runs). */
  seeds: number;
  /** The first seed: the same seed replays the same runs exactly. */
  seed?: number;
  /** A failing run's path (printed with its seed) replays just that run, shrunk. */
  path?: string;
  /** A ledger for each run; default the memory ledger. */
  ledger?: () => Promise<SimLedger> | SimLedger;
  minutes?: number;
  /** Called after each run. */
  onRun?: (report: SimReport) => void;
}

export interface RunTotals {
  seeds: number;
  targetDays: number;
  requests: number;
  calls: number;
  entries: number;
  crashes: number;
}

/**
 * Runs seeds of the simulation through fast-check: each seed draws a world (targets, schedules,
 * faults, events) and an interleaving of every await; a broken invariant fails with the seed and
 * fast-check's shrunk path, which `seed` + `path` replay exactly.
 */
export async function runSeeds(options: RunOptions): Promise<RunTotals> {
  const totals: RunTotals = { seeds: 0, targetDays: 0, requests: 0, calls: 0, entries: 0, crashes: 0 };
  const property = fc.asyncProperty(
    simParams(options.minutes === undefined ? {} : { minutes: options.minutes }),
    fc.scheduler(),
    async (params: SimParams, s) => {
      const store = options.ledger ? await options.ledger() : { ledger: new MemoryLedger() };
      const report = await simulate(params, s, store);
      totals.seeds += 1;
      totals.targetDays += (report.targets * report.minutes) / 1440;
      totals.requests += report.requests;
      totals.calls += report.calls;
      totals.entries += report.entries;
      totals.crashes += report.crashes;
      options.onRun?.(report);
    },
  );
  await fc.assert(property, {
    numRuns: options.seeds,
    ...(options.seed === undefined ? {} : { seed: options.seed }),
    ...(options.path === undefined ? {} : { path: options.path }),
    // A replayed path is reported as it is; a fresh failure is shrunk.
    endOnFailure: options.path !== undefined,
  });
  return totals;
}
