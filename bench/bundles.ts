import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { build } from 'esbuild';
import { HANDLERS, handlerEntry, LAMBDA_BUILD_OPTIONS } from '../functions/handlers/bundle-options.ts';
import type { BenchResult } from './measure.ts';

const RUNS = 7;

/** Bundles each handler as the stack does, then measures its size and cold import time. */
export async function benchBundles(): Promise<BenchResult[]> {
  // Inside the project, so that any external module resolves from node_modules.
  const cache = join(process.cwd(), 'node_modules', '.cache');
  mkdirSync(cache, { recursive: true });
  const out = mkdtempSync(join(cache, 'nightshift-bundles-'));
  const results: BenchResult[] = [];
  for (const name of HANDLERS) {
    const outfile = join(out, `${name}.mjs`);
    await build({
      entryPoints: [handlerEntry(name)],
      outfile,
      ...LAMBDA_BUILD_OPTIONS,
      sourcemap: false,
    });
    const bytes = statSync(outfile).size;
    // A fresh process per run: the cold import a new Lambda container pays.
    const samples = Array.from({ length: RUNS }, () =>
      Number(
        execFileSync(
          process.execPath,
          [
            '--input-type=module',
            '-e',
            `const t = performance.now(); await import(${JSON.stringify(outfile)}); process.stdout.write(String(performance.now() - t));`,
          ],
          { env: { ...process.env, AWS_REGION: 'eu-central-1' } },
        ).toString(),
      ),
    ).sort((a, b) => a - b);
    results.push(
      { name: `bundle: ${name} size`, value: Math.round(bytes / 1024), unit: 'KiB', budget: 1024 },
      {
        name: `bundle: ${name} cold import (median of ${RUNS} fresh processes)`,
        value: samples[Math.floor(RUNS / 2)]!,
        unit: 'ms',
        budget: 150,
        detail: `min ${samples[0]!.toFixed(1)} ms, max ${samples.at(-1)!.toFixed(1)} ms, Node ${process.version}`,
      },
    );
  }
  return results;
}
