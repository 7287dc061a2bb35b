import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { reconcile } from '../../functions/engine/reconcile.ts';
import { HuaweiUpstream } from '../../functions/huawei/upstream.ts';
import { HuaweiSimulator } from '../../functions/local/simulator.ts';
import { FileLedger } from '../../functions/stores/local-ledger.ts';
import { MemorySecretSource, PLACEHOLDER_SECRET } from '../../functions/stores/secrets.ts';
import { configWith } from '../helpers/config.ts';
import { PROJECT, TOKEN } from '../helpers/simulator.ts';

const MINUTE = 60_000;
const DEV_PROJECT = '7a1f0e2c9b8d4c3aa5e6f7081920a3b4';
const at = (iso: string) => Date.parse(iso);

/**
 * An account whose secret still holds the stack's placeholder: its targets are not attempted
 * (no request, no entry, no record written, nothing in flight), and the pass says so once per
 * account, naming the secret and never its value. Other accounts go on as usual.
 */
describe('a tick over an account whose secret is not set', () => {
  let sim: HuaweiSimulator;
  let upstream: HuaweiUpstream;
  afterEach(async () => {
    await upstream.close();
    await sim.stop();
  });

  const ALL_KINDS = {
    'face-search': { account: 'prod', kind: 'vias-task', taskId: 'task-1' },
    'night-batch': { account: 'prod', kind: 'vias-batch-task', batchTaskId: 'batch-1' },
    'orders-sync': { account: 'prod', kind: 'drs-job', jobId: 'c7debc9c-8e09-4a5d-8dd6-cc44f78jb20r' },
    'load-test': { account: 'prod', kind: 'cpts-task', testSuiteId: 1, taskId: 1 },
  };
  const setUp = async (prodTargets: Record<string, unknown> = ALL_KINDS) => {
    sim = new HuaweiSimulator();
    const url = await sim.start();
    const config = configWith(
      [
        {
          id: 'office',
          targets: [...Object.keys(prodTargets), 'dev-search'],
          timezone: 'UTC',
          window: 'Mon-Fri 08:00-20:00',
        },
      ],
      {
        accounts: {
          prod: { region: 'cn-north-4', projectId: PROJECT, secret: 'nightshift/prod', endpoint: url },
          dev: { region: 'cn-north-4', projectId: DEV_PROJECT, secret: 'nightshift/dev', endpoint: url },
        },
        targets: { ...prodTargets, 'dev-search': { account: 'dev', kind: 'vias-task', taskId: 'task-9' } },
        groups: {},
      },
    );
    sim.seed(config);
    sim.addDrsJob(PROJECT, 'c7debc9c-8e09-4a5d-8dd6-cc44f78jb20r', 'PAUSING');
    sim.addToken(TOKEN, PROJECT);
    sim.addToken('dev-token-0123', DEV_PROJECT);
    const secrets = new MemorySecretSource({
      'nightshift/prod': PLACEHOLDER_SECRET,
      'nightshift/dev': { token: 'dev-token-0123' },
    });
    upstream = new HuaweiUpstream({ secrets, http: { timeoutMs: 2_000 } });
    const ledger = new FileLedger(mkdtempSync(join(tmpdir(), 'nightshift-not-set-')));
    const pass = (now: string) =>
      reconcile({
        config,
        from: at(now) - MINUTE,
        now: at(now),
        ledger,
        upstream,
        owner: 'tick-a',
        maxLatenessMs: 15 * MINUTE,
      });
    return { config, secrets, ledger, pass };
  };
  const PROD = ['face-search', 'night-batch', 'orders-sync', 'load-test'];

  it('not attempted: no request, no entry, no record, nothing in flight; one warning for the account, every tick', async () => {
    const { ledger, pass } = await setUp();
    for (const minute of ['08:00', '08:01', '08:02']) {
      const summary = await pass(`2027-03-29T${minute}:00Z`);
      expect(summary.secretsNotSet).toEqual([
        {
          code: 'secret.not-set',
          account: 'prod',
          secret: 'nightshift/prod',
          targets: [...PROD].sort(),
          message: expect.stringMatching(
            /^account prod: secret "nightshift\/prod" is not set \(it still holds the placeholder the stack created\); its 4 targets are not attempted until the credentials are put in/,
          ),
        },
      ]);
      expect(summary).toMatchObject({ failed: 0, notAttempted: 4, warnings: [] });
      // The placeholder's text is a value of the secret: it is nowhere in what the pass says.
      expect(JSON.stringify(summary)).not.toMatch(/Replace this whole value/);
    }
    // Nothing reached Huawei for prod: no token request either (a token secret needs none).
    expect(sim.requests.filter((r) => r.path.includes(PROJECT))).toEqual([]);
    const history = await ledger.history();
    expect(history.filter((e) => PROD.includes(e.result.target))).toEqual([]);
    expect([...(await ledger.targets(PROD)).keys()]).toEqual([]);
    // The other account went on: started once, recorded once.
    expect(sim.viasState(DEV_PROJECT, 'task-9')).toBe('RUNNING');
    expect(history.map((e) => [e.result.target, e.result.status])).toEqual([['dev-search', 'succeeded']]);
  });

  it('a target with a record keeps it as it was; once the secret is set, the next tick acts', async () => {
    const { ledger, pass, secrets } = await setUp();
    // Running since 08:00, as a deployment whose secret was set then left them.
    for (const target of PROD)
      await ledger.putTarget({
        target,
        version: 1,
        desired: 'running',
        since: '2027-03-29T08:00:00Z',
        because: 'office',
        reached: true,
        tries: 0,
      });
    sim.addViasTask(PROJECT, 'task-1', 'RUNNING');
    const before = await ledger.targets(PROD);
    const closing = await pass('2027-03-29T20:00:00Z');
    expect(closing).toMatchObject({ notAttempted: 4, failed: 0, looked: 1, deferred: 0 });
    expect(await ledger.targets(PROD)).toEqual(before);
    expect(sim.viasState(PROJECT, 'task-1')).toBe('RUNNING');
    // Put in: the stop goes out at the next tick.
    secrets.set('nightshift/prod', { token: TOKEN });
    const next = await pass('2027-03-29T20:01:00Z');
    expect(next.secretsNotSet).toEqual([]);
    expect(next).toMatchObject({ notAttempted: 0, failed: 0 });
    expect(sim.viasState(PROJECT, 'task-1')).toBe('STOPPED');
    expect(sim.drsStatus(PROJECT, 'c7debc9c-8e09-4a5d-8dd6-cc44f78jb20r')).toBe('PAUSING');
  });

  it('a kind without a status query finds out only at its call: not attempted all the same', async () => {
    const { ledger, pass } = await setUp({ 'night-batch': ALL_KINDS['night-batch'] });
    const summary = await pass('2027-03-29T08:00:00Z');
    expect(summary).toMatchObject({ notAttempted: 1, failed: 0, deferred: 0 });
    expect(summary.secretsNotSet.map((s) => [s.account, s.targets])).toEqual([['prod', ['night-batch']]]);
    expect((await ledger.history()).map((e) => e.result.target)).toEqual(['dev-search']);
    expect([...(await ledger.targets(['night-batch'])).keys()]).toEqual([]);
    expect(sim.viasBatchRunning(PROJECT, 'batch-1')).toBe(false);
  });
});
