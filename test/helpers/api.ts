import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type ApiRequest, Router } from '../../functions/api/router.ts';
import { sign } from '../../functions/api/signature.ts';
import { FileLedger } from '../../functions/stores/local-ledger.ts';
import { type Rig, startRig } from './simulator.ts';

export const WEBHOOK_KEY = 'test-webhook-key-0123456789abcdef';

export interface ApiRig extends Rig {
  router: Router;
  ledger: FileLedger;
  now: number;
}

export async function startApiRig(): Promise<ApiRig> {
  const rig = await startRig({
    schedules: [{ id: 'sync', targets: ['replication'], window: 'Mon-Fri 08:00-20:00' }],
  });
  rig.secrets.set('nightshift/webhook', { key: WEBHOOK_KEY });
  const ledger = new FileLedger(mkdtempSync(join(tmpdir(), 'nightshift-ledger-')));
  const api = Object.assign(rig, { ledger, now: Date.parse('2027-03-29T05:00:00Z') }) as ApiRig;
  api.router = new Router({
    config: async () => rig.config,
    secrets: rig.secrets,
    upstream: rig.upstream,
    ledger,
    now: () => api.now,
  });
  return api;
}

/** A signed request as a client would send it. */
export function signedRequest(
  method: string,
  path: string,
  body: string,
  options: {
    now: number;
    key?: string;
    timestamp?: string;
    headers?: Record<string, string>;
    query?: Record<string, string>;
  },
): ApiRequest {
  const timestamp = options.timestamp ?? String(Math.floor(options.now / 1000));
  const query = new URLSearchParams(options.query ?? {}).toString();
  const target = query ? `${path}?${query}` : path;
  return {
    method,
    path,
    target,
    query: options.query ?? {},
    headers: {
      'content-type': 'application/json',
      'x-nightshift-timestamp': timestamp,
      'x-nightshift-signature': sign(options.key ?? WEBHOOK_KEY, timestamp, method, target, body),
      ...options.headers,
    },
    body: Buffer.from(body),
  };
}
