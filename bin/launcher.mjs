// How `bin/nightshift.mjs` finds the CLI to run. Plain JavaScript: it runs before anything is
// compiled. `npm ci` builds the CLI into dist/cli (the `prepare` script, scripts/build-cli.ts);
// the build is used while every project file that went into it is unchanged, so editing a
// source never runs stale code: the CLI then runs from the TypeScript sources through tsx.
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

/**
 * The built CLI's entry file when `root/dist/cli` holds a build whose inputs (size and mtime of
 * each project file bundled, package.json and package-lock.json) are all unchanged, else
 * undefined.
 * @param {string} root the project folder
 * @returns {string | undefined}
 */
export function freshBuild(root) {
  const dir = join(root, 'dist', 'cli');
  let manifest;
  try {
    manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8'));
  } catch {
    return undefined;
  }
  const inputs = Object.entries(manifest?.inputs ?? {});
  if (inputs.length === 0) return undefined;
  for (const [path, recorded] of inputs) {
    const stat = statSync(join(root, path), { throwIfNoEntry: false });
    if (!stat || stat.size !== recorded.size || stat.mtimeMs !== recorded.mtimeMs) return undefined;
  }
  return join(dir, 'main.mjs');
}

/**
 * What to run: `NIGHTSHIFT_CLI=build` or `=sources` forces one; by default the fresh build, else
 * the sources.
 * @param {string} root
 * @param {Record<string, string | undefined>} env
 * @returns {{ from: 'build' | 'sources', entry: string }}
 */
export function chooseEntry(root, env) {
  const sources = {
    from: /** @type {const} */ ('sources'),
    entry: join(root, 'functions', 'cli', 'main.ts'),
  };
  if (env.NIGHTSHIFT_CLI === 'sources') return sources;
  const build = join(root, 'dist', 'cli', 'main.mjs');
  if (env.NIGHTSHIFT_CLI === 'build') return { from: 'build', entry: build };
  const fresh = freshBuild(root);
  return fresh ? { from: 'build', entry: fresh } : sources;
}
