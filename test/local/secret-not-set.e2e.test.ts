import { existsSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { PLACEHOLDER_SECRET } from '../../functions/stores/secrets.ts';
import { rawConfig } from '../helpers/config.ts';
import { type Served, spawnServe } from '../helpers/process.ts';

describe('serve with an account secret that still holds the placeholder', () => {
  let served: Served | undefined;
  afterEach(async () => {
    await served?.stop('SIGKILL');
  });

  it('leaves its targets alone every tick, records nothing, and says so once an hour', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'nightshift-not-set-'));
    const config = join(dir, 'schedule.json');
    writeFileSync(
      config,
      JSON.stringify(
        rawConfig([
          {
            id: 'office',
            targets: ['face-search', 'orders-sync', 'load-test'],
            timezone: 'UTC',
            window: 'Mon-Fri 08:00-20:00',
          },
        ]),
      ),
    );
    const secrets = join(dir, 'secrets.json');
    writeFileSync(secrets, JSON.stringify({ 'nightshift/prod': JSON.parse(PLACEHOLDER_SECRET) }));
    const state = join(dir, 'state');
    // An hour of the demo clock passes in 3 s.
    served = await spawnServe(
      ['--simulate', '--secrets', secrets, '--port', '0', '--config', config, '--state', state],
      { NIGHTSHIFT_CLOCK_START: '2027-03-29T07:59:30Z', NIGHTSHIFT_CLOCK_SPEED: '1200' },
    );
    const said = () =>
      served!
        .stderr()
        .split('\n')
        .filter((line) => line.includes('"message":"secret not set"'))
        .map((line) => JSON.parse(line) as { timestamp: string; account: string; secret: string });
    for (let i = 0; i < 200 && said().length < 2; i++) await new Promise((r) => setTimeout(r, 50));
    const lines = said();
    expect(lines.length).toBeGreaterThanOrEqual(2);
    expect(lines[0]).toMatchObject({
      account: 'prod',
      secret: 'nightshift/prod',
      targets: ['face-search', 'load-test', 'orders-sync'],
    });
    // Once an hour per account, on the runtime's clock.
    for (let i = 1; i < lines.length; i++)
      expect(Date.parse(lines[i]!.timestamp) - Date.parse(lines[i - 1]!.timestamp)).toBeGreaterThanOrEqual(
        3_600_000,
      );
    expect(served.stdout()).toMatch(
      /warning: account prod: secret "nightshift\/prod" is not set \(it still holds the placeholder the stack created\); its 3 targets are not attempted/,
    );
    // Not attempted: nothing recorded, nothing failed, nothing read as unreadable.
    expect(existsSync(join(state, 'history.jsonl'))).toBe(false);
    expect(existsSync(join(state, 'targets')) ? readdirSync(join(state, 'targets')) : []).toEqual([]);
    expect(served.stdout()).not.toMatch(/FAILED|status unreadable/);
    expect(served.stderr()).not.toMatch(/status\.unreadable|Replace this whole value/);
  }, 30_000);
});
