import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runNightshift } from '../helpers/process.ts';

/** `npx cdk synth` as a user runs it, into a temporary output folder. */
const cdkSynth = (context: string) =>
  runNightshift([], {
    shell: `npx cdk synth --no-notices -o ${mkdtempSync(join(tmpdir(), 'nightshift-cdkout-'))} ${context}`,
  });

describe('cdk synth with a config it cannot use (real processes)', () => {
  it('prints the path-named problems, or the missing file and the fix, without a stack trace', async () => {
    // Prepare
    const dir = mkdtempSync(join(tmpdir(), 'nightshift-synth-'));
    const bad = JSON.parse(readFileSync('config/schedule.json', 'utf8'));
    bad.schedules[1].actions[0].cron = '0 1 * *';
    writeFileSync(join(dir, 'schedule.json'), JSON.stringify(bad));
    // Act
    const [invalid, missing] = await Promise.all([
      cdkSynth(`-c configPath=${join(dir, 'schedule.json')}`),
      cdkSynth(`-c configPath=${join(dir, 'nowhere.json')}`),
    ]);
    // Assess
    expect(invalid.code).not.toBe(0);
    expect(invalid.stderr).toMatch(
      /1 problem in .*schedule\.json:\n {2}schedules\[1\]\.actions\[0\]\.cron: expected five fields/,
    );
    expect(missing.code).not.toBe(0);
    expect(missing.stderr).toMatch(
      /cannot read config .*nowhere\.json: no such file \(give another with -c configPath=FILE/,
    );
    for (const run of [invalid, missing]) {
      expect(run.stderr).not.toMatch(/^\s+at /m);
      expect(run.stderr).not.toMatch(/ENOENT|ConfigError|node:internal/);
    }
  }, 120_000);
});
