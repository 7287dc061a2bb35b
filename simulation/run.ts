import fc from 'fast-check';
import { SIM_START, type SimHooks, type SimLedger, type SimReport, simulate } from './harness.ts';
import { MemoryLedger } from './memory-ledger.ts';
import { type SimParams, simParams } from './params.ts';
import type { World } from './world.ts';

export interface RunOptions {
  /** How many seeds (fast-check runs). */
  seeds: number;
  /** The first seed: the same seed replays the same runs exactly. */
  seed?: number;
  /** A failing run's path (printed with its seed) replays just that run, shrunk. */
  path?: string;
  /** A ledger for each run, on the run's virtual clock; default the memory ledger. */
  ledger?: (now: () => number) => Promise<SimLedger> | SimLedger;
  /** Watches each run (a trace of a replayed run). */
  hooks?: SimHooks;
  minutes?: number;
  /** Called after each run. */
  onRun?: (report: SimReport) => void;
  /** Shrink a failure to a smaller world (slow: hundreds of runs); default: report it as found. */
  shrink?: boolean;
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
      let world: World | undefined;
      const now = () => world?.clock ?? SIM_START;
      const store: SimLedger = options.ledger ? await options.ledger(now) : { ledger: new MemoryLedger() };
      const report = await simulate(params, s, store, {
        ...options.hooks,
        onWorld: (w) => {
          world = w;
          options.hooks?.onWorld?.(w);
        },
      }).finally(() => store.close?.());
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
    endOnFailure: options.shrink !== true,
  });
  return totals;
}
