import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * Every temporary folder the tests make (ledgers, configs, state folders, CDK's `cdk.out*`,
 * child processes' files) goes into one folder per run, removed when the run ends: Node.js and
 * the libraries take their temp dir from TMPDIR, which the test workers and the processes they
 * spawn inherit.
 */
export default function setup(): () => void {
  // Each project of the run calls this: one folder for the whole run, not one inside another
  // (Chromium's socket path under nested folders passes the 108-byte limit).
  if (process.env.NIGHTSHIFT_TEST_TMPDIR) return () => undefined;
  const root = mkdtempSync(join(tmpdir(), 'nightshift-tests-'));
  process.env.TMPDIR = root;
  process.env.NIGHTSHIFT_TEST_TMPDIR = root;
  return () => rmSync(root, { recursive: true, force: true });
}
