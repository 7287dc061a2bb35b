import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { build } from 'esbuild';
import {
  BUNDLE_TARGET,
  ESM_REQUIRE_BANNER,
  EXTERNAL_MODULES,
  MAIN_FIELDS,
} from '../functions/handlers/bundle-options.ts';
import { buildCli } from '../scripts/build-cli.ts';
import type { BenchResult } from './measure.ts';
import { syntheticDocument } from './plan.ts';

const RUNS = 11;
/** (MINUTE, MINUTE + 1 min] holds 332 rows of the synthetic config. */
const MINUTE = '2027-03-22T06:59:00Z';

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/** Wall time of a whole process, in ms. */
function wall(args: string[], env: NodeJS.ProcessEnv = process.env): number {
  const t0 = performance.now();
  const run = spawnSync(process.execPath, args, { env, stdio: ['ignore', 'ignore', 'pipe'] });
  const ms = performance.now() - t0;
  if (run.status !== 0) throw new Error(`${args.join(' ')} exited ${run.status}: ${run.stderr}`);
  return ms;
}

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

    const nodeAlone: number[] = [];
    const validate: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      nodeAlone.push(wall(['-e', '0'], env));
      validate.push(wall([bin, 'validate'], env));
    }
    // Interleaved, so that the machine's load falls on both alike.
    const validateBig: number[] = [];
    const planBig: number[] = [];
    const to = new Date(Date.parse(MINUTE) + 60_000).toISOString();
    for (let i = 0; i < RUNS; i++) {
      validateBig.push(wall([bin, 'validate', '--config', big], env));
      planBig.push(wall([bin, 'plan', '--config', big, '--from', MINUTE, '--to', to, '--json'], env));
    }
    const tick = await tickColdStart(dir, big);
    return [
      {
        name: `cli: built CLI (${built.files} files, ${Math.round(built.bytes / 1024)} KiB) built in`,
        value: built.ms,
        unit: 'ms',
      },
      {
        name: `cli: node bin/nightshift.mjs validate, example config, whole process (median of ${RUNS})`,
        value: median(validate),
        unit: 'ms',
        budget: 250,
        detail: `node -e 0 alone: ${median(nodeAlone).toFixed(0)} ms; min ${Math.min(...validate).toFixed(0)} ms; Node ${process.version}`,
      },
      {
        name: 'cli: plan of one minute over 10,000 schedules in 10 zones, beyond validate of the same file',
        value: median(planBig) - median(validateBig),
        unit: 'ms',
        budget: 60,
        detail: `plan ${median(planBig).toFixed(0)} ms, validate ${median(validateBig).toFixed(0)} ms (medians of ${RUNS}, interleaved)`,
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
    bundle: true,
    minify: true,
    treeShaking: true,
    format: 'esm',
    platform: 'node',
    target: BUNDLE_TARGET,
    banner: { js: ESM_REQUIRE_BANNER },
    external: EXTERNAL_MODULES,
    mainFields: MAIN_FIELDS,
    logLevel: 'error',
  });
  const script = `const t = performance.now();
const { evaluate } = await import(${JSON.stringify(pathToFileURL(outfile).href)});
const imported = performance.now() - t;
const { rows } = evaluate(${JSON.stringify(config)}, Date.parse(${JSON.stringify(MINUTE)}));
process.stdout.write(JSON.stringify({ imported, total: performance.now() - t, rows }));`;
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
    detail: `import ${mid.imported.toFixed(0)} ms, then parse + validate + first one-minute evaluation (${mid.rows} rows) ${(mid.total - mid.imported).toFixed(0)} ms`,
  };
}
