import { testDefects } from '/work/main/functions/engine/transition.ts';
import { runSeeds } from '/work/main/simulation/run.ts';

const which = process.argv[2] as keyof typeof testDefects;
testDefects[which] = true;
const t0 = Date.now();
let n = 0;
try {
  await runSeeds({
    seeds: 300,
    seed: Number(process.argv[3] ?? 1),
    onRun: () => {
      n++;
    },
  });
  console.log(which, 'NOT caught', Date.now() - t0);
} catch (e) {
  console.log(
    which,
    'caught after',
    n + 1,
    'runs',
    String((e as Error).cause).slice(0, 200),
    Date.now() - t0,
  );
}
