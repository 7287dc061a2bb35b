/**
 * Builds the CLI into `dist/cli/` with the project's own esbuild, as the Lambdas are bundled:
 * `npm ci` runs it (the `prepare` script), `npm run build` runs it by hand. `bin/nightshift.mjs`
 * runs the build while it is fresh (see `bin/launcher.mjs`) and the TypeScript sources otherwise.
 *
 * The output is ESM split into chunks (each command is loaded only when it runs), and a
 * `manifest.json` naming the project files that went into it with their size and modification
 * time: the launcher's freshness check.
 */
import { mkdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import {
  CLI_ENTRY,
  CLI_TARGET,
  ESM_REQUIRE_BANNER,
  EXTERNAL_MODULES,
  MAIN_FIELDS,
} from '../functions/handlers/bundle-options.ts';

export const CLI_DIR = join('dist', 'cli');
export const CLI_MAIN = 'main.mjs';
export const MANIFEST = 'manifest.json';

/** Files that shape the build without being bundled: a change to any of them makes it stale. */
const BUILD_INPUTS = ['package.json', 'package-lock.json', 'scripts/build-cli.ts'];

export interface CliManifest {
  builtAt: string;
  /** Project-relative path → its size and mtime when it was bundled. */
  inputs: Record<string, { size: number; mtimeMs: number }>;
}

export interface CliBuild {
  outdir: string;
  bytes: number;
  files: number;
  ms: number;
}

/**
 * Bundles the CLI into `outdir` (default `<root>/dist/cli`). The folder is replaced whole, so a
 * CLI starting meanwhile sees the old build, the new one, or none (and then runs the sources).
 */
export async function buildCli(root = process.cwd(), outdir = join(root, CLI_DIR)): Promise<CliBuild> {
  const started = performance.now();
  const builtAt = new Date().toISOString();
  const staging = `${outdir}.${process.pid}.tmp`;
  rmSync(staging, { recursive: true, force: true });
  const result = await build({
    absWorkingDir: root,
    entryPoints: { main: CLI_ENTRY },
    outdir: staging,
    outExtension: { '.js': '.mjs' },
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'node',
    target: CLI_TARGET,
    // Readable names in stack traces; whitespace and syntax minified.
    minifyWhitespace: true,
    minifySyntax: true,
    treeShaking: true,
    banner: { js: ESM_REQUIRE_BANNER },
    external: EXTERNAL_MODULES,
    mainFields: MAIN_FIELDS,
    define: { NIGHTSHIFT_CLI_BUILT_AT: JSON.stringify(builtAt) },
    metafile: true,
    logLevel: 'error',
  });
  const inputs: CliManifest['inputs'] = {};
  const own = Object.keys(result.metafile.inputs).filter((path) => !path.split('/').includes('node_modules'));
  for (const path of [...own, ...BUILD_INPUTS]) {
    const stat = statSync(join(root, path), { throwIfNoEntry: false });
    if (stat) inputs[path] = { size: stat.size, mtimeMs: stat.mtimeMs };
  }
  const manifest: CliManifest = { builtAt, inputs };
  writeFileSync(join(staging, MANIFEST), `${JSON.stringify(manifest, null, 1)}\n`);

  mkdirSync(resolve(outdir, '..'), { recursive: true });
  const old = `${outdir}.${process.pid}.old`;
  rmSync(old, { recursive: true, force: true });
  try {
    renameSync(outdir, old);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  renameSync(staging, outdir);
  rmSync(old, { recursive: true, force: true });

  const outputs = Object.values(result.metafile.outputs);
  return {
    outdir,
    bytes: outputs.reduce((sum, o) => sum + o.bytes, 0),
    files: outputs.length,
    ms: performance.now() - started,
  };
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const built = await buildCli();
  console.log(
    `built the CLI into ${relative(process.cwd(), built.outdir)}: ${built.files} files, ${Math.round(built.bytes / 1024)} KiB in ${Math.round(built.ms)} ms`,
  );
}
