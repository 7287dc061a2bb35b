import type { Config } from '../functions/engine/config/schema.ts';
import { parseConfig } from '../functions/engine/config/validate.ts';
import { Planner } from '../functions/engine/planner.ts';
import { type BenchResult, timeIt } from './measure.ts';

const ZONES = [
  'UTC',
  'Europe/Berlin',
  'Europe/London',
  'America/New_York',
  'America/Los_Angeles',
  'Asia/Shanghai',
  'Asia/Kolkata',
  'Australia/Lord_Howe',
  'Australia/Sydney',
  'America/Sao_Paulo',
];

/** A deterministic config document of `count` schedules over ten zones, crons and windows mixed. */
export function syntheticDocument(count: number): Record<string, unknown> {
  const targets: Record<string, unknown> = {};
  for (let i = 0; i < 100; i++)
    targets[`task-${i}`] = { account: 'prod', kind: 'vias-task', taskId: `t${i}` };
  const schedules = [];
  for (let i = 0; i < count; i++) {
    const zone = ZONES[i % ZONES.length];
    const target = `task-${i % 100}`;
    const hour = (i * 7) % 24;
    const minute = (i * 13) % 60;
    const variant = i % 4;
    const base = { id: `schedule-${String(i).padStart(5, '0')}`, targets: [target], timezone: zone };
    if (variant === 0)
      schedules.push({ ...base, window: `Mon-Fri ${pad(hour)}:${pad(minute)}-${pad((hour + 9) % 24)}:00` });
    else if (variant === 1) {
      schedules.push({
        ...base,
        actions: [
          { do: 'start', cron: `${minute} ${hour} * * *` },
          { do: 'stop', cron: `${minute} ${(hour + 4) % 24} * * *` },
        ],
      });
    } else if (variant === 2)
      schedules.push({
        ...base,
        actions: [{ do: 'stop', cron: `*/15 ${hour % 20}-${(hour % 20) + 3} * * MON-FRI` }],
      });
    else
      schedules.push({
        ...base,
        skipDates: ['12-25'],
        actions: [{ do: 'start', cron: `${minute} ${hour} L * *` }],
      });
  }
  return {
    version: 1,
    accounts: { prod: { region: 'cn-north-4', projectId: 'p', secret: 's' } },
    targets,
    schedules,
  };
}

/** {@link syntheticDocument}, validated. */
export function syntheticConfig(count: number): Config {
  return parseConfig(syntheticDocument(count));
}

const pad = (n: number) => String(n).padStart(2, '0');

export function benchPlan(): BenchResult[] {
  let config!: Config;
  const validate = timeIt(() => {
    config = syntheticConfig(10_000);
  }, 3);
  const start = Date.parse('2027-03-22T00:00:00Z'); // a week holding Europe's spring-forward Sunday
  let planner!: Planner;
  const compile = timeIt(() => {
    planner = new Planner(config);
  }, 3);
  let rows = 0;
  let minute = 0;
  const oneMinute = timeIt(() => {
    rows += planner.due(start + minute * 60_000, start + (minute + 1) * 60_000).length;
    minute += 1;
  }, 600);
  let weekRows = 0;
  const week = timeIt(() => {
    weekRows = planner.due(start, start + 7 * 86_400_000).length;
  }, 3);
  return [
    {
      name: 'plan: validate a config of 10,000 schedules (zod + cross-checks)',
      value: validate.median,
      unit: 'ms',
    },
    { name: 'plan: compile 10,000 schedules in 10 zones', value: compile.median, unit: 'ms' },
    {
      name: 'plan: one one-minute evaluation over 10,000 schedules (median of 600 consecutive minutes)',
      value: oneMinute.median,
      unit: 'ms',
      budget: 20,
      detail: `p99 ${oneMinute.p99.toFixed(2)} ms, ${rows} rows over 600 minutes`,
    },
    {
      name: 'plan: seven-day plan over 10,000 schedules',
      value: week.median,
      unit: 'ms',
      budget: 2000,
      detail: `${weekRows} rows`,
    },
  ];
}
