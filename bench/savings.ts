import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { Config } from '../functions/engine/config/schema.ts';
import { parseConfig } from '../functions/engine/config/validate.ts';
import { desiredSpans } from '../functions/engine/desired.ts';
import type { Ledger } from '../functions/engine/ledger.ts';
import type { Override } from '../functions/engine/overrides.ts';
import { monthOf, type ObservedMark } from '../functions/engine/savings.ts';
import { type SavingsReport, savingsReport } from '../functions/engine/savings-report.ts';
import { DynamoLedger } from '../functions/stores/dynamodb-ledger.ts';
import { FileLedger } from '../functions/stores/local-ledger.ts';
import { buildCli } from '../scripts/build-cli.ts';
import { startDynalite } from '../test/helpers/dynalite.ts';
import { type BenchResult, median, timeItAsync, timeProcess } from './measure.ts';

const TARGETS = 500;
const FROM = Date.parse('2026-01-01T00:00:00Z');
const TO = Date.parse('2027-01-01T00:00:00Z');
const ZONES = ['Asia/Shanghai', 'Europe/Berlin', 'UTC', 'America/New_York', 'Asia/Kolkata'];

/** 500 targets (one in ten a DRS job) in 25 schedules over five zones: windows and nightly crons. */
function benchDocument(): Record<string, unknown> {
  const targets: Record<string, unknown> = {};
  const names: string[] = [];
  for (let i = 0; i < TARGETS; i++) {
    const name = `target-${String(i).padStart(3, '0')}`;
    names.push(name);
    // DRS jobs (pause at night) only where a window holds them: the nightly crons start and stop.
    targets[name] =
      i % 10 === 0 && Math.floor(i / 20) % 5 !== 4
        ? {
            account: 'prod',
            kind: 'drs-job',
            jobId: `00000000-0000-4000-8000-${String(i).padStart(10, '0')}jb`,
            cost: { perHour: 3, currency: 'CNY' },
          }
        : {
            account: 'prod',
            kind: 'vias-task',
            taskId: `task-${i}`,
            cost: { perHour: 1.5, currency: i % 3 ? 'CNY' : 'USD' },
          };
  }
  const schedules = [];
  for (let s = 0; s < 25; s++) {
    const members = names.slice(s * 20, s * 20 + 20);
    const base = { id: `schedule-${s}`, targets: members, timezone: ZONES[s % ZONES.length] };
    schedules.push(
      s % 5 === 4
        ? {
            ...base,
            actions: [
              { do: 'start', cron: '0 1 * * *' },
              { do: 'stop', cron: '0 5 * * *' },
            ],
          }
        : { ...base, window: `Mon-Fri 0${7 + (s % 3)}:00-20:00` },
    );
  }
  return {
    version: 1,
    accounts: { prod: { region: 'cn-north-4', projectId: 'p', secret: 's' } },
    targets,
    schedules,
  };
}

const benchConfig = (): Config => parseConfig(benchDocument());

/**
 * A year of observations as the ledger would hold them: each edge seen reached a minute after it,
 * and once a week per target a change by hand seen by an enforce check and undone 15 minutes
 * later; plus 200 overrides.
 */
function benchHistory(config: Config): { marks: ObservedMark[]; overrides: Override[] } {
  const marks: ObservedMark[] = [];
  const names = Object.keys(config.targets);
  for (const [target, spans] of desiredSpans(config, FROM - 86_400_000, TO)) {
    const offset = (names.indexOf(target) % 7) * 86_400_000 + 3 * 3_600_000;
    let week = FROM + offset;
    for (const span of spans) {
      if (!span.edge) continue;
      const start = Date.parse(span.from);
      marks.push({ target, at: start + 60_000, state: span.edge.state });
      // Once a week, started by hand inside an off span, seen and undone 15 minutes later.
      if (week < start) week += 7 * 86_400_000;
      if (week > start + 60_000 && week + 900_000 < Date.parse(span.to) && span.edge.state !== 'running') {
        marks.push({ target, at: week, state: 'running' });
        marks.push({ target, at: week + 900_000, state: span.edge.state });
      }
    }
  }
  marks.sort((a, b) => a.at - b.at);
  const overrides: Override[] = [];
  for (let i = 0; i < 200; i++) {
    const from = FROM + i * 43 * 3_600_000;
    overrides.push({
      id: `ovr-${String(i).padStart(8, '0')}`,
      targets: [names[(i * 37) % names.length]!],
      state: i % 2 ? 'running' : 'stopped',
      from: new Date(from).toISOString(),
      until: new Date(from + 6 * 3_600_000).toISOString(),
      reason: 'bench',
      createdAt: new Date(from).toISOString(),
    });
  }
  return { marks, overrides };
}

async function fill(ledger: Ledger, marks: readonly ObservedMark[], overrides: readonly Override[]) {
  // A month at a time, as a year of ticks would have written them.
  for (let i = 0; i < marks.length; ) {
    let j = i;
    const month = monthOf(marks[i]!.at);
    while (j < marks.length && monthOf(marks[j]!.at) === month) j++;
    await ledger.recordObservations(marks.slice(i, j));
    i = j;
  }
  for (const override of overrides) await ledger.putOverride(override);
}

/**
 * `nightshift savings` / `GET /v1/savings` over a year for 500 targets, from the local state
 * folder: the first answer over a history written just now (each month summarised as it
 * answers, engine/held-off.ts), the answers after it, and the first answer of a fresh process
 * (`nightshift savings --json`, the built CLI: Node starting, the config read and checked, the
 * planner compiled and the zones' offsets sampled, the summaries read); and one from DynamoDB on
 * dynalite (an in-memory imitation: its figure says the code path holds, not how fast DynamoDB is).
 */
export async function benchSavings(): Promise<BenchResult[]> {
  const config = benchConfig();
  const { marks, overrides } = benchHistory(config);
  const dir = mkdtempSync(join(tmpdir(), 'nightshift-bench-savings-'));
  const dynamo = await startDynalite();
  try {
    const state = join(dir, 'state');
    const file = new FileLedger(state, () => TO);
    await fill(file, marks, overrides);
    const answer = (ledger: Ledger, cfg: Config) =>
      savingsReport({ config: cfg, ledger, from: FROM, to: TO, now: TO });
    const fresh = benchConfig(); // a config object never seen: nothing compiled or cached for it
    const t0 = performance.now();
    const report = await answer(file, fresh);
    const first = performance.now() - t0;
    const warm = await timeItAsync(async () => void (await answer(file, fresh)), 5);

    const cli = await freshProcesses(dir, state, report);

    await dynamo.createTable('bench');
    const dynamoLedger = new DynamoLedger(dynamo.client, { tableName: 'bench', now: () => TO });
    await fill(dynamoLedger, marks, overrides);
    const t1 = performance.now();
    const fromDynamo = await answer(dynamoLedger, fresh);
    const dynalite = performance.now() - t1;
    if (JSON.stringify(fromDynamo) !== JSON.stringify(report))
      throw new Error('the DynamoDB ledger gave other savings figures than the local one');

    const detail = `${marks.length.toLocaleString('en')} observations, ${overrides.length} overrides, ${report.totals.heldOffHours.toFixed(0)} h held off of ${report.totals.plannedOffHours.toFixed(0)} h planned`;
    return [
      {
        name: 'savings: a year of history for 500 targets, local state folder (answers after the first)',
        value: warm.median,
        unit: 'ms',
        budget: 1000,
        detail,
      },
      {
        name: 'savings: the same, first answer over that history (its twelve months summarised as it answers)',
        value: first,
        unit: 'ms',
      },
      cli,
      {
        name: 'savings: the same from the DynamoDB ledger on dynalite (same figures; dynalite is not DynamoDB)',
        value: dynalite,
        unit: 'ms',
      },
    ];
  } finally {
    await dynamo.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

const RUNS = 3;

/** `nightshift savings --json` over the year in fresh processes of the built CLI, on the same state. */
async function freshProcesses(dir: string, state: string, expected: SavingsReport): Promise<BenchResult> {
  await buildCli();
  const configPath = join(dir, 'schedule.json');
  writeFileSync(configPath, JSON.stringify(benchDocument()));
  // The CLI's clock at the range's end, so that it counts the whole year as observed.
  const env = { ...process.env, NIGHTSHIFT_CLI: 'build', NIGHTSHIFT_CLOCK_START: new Date(TO).toISOString() };
  const args = ['bin/nightshift.mjs', 'savings', '--config', configPath, '--state', state, '--json'];
  const range = ['--from', new Date(FROM).toISOString(), '--to', new Date(TO).toISOString()];
  const node = timeProcess(['-e', '0'], env);
  const samples = Array.from({ length: RUNS }, () => timeProcess([...args, ...range], env));
  const { totals } = JSON.parse(samples[0]!.stdout) as SavingsReport;
  if (JSON.stringify(totals) !== JSON.stringify(expected.totals))
    throw new Error('nightshift savings gave other figures than the report in this process');
  return {
    name: `savings: the same, as nightshift savings --json in a fresh process, whole process (median of ${RUNS})`,
    value: median(samples.map((s) => s.wall)),
    unit: 'ms',
    budget: 1000,
    detail: `CPU ${median(samples.map((s) => s.cpu)).toFixed(0)} ms; node -e 0 alone: ${node.wall.toFixed(0)} ms wall; the config read and checked, the planner compiled and five zones' offsets sampled included`,
  };
}
