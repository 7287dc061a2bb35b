import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import setup from './global-setup.ts';

describe('temporary folders of the test suite', () => {
  it('go into the run’s own folder, which the global setup made', () => {
    const root = process.env.NIGHTSHIFT_TEST_TMPDIR;
    expect(root).toBeDefined();
    const made = mkdtempSync(join(tmpdir(), 'nightshift-probe-'));
    expect(relative(root!, made).startsWith('..')).toBe(false);
  });

  it('are removed with that folder when the run ends', () => {
    const before = { TMPDIR: process.env.TMPDIR, NIGHTSHIFT_TEST_TMPDIR: process.env.NIGHTSHIFT_TEST_TMPDIR };
    try {
      delete process.env.NIGHTSHIFT_TEST_TMPDIR;
      const teardown = setup();
      const root = process.env.NIGHTSHIFT_TEST_TMPDIR!;
      // Called again by another project of the run: the same folder, not one inside it.
      setup()();
      expect(process.env.TMPDIR).toBe(root);
      expect(existsSync(root)).toBe(true);
      const inside = mkdtempSync(join(tmpdir(), 'cdk.out'));
      teardown();
      expect(existsSync(inside)).toBe(false);
      expect(existsSync(root)).toBe(false);
    } finally {
      Object.assign(process.env, before);
    }
  });
});
