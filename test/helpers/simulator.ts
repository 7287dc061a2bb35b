import type { Config } from '../../functions/engine/config/schema.ts';
import { type ActionRequest, execute } from '../../functions/engine/executor.ts';
import type { HttpClientOptions } from '../../functions/huawei/http.ts';
import { HuaweiUpstream } from '../../functions/huawei/upstream.ts';
import { HuaweiSimulator } from '../../functions/local/simulator.ts';
import { MemorySecretSource } from '../../functions/stores/secrets.ts';
import { configWith, type RawSchedule } from './config.ts';

export const PROJECT = '054ba152d480d55b2f5dc0069e7ddef0';
export const TOKEN = 'sim-static-token-for-tests';

export interface Rig {
  sim: HuaweiSimulator;
  config: Config;
  secrets: MemorySecretSource;
  upstream: HuaweiUpstream;
  delays: number[];
  run(requests: ActionRequest[], options?: { dryRun?: boolean }): ReturnType<typeof execute>;
  close(): Promise<void>;
}

/**
 * A simulator on loopback, a config whose account points at it, a token secret, and an upstream
 * whose backoff sleeps are recorded and skipped (pass `http.sleep` to wait for real).
 */
export async function startRig(
  options: {
    targets?: Record<string, unknown>;
    http?: HttpClientOptions;
    secret?: unknown;
    now?: () => number;
    /** Nightshift's clock when it differs from the simulator's (`now`): clock skew. */
    clientNow?: () => number;
    schedules?: RawSchedule[];
  } = {},
): Promise<Rig> {
  const sim = new HuaweiSimulator(options.now ? { now: options.now } : {});
  const url = await sim.start();
  const extra: Record<string, unknown> = {
    accounts: {
      prod: { region: 'cn-north-4', projectId: PROJECT, secret: 'nightshift/prod', endpoint: url },
    },
  };
  if (options.targets) {
    extra.targets = options.targets;
    extra.groups = {};
  }
  const config = configWith(options.schedules ?? [], extra);
  sim.seed(config);
  sim.addToken(TOKEN, PROJECT);
  const secrets = new MemorySecretSource({ 'nightshift/prod': options.secret ?? { token: TOKEN } });
  const delays: number[] = [];
  let closed = false;
  const upstream = new HuaweiUpstream({
    secrets,
    http: {
      sleep: async (ms) => void delays.push(ms),
      random: () => 1,
      timeoutMs: 2_000,
      ...options.http,
    },
    ...(options.clientNow || options.now ? { now: options.clientNow ?? options.now } : {}),
  });
  return {
    sim,
    config,
    secrets,
    upstream,
    delays,
    run: (requests, runOptions = {}) => execute(config, requests, { upstream, ...runOptions }),
    async close() {
      if (closed) return;
      closed = true;
      await upstream.close();
      await sim.stop();
    },
  };
}
