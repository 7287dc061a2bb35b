import { performance } from 'node:perf_hooks';
import { parseConfig } from '../functions/engine/config/validate.ts';
import { execute } from '../functions/engine/executor.ts';
import { HuaweiUpstream } from '../functions/huawei/upstream.ts';
import { MemorySecretSource } from '../functions/stores/secrets.ts';
import type { BenchResult } from './measure.ts';
import { RemoteSimulator } from './remote-simulator.ts';

const PROJECT = 'benchproject';
const LATENCY_MS = 50;
const IN_FLIGHT = 16;
const COUNT = 1000;

/** Throughput of many actions against the simulator (in a worker thread) with injected latency, over loopback. */
export async function benchUpstream(): Promise<BenchResult[]> {
  // In a worker thread, like a real upstream: its work is not counted as Nightshift's.
  const sim = new RemoteSimulator({ latencyMs: LATENCY_MS });
  const url = await sim.start();
  const targets: Record<string, unknown> = {};
  for (let i = 0; i < COUNT; i++) {
    targets[`vias-${i}`] = { account: 'bench', kind: 'vias-task', taskId: `task-${i}` };
    targets[`drs-${i}`] = {
      account: 'bench',
      kind: 'drs-job',
      jobId: `00000000-0000-4000-8000-${String(i).padStart(10, '0')}jb`,
    };
  }
  const config = parseConfig({
    version: 1,
    accounts: { bench: { region: 'cn-north-4', projectId: PROJECT, secret: 'bench', endpoint: url } },
    targets,
    schedules: [],
  });
  await sim.seed(config);
  for (let i = 0; i < COUNT; i++) await sim.addViasTask(PROJECT, `task-${i}`, 'RUNNING');
  await sim.addToken('bench-token', PROJECT);
  const upstream = new HuaweiUpstream({
    secrets: new MemorySecretSource({ bench: { token: 'bench-token' } }),
    http: { maxInFlightPerAccount: IN_FLIGHT },
  });

  const timeRun = async (prefix: string, action: 'stop' | 'pause') => {
    const requests = Array.from({ length: COUNT }, (_, i) => ({ target: `${prefix}-${i}`, action }));
    const t0 = performance.now();
    const results = await execute(config, requests, { upstream });
    const ms = performance.now() - t0;
    const failed = results.filter((r) => !r.ok).length;
    if (failed > 0)
      throw new Error(`${failed} of ${COUNT} ${action}s failed: ${results.find((r) => !r.ok)?.errorMessage}`);
    return ms;
  };

  try {
    // A first, cold round opens the keep-alive connections and warms the JIT; the budget is
    // judged on the second round, the steady state of a long-running process.
    const coldMs = await timeRun('vias', 'stop');
    for (let i = 0; i < COUNT; i++) await sim.addViasTask(PROJECT, `task-${i}`, 'RUNNING');
    const calls0 = await sim.requestCount();
    const viasMs = await timeRun('vias', 'stop');
    const viasCalls = (await sim.requestCount()) - calls0;
    const peak = await sim.peakInFlight();
    const calls1 = await sim.requestCount();
    const drsMs = await timeRun('drs', 'pause');
    const drsCalls = (await sim.requestCount()) - calls1;
    const ideal = Math.ceil(COUNT / IN_FLIGHT) * LATENCY_MS;
    return [
      {
        name: `upstream: ${COUNT} VIAS stops, ${LATENCY_MS} ms latency, ${IN_FLIGHT} in flight`,
        value: viasMs,
        unit: 'ms',
        budget: Math.round(ideal * 1.15),
        detail: `ideal ${ideal} ms, ratio ${(viasMs / ideal).toFixed(3)}, ${viasCalls} calls, peak ${peak} in flight; cold first round ${Math.round(coldMs)} ms (ratio ${(coldMs / ideal).toFixed(3)})`,
      },
      {
        name: `upstream: ${COUNT} DRS pauses in batches of 10, ${LATENCY_MS} ms latency`,
        value: drsMs,
        unit: 'ms',
        budget: 1000,
        detail: `${drsCalls} batch calls`,
      },
    ];
  } finally {
    await upstream.close();
    await sim.stop();
  }
}
