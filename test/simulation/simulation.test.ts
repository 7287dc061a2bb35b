import { afterEach, describe, expect, it } from 'vitest';
import { testDefects } from '../../functions/engine/transition.ts';
import { ledgerFactory } from '../../simulation/ledgers.ts';
import { type RunTotals, runSeeds } from '../../simulation/run.ts';

// The seeded simulation of the contract's guarantees (see simulation/harness.ts): two engines on
// one ledger, a simulated Huawei Cloud with faults, crashes at any await, overrides, changes
// behind the engine's back, config reloads and on-demand actions; the six invariants checked
// after every step. A failure prints the seed and path; `npm run simulate -- --seed S --path P
// --trace all` replays it.

/** Fixed, so CI runs the same worlds every time; `npm run simulate` draws fresh ones. */
const SEED = 20261130;

const report = (label: string, totals: RunTotals, ms: number) =>
  console.log(
    `${label}: ${totals.seeds} seeds in ${(ms / 1000).toFixed(1)} s, ${totals.targetDays.toFixed(1)} target-days, ` +
      `${totals.calls} calls, ${totals.entries} history entries, ${totals.crashes} crashes`,
  );

describe('the simulation', () => {
  afterEach(() => {
    testDefects.repeatBlindCalls = false;
  });

  it('holds every invariant over 300 seeds on the memory ledger', { timeout: 180_000 }, async () => {
    const t0 = Date.now();
    const totals = await runSeeds({ seeds: 300, seed: SEED });
    report('memory ledger', totals, Date.now() - t0);
    expect(totals.seeds).toBe(300);
    // The worlds did something: calls made, crashes survived.
    expect(totals.calls).toBeGreaterThan(1_000);
    expect(totals.crashes).toBeGreaterThan(20);
  });

  it('holds on the file ledger (a state folder, two instances on it)', { timeout: 120_000 }, async () => {
    const factory = await ledgerFactory('file');
    const t0 = Date.now();
    const totals = await runSeeds({ seeds: 10, seed: SEED + 1, ledger: factory.open });
    report('file ledger', totals, Date.now() - t0);
    expect(totals.seeds).toBe(10);
  });

  it('holds on a ledger keeping marks of sending (in memory, as the file ledger keeps them)', {
    timeout: 120_000,
  }, async () => {
    // The file ledger's real I/O makes few seeds affordable and no replay exact; this one checks
    // its "no mark, so never sent" path on many.
    const factory = await ledgerFactory('marks');
    const t0 = Date.now();
    const totals = await runSeeds({ seeds: 100, seed: SEED + 3, ledger: factory.open });
    report('marks ledger', totals, Date.now() - t0);
    expect(totals.seeds).toBe(100);
    expect(totals.crashes).toBeGreaterThan(5);
  });

  it('holds on DynamoDB (dynalite)', { timeout: 120_000 }, async () => {
    const factory = await ledgerFactory('dynamodb');
    try {
      const t0 = Date.now();
      const totals = await runSeeds({ seeds: 3, seed: SEED + 2, ledger: factory.open });
      report('DynamoDB ledger', totals, Date.now() - t0);
      expect(totals.seeds).toBe(3);
    } finally {
      await factory.close();
    }
  });

  it('replays the runs that once failed (each found a defect, now fixed)', { timeout: 60_000 }, async () => {
    // seed/path pairs printed by failing runs while the engine was built; see the closing
    // note of issue 17 for what each found.
    const once = [
      { seed: 42, path: '30' }, // a rival's in-flight call withdrawn (stable call ids)
      { seed: 2, path: '3' }, // a call admitted, then sent after the deadline (slow write)
      { seed: 2, path: '36' }, // a call kept in flight while every read ran out of time
      { seed: 2, path: '45' }, // a read sent after a hands-off began; in flight through hands-off
      { seed: 2, path: '15' }, // two resolutions of one call, the record not the history's
      { seed: 2, path: '128' }, // a failed drift-check read made a blind call
      { seed: 2, path: '155' }, // a failed take-back (harness allowance)
      { seed: 20261201, path: '322' }, // two overrides with one id (harness)
      { seed: 20261202, path: '3106' }, // two on-demand requests with one id (harness)
      { seed: 20261204, path: '2780' }, // a DRS end sent 18 min late by a pass that started behind
      { seed: 20261130, path: '232' }, // a hands-off resolved a call as unknown though its entry was recorded
      { seed: 20261301, path: '468' }, // an entry for a call taken back, from a record read before the take-back
      { seed: 20261402, path: '810' }, // two overrides starting at one instant: the older won (ids sorted)
      { seed: 20261401, path: '2547' }, // an owed DRS end sent though an override, acknowledged later, covered its minute
      { seed: 20261601, path: '2852' }, // a call never sent, its take-back failed, resolved by status (harness: no marks)
    ];
    for (const run of once) await runSeeds({ seeds: 1, ...run });
    // On the ledger keeping marks: the harness made the synchronous mark a promise, so a crash
    // could fall between a call's sending and its mark (harness).
    const marks = await ledgerFactory('marks');
    for (const run of [
      { seed: 20261801, path: '381' },
      { seed: 20261802, path: '597' },
    ])
      await runSeeds({ seeds: 1, ...run, ledger: marks.open });
  });

  it('catches a deliberately broken transition within 300 seeds (calls repeated blind)', {
    timeout: 180_000,
  }, async () => {
    // The defect of finding 5: with the status unreadable, a later look calls again though a
    // call for this desired state was answered ok (a second load-test run).
    testDefects.repeatBlindCalls = true;
    let runs = 0;
    // The seeds the run above checks the engine with: they catch the defect (how soon depends on
    // the seed; from other first seeds, 300 runs caught it in 3 of 5 tries, see issue 17's note).
    const failure = await runSeeds({
      seeds: 300,
      seed: SEED,
      onRun: () => {
        runs += 1;
      },
    }).then(
      () => undefined,
      (error: Error) => error,
    );
    expect(failure, 'the broken transition went unnoticed for 300 seeds').toBeDefined();
    expect(String(failure!.cause)).toMatch(/invariant 4: second call/);
    console.log(`the defect was caught after ${runs + 1} seeds: ${String(failure!.cause).slice(0, 160)}`);
  });
});
