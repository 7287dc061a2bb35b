import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { Upstream } from '../../functions/engine/executor.ts';
import { targetStatuses } from '../../functions/engine/status.ts';
import { FileLedger } from '../../functions/stores/local-ledger.ts';
import { configWith } from '../helpers/config.ts';

const NOW = Date.parse('2027-03-29T10:00:00Z');
const config = configWith([
  { id: 'office', targets: ['replication'], timezone: 'UTC', window: 'Mon-Fri 08:00-20:00' },
]);
const noUpstream: Upstream = {
  perform: async () => {
    throw new Error('no call expected');
  },
  observe: async () => {
    throw new Error('no status read expected');
  },
};
const dirs: string[] = [];
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});
const ledger = () => {
  const dir = mkdtempSync(join(tmpdir(), 'nightshift-status-'));
  dirs.push(dir);
  return new FileLedger(dir, () => NOW);
};

const fromLedger = (l: FileLedger, targets?: string[]) =>
  targetStatuses({
    config,
    overrides: [],
    upstream: noUpstream,
    ledger: l,
    now: NOW,
    live: false,
    ...(targets ? { targets } : {}),
  });

describe('targetStatuses from the ledger alone (live: false), as the page shows them', () => {
  it('reads nothing upstream: observed, reached, tries and the next look come from the target records', async () => {
    const l = ledger();
    await l.putTarget({
      target: 'orders-sync',
      version: 1,
      desired: 'running',
      since: '2027-03-29T08:00:00Z',
      reached: true,
      tries: 0,
      lastCheckAt: '2027-03-29T09:59:00Z',
      observed: 'INCRE_TRANSFER_STARTED',
    });
    await l.putTarget({
      target: 'billing-sync',
      version: 1,
      desired: 'running',
      since: '2027-03-29T08:00:00Z',
      reached: false,
      tries: 3,
      lastCheckAt: '2027-03-29T09:56:00Z',
      nextCheckAt: '2027-03-29T10:00:00Z',
      lastAttemptAt: '2027-03-29T09:56:00Z',
      observed: 'PAUSING',
    });
    const statuses = await fromLedger(l);
    expect(statuses.find((s) => s.target === 'orders-sync')).toEqual({
      target: 'orders-sync',
      kind: 'drs-job',
      desired: 'running',
      since: '2027-03-29T08:00:00Z',
      because: 'office',
      observed: 'INCRE_TRANSFER_STARTED',
      observedAt: '2027-03-29T09:59:00Z',
      inSync: true,
      nextEdge: { at: '2027-03-29T20:00:00Z', state: 'paused', schedule: 'office' },
      reached: true,
      tries: 0,
      lastCheckAt: '2027-03-29T09:59:00Z',
    });
    expect(statuses.find((s) => s.target === 'billing-sync')).toMatchObject({
      observed: 'PAUSING',
      inSync: false,
      reached: false,
      tries: 3,
      nextCheckAt: '2027-03-29T10:00:00Z',
      lastAttemptAt: '2027-03-29T09:56:00Z',
    });
    // No schedule names face-search: nothing held, in sync, no next edge.
    expect(statuses.find((s) => s.target === 'face-search')).toEqual({
      target: 'face-search',
      kind: 'vias-task',
      desired: null,
      since: null,
      because: null,
      observed: null,
      inSync: true,
    });
  });

  it('a record about an earlier desired state says nothing of this one: not looked at yet, not in sync', async () => {
    const l = ledger();
    await l.putTarget({
      target: 'orders-sync',
      version: 1,
      desired: 'paused',
      since: '2027-03-26T20:00:00Z',
      reached: true,
      tries: 0,
      lastCheckAt: '2027-03-29T07:59:00Z',
      observed: 'PAUSED',
    });
    const [status] = await fromLedger(l, ['orders-sync']);
    expect(status).toMatchObject({ desired: 'running', observed: 'PAUSED', inSync: false });
    expect(status).not.toHaveProperty('reached');
    expect(status).not.toHaveProperty('tries');
    const [never] = await fromLedger(l, ['billing-sync']);
    expect(never).toMatchObject({
      desired: 'running',
      observed: null,
      inSync: false,
      note: 'not looked at yet',
    });
  });
});
