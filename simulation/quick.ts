import { runSeeds } from './run.ts';

const [seeds, seed, path] = process.argv.slice(2);
const t0 = Date.now();
try {
  const totals = await runSeeds({
    seeds: Number(seeds ?? 20),
    seed: Number(seed ?? 1),
    ...(path ? { path } : {}),
  });
  console.log(JSON.stringify(totals), Date.now() - t0, 'ms');
} catch (e) {
  const text = String(e);
  const m = /path: "([^"]*)"/.exec(text);
  console.log('PATH', m?.[1]);
  const c = text.indexOf('Counterexample: [');
  const params = text.slice(c + 'Counterexample: ['.length, text.indexOf(',schedulerFor', c));
  console.log('PARAMS', params);
  console.log('CAUSE:', String((e as Error).cause).slice(0, 3000));
  console.log(Date.now() - t0, 'ms');
}
