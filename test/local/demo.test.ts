import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { type Demo, startDemo } from '../../functions/local/demo.ts';
import { configWith } from '../helpers/config.ts';

const webhookKey = async (demo: Demo) =>
  JSON.parse(await demo.secrets.get('nightshift/webhook')).key as string;

describe('serve --simulate demo secrets', () => {
  it('keeps the webhook key once generated: a second serve in the same folder, started at once or later, uses it', async () => {
    const state = join(mkdtempSync(join(tmpdir(), 'nightshift-demo-')), 'state');
    const config = configWith([]);
    const demos: Demo[] = [];
    try {
      demos.push(...(await Promise.all([startDemo(config, state), startDemo(config, state)])));
      demos.push(await startDemo(config, state));
      const keys = await Promise.all(demos.map(webhookKey));
      const onDisk = JSON.parse(readFileSync(join(state, 'demo-secrets.json'), 'utf8'))['nightshift/webhook']
        .key;
      expect(new Set(keys).size).toBe(1);
      expect(onDisk).toBe(keys[0]);
      expect(keys[0]).toMatch(/^[0-9a-f]{48}$/);
    } finally {
      await Promise.all(demos.map((d) => d.simulator.stop()));
    }
  });
});
