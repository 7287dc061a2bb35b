// Replays one sample of the simulation with a trace of one target's requests and ledger writes.
import fc from 'fast-check';
import { simulate } from './harness.ts';
import { MemoryLedger } from './memory-ledger.ts';
import { simParams } from './params.ts';

const [seed, index, target] = process.argv.slice(2);
const samples = fc.sample(fc.tuple(simParams(), fc.scheduler()), {
  numRuns: Number(index) + 1,
  seed: Number(seed),
});
const [p, s] = samples[Number(index)]!;
console.log(
  JSON.stringify({ ...p, config: undefined }),
  JSON.stringify((p.config as { schedules: unknown }).schedules),
);
const ledger = new MemoryLedger();
try {
  await simulate(
    p,
    s,
    { ledger },
    {
      onSent: (x, world) => {
        if (!target || x.target === target)
          console.log(
            'SENT',
            new Date(x.at).toISOString(),
            x.engine,
            x.kind,
            x.action ?? '',
            x.flight
              ? `${x.flight.id.slice(0, 12)} ${x.flight.trigger} want=${x.flight.want} since=${x.flight.since}`
              : '',
            JSON.stringify(world.tasks.get(x.upstream)),
          );
      },
    },
  );
  console.log('OK');
} catch (e) {
  console.log(String(e).slice(0, 2000));
}
for (const e of ledger.rawHistory.filter((e) => !target || e.result.target === target))
  console.log(
    e.recordedAt,
    e.id.slice(0, 12),
    e.trigger,
    e.schedule ?? e.override ?? '',
    e.result.action,
    e.result.status,
    e.result.errorCode ?? '',
    e.result.observed ?? '',
    e.reason ?? '',
  );
