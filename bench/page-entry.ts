// Bundled by bench/page.ts and run in a fresh process, as `serve` or a new api Lambda container
// meets its first page view: the config is loaded and the ledger holds 200 targets' records, a
// history and overrides; then the first GET / is timed (everything it computes is cold: the
// week's level machine, the status, the warnings), then a few more.
import { performance } from 'node:perf_hooks';
import { Router } from '../functions/api/router.ts';
import { parseConfig } from '../functions/engine/config/validate.ts';
import { latestEdges } from '../functions/engine/desired.ts';
import type { Upstream } from '../functions/engine/executor.ts';
import { preparePage } from '../functions/page/routes.ts';
import { FileLedger } from '../functions/stores/local-ledger.ts';
import { MemorySecretSource } from '../functions/stores/secrets.ts';
import { PAGE_BENCH_KEY, PAGE_BENCH_NOW, pageBenchDocument } from './page-fixture.ts';

const [dir, cookie, mode] = process.argv.slice(2) as [string, string, 'cold' | 'ticked'];
const config = parseConfig(pageBenchDocument());
// `ticked`: as on a running `serve`, which prepared the page when it loaded the config and whose
// tick has evaluated the desired state of every target.
if (mode === 'ticked') {
  latestEdges(config, PAGE_BENCH_NOW);
  preparePage(config, PAGE_BENCH_NOW);
}
const upstream: Upstream = {
  perform: async () => {
    throw new Error('the page makes no upstream call');
  },
  observe: async () => {
    throw new Error('the page reads status from the ledger unless asked');
  },
};
const router = new Router({
  config: async () => config,
  secrets: new MemorySecretSource({ 'nightshift/webhook': { key: PAGE_BENCH_KEY } }),
  upstream,
  ledger: new FileLedger(dir, () => PAGE_BENCH_NOW),
  now: () => PAGE_BENCH_NOW,
});
const request = {
  method: 'GET',
  path: '/',
  target: '/',
  query: {},
  headers: { host: '127.0.0.1:8787', cookie: `nightshift_session=${cookie}` },
  body: Buffer.alloc(0),
};
const times: number[] = [];
const cpu: number[] = [];
let bytes = 0;
for (let i = 0; i < 6; i++) {
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  const answer = await router.handle(request);
  times.push(performance.now() - t0);
  const c = process.cpuUsage(c0);
  cpu.push((c.user + c.system) / 1000);
  if (answer.status !== 200) throw new Error(`GET / answered ${answer.status}: ${answer.body.slice(0, 300)}`);
  bytes = Buffer.byteLength(answer.body);
}
process.stdout.write(
  JSON.stringify({ first: times[0], firstCpu: cpu[0], warm: times.slice(1), warmCpu: cpu.slice(1), bytes }),
);
