#!/usr/bin/env node
// The `nightshift` command. It runs the built CLI (dist/cli, made by `npm ci` or `npm run build`)
// while that build is fresh, and otherwise the TypeScript sources through tsx, a devDependency:
// see bin/launcher.mjs.
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { chooseEntry } from './launcher.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const { from, entry } = chooseEntry(root, process.env);
if (from === 'sources') {
  let register;
  try {
    ({ register } = await import('tsx/esm/api'));
  } catch {
    process.stderr.write(
      'nightshift: the built CLI (dist/cli) is missing or older than the sources, and tsx is not installed to run the sources; run "npm ci" or "npm run build"\n',
    );
    process.exit(1);
  }
  register();
}
// A reader that stops early (`nightshift plan | head -1`) closes the pipe: nothing is wrong, so
// stop quietly instead of dying with an EPIPE trace.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (error) => {
    if (error.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw error;
  });
}
const { runProcess } = await import(pathToFileURL(entry).href);
process.exitCode = await runProcess(process.argv.slice(2));
