import { describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.ts';

describe('nightshift serve options', () => {
  it('refuses --catch-up 0, which would fire nothing at all', async () => {
    const run = await runCli(['serve', '--simulate', '--catch-up', '0']);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/--catch-up must be 1 to 1440 minutes/);
  });

  it('refuses an empty --host', async () => {
    const run = await runCli(['serve', '--simulate', '--host', '']);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/--host/);
  });
});
