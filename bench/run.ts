import { benchBundles } from './bundles.ts';
import { benchCli } from './cli.ts';
import { report } from './measure.ts';
import { benchNotify } from './notify.ts';
import { benchPage } from './page.ts';
import { benchPlan } from './plan.ts';
import { benchReconcile } from './reconcile.ts';
import { benchSavings } from './savings.ts';
import { benchUpstream } from './upstream.ts';

/** `npm run bench`: prints every figure with its budget; exits 1 if a budget is exceeded. */
const sections = [
  { title: 'Planner', run: async () => benchPlan() },
  { title: 'Upstream throughput (simulator over loopback)', run: benchUpstream },
  { title: 'Reconciliation ticks (simulator over loopback, local ledger)', run: benchReconcile },
  { title: 'Savings over a year (500 targets)', run: benchSavings },
  { title: 'Notifications', run: benchNotify },
  { title: 'Lambda bundles (esbuild, minified ESM)', run: benchBundles },
  { title: 'CLI and tick cold start (whole processes)', run: benchCli },
  { title: 'The page (GET /, 200 targets, local ledger)', run: benchPage },
];

let ok = true;
for (const section of sections) {
  console.log(`\n== ${section.title} ==`);
  ok = report(await section.run()) && ok;
}
process.exitCode = ok ? 0 : 1;
