// npm run simulate -- --seeds N [--seed S] [--path P] [--ledger memory|marks|file|dynamodb] [--trace TARGET]
// Runs seeds of the simulation and prints what they covered; a broken invariant prints the seed
// and path that replay it, and with --trace the replayed run's requests and history.
import { spawn } from 'node:child_process';
import { parseArgs } from 'node:util';
import { InvariantViolation, type SimLedger } from './harness.ts';
import { LEDGER_KINDS, type LedgerKind, ledgerFactory } from './ledgers.ts';
import { MemoryLedger } from './memory-ledger.ts';
import { runSeeds } from './run.ts';
import type { World } from './world.ts';

const USAGE = `usage: npm run simulate -- [--seeds N] [--seed S] [--path P] [--ledger memory|marks|file|dynamodb]
                            [--minutes M] [--shrink] [--trace TARGET|all]

  --seeds N     runs to make (default 300); each draws a world, its faults, events and the
                order of every await
  --seed S      the first seed (default: the clock's); the same seed replays the same runs
  --path P      replay one failing run (as printed with its seed)
  --ledger L    memory (default); marks (in memory, keeping marks of calls' sending as the
                file ledger does); file (a state folder in a temporary directory; its real
                I/O makes a replay inexact); or dynamodb (DynamoDB on dynalite started here)
  --minutes M   simulated minutes per run (default 180, the last 60 healthy)
  --shrink      shrink a failure to a smaller world before reporting it (slow)
  --trace T     with --path: print the run's requests and history entries for target T (or all)
  --jobs J      split the seeds over J processes (seeds seed, seed+1, ... each its own share)`;

const { values } = parseArgs({
  options: {
    seeds: { type: 'string' },
    seed: { type: 'string' },
    path: { type: 'string' },
    ledger: { type: 'string' },
    minutes: { type: 'string' },
    shrink: { type: 'boolean' },
    trace: { type: 'string' },
    jobs: { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  },
  strict: true,
});

const fail = (message: string): never => {
  console.error(`simulate: ${message}\n\n${USAGE}`);
  process.exit(2);
};
if (values.help) {
  console.log(USAGE);
  process.exit(0);
}
const int = (name: string, text: string | undefined, fallback: number, min: number): number => {
  if (text === undefined) return fallback;
  const n = Number(text);
  if (!Number.isSafeInteger(n) || n < min)
    fail(`--${name} must be an integer of at least ${min}, not "${text}"`);
  return n;
};
const seeds = values.path === undefined ? int('seeds', values.seeds, 300, 1) : 1;
const seed = int('seed', values.seed, Date.now() % 2 ** 31, Number.MIN_SAFE_INTEGER);
const minutes = int('minutes', values.minutes, 180, 90);
const kind = (values.ledger ?? 'memory') as LedgerKind;
if (!LEDGER_KINDS.includes(kind)) fail(`--ledger must be one of ${LEDGER_KINDS.join(', ')}`);
if (values.trace !== undefined && values.path === undefined) fail('--trace replays one run: give its --path');

const jobs = int('jobs', values.jobs, 1, 1);
if (jobs > 1 && values.path === undefined) {
  process.exitCode = await inProcesses(jobs);
  process.exit();
}

/** Runs the seeds in `jobs` child processes, one share and first seed each; sums what they print. */
async function inProcesses(jobs: number): Promise<number> {
  const t0 = Date.now();
  const shares = Array.from(
    { length: jobs },
    (_, j) => Math.floor(seeds / jobs) + (j < seeds % jobs ? 1 : 0),
  );
  const results = await Promise.all(
    shares.map(
      (share, j) =>
        new Promise<{ code: number; out: string }>((resolve) => {
          const args = [
            '--seeds',
            String(share),
            '--seed',
            String(seed + j),
            '--ledger',
            kind,
            '--minutes',
            String(minutes),
          ];
          const child = spawn(process.execPath, [...process.execArgv, process.argv[1]!, ...args], {
            stdio: ['ignore', 'pipe', 'inherit'],
          });
          let out = '';
          child.stdout.on('data', (chunk: Buffer) => {
            out += chunk.toString();
          });
          child.on('close', (code) => resolve({ code: code ?? 1, out }));
        }),
    ),
  );
  let failed = 0;
  const sum = { seeds: 0, targetDays: 0, requests: 0, calls: 0, entries: 0, crashes: 0 };
  for (const { code, out } of results) {
    process.stdout.write(out);
    const totals = /^totals (.*)$/m.exec(out);
    if (code !== 0 || !totals) failed += 1;
    else
      for (const [k, v] of Object.entries(JSON.parse(totals[1]!) as typeof sum))
        sum[k as keyof typeof sum] += v;
  }
  const seconds = ((Date.now() - t0) / 1000).toFixed(1);
  if (failed > 0) {
    console.error(`simulate: ${failed} of ${jobs} processes found a broken invariant (above)`);
    return 1;
  }
  console.log(
    `simulate: ${sum.seeds} seeds in ${jobs} processes (seeds ${seed} to ${seed + jobs - 1}) on the ${kind} ledger clean in ${seconds} s: ` +
      `${sum.targetDays.toFixed(1)} target-days, ${sum.requests} requests, ${sum.calls} calls, ` +
      `${sum.entries} history entries, ${sum.crashes} crashes`,
  );
  return 0;
}

const factory = await ledgerFactory(kind);
const traced: MemoryLedger[] = [];
const ledger = async (now: () => number): Promise<SimLedger> => {
  if (values.trace === undefined || kind !== 'memory') return factory.open(now);
  const memory = new MemoryLedger();
  traced.push(memory);
  return { ledger: memory };
};
const trace = values.trace;
let traceWorld: World | undefined;
const t0 = Date.now();
let done = 0;
const progress = setInterval(() => {
  process.stderr.write(`  ${done} of ${seeds} runs, ${((Date.now() - t0) / 1000).toFixed(0)} s\n`);
}, 10_000);
progress.unref();
try {
  const totals = await runSeeds({
    seeds,
    seed,
    minutes,
    ledger,
    ...(values.path === undefined ? {} : { path: values.path }),
    ...(values.shrink ? { shrink: true } : {}),
    ...(trace === undefined
      ? {}
      : {
          hooks: {
            onWorld: (world) => {
              traceWorld = world;
            },
            onStart: (params) => {
              const { config, ...rest } = params;
              console.log(`world: ${JSON.stringify(rest)}`);
              console.log(`schedules: ${JSON.stringify((config as { schedules: unknown }).schedules)}`);
            },
            onLedger: (engine, op, args, outcome) => {
              if (
                !['putTarget', 'record'].includes(op) &&
                !process.env.SIM_TRACE_OPS?.split(',').includes(op)
              )
                return;
              const about = (args[0] as { target?: string }[] | { target?: string }) ?? {};
              const text = JSON.stringify(about);
              const full = process.env.SIM_TRACE_FULL === '1';
              if (trace !== 'all' && !text.includes(`"target":"${trace}"`)) return;
              const at = traceWorld ? new Date(traceWorld.clock).toISOString() : '';
              console.log(`${at} ledger ${engine} ${op} ${full ? text : text.slice(0, 400)} -> ${outcome}`);
            },
            onSent: (sent, world) => {
              if (trace !== 'all' && sent.target !== trace) return;
              const flight = sent.flight
                ? ` ${sent.flight.id} ${sent.flight.trigger} want=${sent.flight.want} since=${sent.flight.since}`
                : '';
              console.log(
                `${new Date(sent.at).toISOString()} ${sent.engine} ${sent.kind} ${sent.target} ${sent.action ?? ''}${flight} world=${JSON.stringify(world.tasks.get(sent.upstream))}`,
              );
            },
          },
        }),
    onRun: () => {
      done += 1;
    },
  });
  const seconds = (Date.now() - t0) / 1000;
  console.log(`totals ${JSON.stringify(totals)}`);
  console.log(
    `simulate: ${totals.seeds} seeds from seed ${seed} on the ${kind} ledger clean in ${seconds.toFixed(1)} s: ` +
      `${totals.targetDays.toFixed(1)} target-days, ${totals.requests} requests, ${totals.calls} calls, ` +
      `${totals.entries} history entries, ${totals.crashes} crashes`,
  );
} catch (error) {
  const text = String(error);
  const path = /path: "([^"]*)"/.exec(text)?.[1];
  const cause = (error as Error).cause;
  console.error(
    cause instanceof InvariantViolation || cause instanceof Error ? `simulate: ${cause.message}` : text,
  );
  if (path !== undefined)
    console.error(
      `replay: npm run simulate -- --seed ${seed} --path ${path}${kind === 'memory' ? '' : ` --ledger ${kind}`} --trace all`,
    );
  process.exitCode = 1;
} finally {
  clearInterval(progress);
  for (const memory of traced)
    for (const e of memory.rawHistory)
      if (trace === 'all' || e.result.target === trace)
        console.log(
          `history ${e.recordedAt} ${e.id} ${e.trigger} ${e.schedule ?? e.override ?? ''} ${e.result.action} ${e.result.status} ${e.result.errorCode ?? ''} ${e.result.observed ?? ''} ${e.reason ?? ''}`,
        );
  await factory.close();
}
