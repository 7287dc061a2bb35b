import { mkdtempSync, readdirSync, utimesSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Override } from '../../functions/engine/overrides.ts';
import { DroppedOverrides } from '../../functions/local/dropped-overrides.ts';
import { silentLog } from '../../functions/observability/log.ts';
import { FileLedger } from '../../functions/stores/local-ledger.ts';

const DAY = 24 * 3600_000;
const NOW = Date.parse('2027-03-29T18:00:00Z');
/** Made with `override add` on the real clock beside a `serve` on a demo clock a year ahead. */
const offClock: Override = {
  id: 'ovr-realclock',
  targets: ['load-test'],
  state: 'stopped',
  from: '2026-12-01T04:00:00.000Z',
  until: '2026-12-01T15:00:00.000Z',
  reason: 'made on the real clock',
  createdAt: '2026-12-01T04:00:00.000Z',
};

describe('an override already over by the runtime clock when it shows up', () => {
  it('is said to be dropped even when a running tick read the overrides first (serve re-reads them mid-pass)', async () => {
    const ledger = new FileLedger(mkdtempSync(join(tmpdir(), 'nightshift-dropped-')), () => NOW);
    const lines: string[] = [];
    const dropped = new DroppedOverrides(silentLog, (line) => lines.push(line), 'UTC');
    await dropped.check(ledger, NOW); // the runtime starts: what is on file is known
    // Written while a tick runs; the tick's mid-pass re-read comes before the next check.
    await ledger.putOverride(offClock);
    await ledger.overrides(NOW - 60_000);
    await dropped.check(ledger, NOW + 60_000);
    expect(lines).toEqual([expect.stringMatching(/^override ovr-realclock \(stopped load-test\) dropped/)]);
  });

  it('long-ended override files are removed by the upkeep once a day old on disk too, not by reads', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'nightshift-dropped-'));
    const ledger = new FileLedger(dir, () => NOW);
    await ledger.putOverride(offClock);
    await ledger.putOverride({ ...offClock, id: 'ovr-old' });
    expect(await ledger.overrides(NOW)).toEqual([]);
    const files = () => readdirSync(join(dir, 'overrides')).filter((f) => f.endsWith('.json'));
    expect(files()).toEqual(['ovr-old.json', 'ovr-realclock.json']);
    const aged = (Date.now() - 2 * DAY) / 1000;
    utimesSync(join(dir, 'overrides', 'ovr-old.json'), aged, aged);
    await ledger.maintain();
    expect(files()).toEqual(['ovr-realclock.json']);
  });
});
