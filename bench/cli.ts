import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { build } from 'esbuild';
import { LAMBDA_BUILD_OPTIONS } from '../functions/handlers/bundle-options.ts';
import { buildCli } from '../scripts/build-cli.ts';
import { type BenchResult, median, type ProcessSample, timeProcess } from './measure.ts';
import { syntheticDocument } from './plan.ts';

const RUNS = 11;
/** (MINUTE, MINUTE + 1 min] holds 332 rows of the synthetic config. */
const MINUTE = '2027-03-22T06:59:00Z';

const walls = (samples: ProcessSample[]) => samples.map((s) => s.wall);
const cpus = (samples: ProcessSample[]) => samples.map((s) => s.cpu);

/**
 * The CLI as people run it: `node bin/nightshift.mjs` in a fresh process, on the built CLI (built
 * here first, so the figures are of this code), and the tick handler's cold start.
 */
export async function benchCli(): Promise<BenchResult[]> {
  const built = await buildCli();
  const env = { ...process.env, NIGHTSHIFT_CLI: 'build' };
  const dir = mkdtempSync(join(tmpdir(), 'nightshift-bench-cli-'));
  try {
    const big = join(dir, 'big.json');
    writeFileSync(big, JSON.stringify(syntheticDocument(10_000)));
    const bin = 'bin/nightshift.mjs';

    const nodeAlone: ProcessSample[] = [];
    const validate: ProcessSample[] = [];
    for (let i = 0; i < RUNS; i++) {
      nodeAlone.push(timeProcess(['-e', '0'], env));
      validate.push(timeProcess([bin, 'validate'], env));
    }
    // Interleaved, so that the machine's load falls on both alike.
    const validateBig: ProcessSample[] = [];
    const planBig: ProcessSample[] = [];
    const to = new Date(Date.parse(MINUTE) + 60_000).toISOString();
    const justAfter = new Date(Date.parse(MINUTE) + 1_000).toISOString();
    for (let i = 0; i < RUNS; i++) {
      // The baseline: the same process with a window holding no minute (load, validate, compile).
      validateBig.push(
        timeProcess([bin, 'plan', '--config', big, '--from', MINUTE, '--to', justAfter, '--json'], env),
      );
      planBig.push(timeProcess([bin, 'plan', '--config', big, '--from', MINUTE, '--to', to, '--json'], env));
    }
    const tick = await tickColdStart(dir, big);
    const beyond = median(walls(planBig)) - median(walls(validateBig));
    return [
      {
        name: `cli: built CLI (${built.files} files, ${Math.round(built.bytes / 1024)} KiB) built in`,
        value: built.ms,
        unit: 'ms',
      },
      {
        name: `cli: node bin/nightshift.mjs validate, example config, whole process (median of ${RUNS})`,
        value: median(walls(validate)),
        unit: 'ms',
        budget: 250,
        detail: `CPU ${median(cpus(validate)).toFixed(0)} ms; fastest ${Math.min(...walls(validate)).toFixed(0)} ms; node -e 0 alone: ${median(walls(nodeAlone)).toFixed(0)} ms wall, ${median(cpus(nodeAlone)).toFixed(0)} ms CPU; Node ${process.version}`,
      },
      {
        name: 'cli: plan of one minute over 10,000 schedules in 10 zones, beyond loading and validating the same file',
        value: beyond,
        unit: 'ms',
        budget: 60,
        detail: `plan ${median(walls(planBig)).toFixed(0)} ms, baseline ${median(walls(validateBig)).toFixed(0)} ms wall (medians of ${RUNS}, interleaved; the baseline is plan of a window holding no minute, since validate also computes its warnings); CPU: ${(median(cpus(planBig)) - median(cpus(validateBig))).toFixed(0)} ms beyond (plan ${median(cpus(planBig)).toFixed(0)}, baseline ${median(cpus(validateBig)).toFixed(0)})`,
      },
      tick,
    ];
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Cold import of the tick handler bundle plus its first evaluation of one minute. */
async function tickColdStart(dir: string, config: string): Promise<BenchResult> {
  const outfile = join(dir, 'tick-cold.mjs');
  await build({
    entryPoints: ['bench/tick-cold-entry.ts'],
    outfile,
    ...LAMBDA_BUILD_OPTIONS,
  });
  const script = `const t = performance.now();
const { load, evaluate, edges } = await import(${JSON.stringify(pathToFileURL(outfile).href)});
const imported = performance.now() - t;
const config = load(${JSON.stringify(config)});
const loaded = performance.now();
const rows = evaluate(config, Date.parse(${JSON.stringify(MINUTE)}));
const evaluated = performance.now() - loaded;
const e0 = performance.now();
const targets = edges(config, Date.parse(${JSON.stringify(MINUTE)}) + 60_000);
const scanned = performance.now() - e0;
process.stdout.write(JSON.stringify({ imported, validated: loaded - t - imported, evaluated, total: imported + evaluated, rows, scanned, targets }));`;
  const samples = Array.from({ length: 7 }, () =>
    JSON.parse(
      execFileSync(process.execPath, ['--input-type=module', '-e', script], {
        env: { ...process.env, AWS_REGION: 'eu-central-1' },
      }).toString(),
    ),
  );
  const byTotal = [...samples].sort((a, b) => a.total - b.total);
  const mid = byTotal[Math.floor(byTotal.length / 2)]!;
  return {
    name: 'tick: cold import of the tick handler plus first evaluation over 10,000 schedules (median of 7)',
    value: mid.total,
    unit: 'ms',
    budget: 250,
    detail: `import ${mid.imported.toFixed(0)} ms + first one-minute evaluation (${mid.rows} rows, compile included) ${mid.evaluated.toFixed(0)} ms; not counted: reading and validating the config between them ${mid.validated.toFixed(0)} ms, then the desired-state look-back of a first tick (latestEdges, ${mid.targets} targets) ${mid.scanned.toFixed(0)} ms`,
  };
}
