import { expect } from 'vitest';
import type { Ledger, TargetRecord } from '../../functions/engine/ledger.ts';

const record = (target: string, version: number, more: Partial<TargetRecord> = {}): TargetRecord => ({
  target,
  version,
  desired: 'paused',
  since: '2027-03-29T18:00:00Z',
  because: 'office-hours',
  reached: false,
  tries: 0,
  ...more,
});

/**
 * What every ledger promises about target records: compare-and-set on `version`, exactly one
 * winner among concurrent writers of the same version, and reads of many targets at once.
 */
export async function checkTargetRecords(ledger: Ledger): Promise<void> {
  expect(await ledger.putTarget(record('orders-sync', 1))).toBe(true);
  expect(await ledger.putTarget(record('orders-sync', 1))).toBe(false);

  // Ten writers read version 1 and race to write version 2: one wins.
  const wins = await Promise.all(
    Array.from({ length: 10 }, (_, i) =>
      ledger.putTarget(
        record('orders-sync', 2, { lease: { owner: `p${i}`, until: '2027-03-29T18:05:00Z' } }),
      ),
    ),
  );
  expect(wins.filter(Boolean)).toHaveLength(1);
  const winner = `p${wins.indexOf(true)}`;
  // A writer that read an old version loses, whatever it writes.
  expect(await ledger.putTarget(record('orders-sync', 2))).toBe(false);
  const got = (await ledger.targets(['orders-sync', 'nobody'])).get('orders-sync');
  expect(got).toMatchObject({ version: 2, lease: { owner: winner } });
  expect(await ledger.putTarget({ ...got!, version: 3, lease: undefined, reached: true })).toBe(true);

  // More than one batch of reads (DynamoDB: 100 keys a call).
  const names = Array.from({ length: 130 }, (_, i) => `t${i}`);
  await Promise.all(names.map((name) => ledger.putTarget(record(name, 1))));
  const all = await ledger.targets([...names, 'orders-sync']);
  expect(all.size).toBe(131);
  expect(all.get('orders-sync')).toMatchObject({ version: 3, reached: true });
  expect(all.get('orders-sync')!.lease).toBeUndefined();
}
