import type { HistoryEntry, TargetRecord } from '../functions/engine/ledger.ts';

export const PAGE_BENCH_KEY = 'page-bench-webhook-key-0123456789';
/** A Friday evening in March 2027: the week holds the Berlin DST change. */
export const PAGE_BENCH_NOW = Date.parse('2027-03-26T18:45:00Z');
export const PAGE_BENCH_TARGETS = 200;

const ZONES = ['Europe/Berlin', 'Asia/Shanghai', 'UTC', 'America/New_York', 'Asia/Kolkata'];
const KINDS = ['drs-job', 'vias-task', 'cpts-task', 'vias-batch-task'] as const;

/** 200 targets of four kinds in 20 groups, 40 schedules over five zones: windows, crons, a calendar. */
export function pageBenchDocument(): Record<string, unknown> {
  const targets: Record<string, unknown> = {};
  const groups: Record<string, string[]> = {};
  for (let i = 0; i < PAGE_BENCH_TARGETS; i++) {
    const kind = KINDS[i % KINDS.length]!;
    const name = `${kind.split('-')[0]}-${String(i).padStart(3, '0')}`;
    targets[name] =
      kind === 'drs-job'
        ? { account: 'prod', kind, jobId: `8d0e8e36-a618-490d-8a46-${String(i).padStart(10, '0')}jb` }
        : kind === 'vias-task'
          ? { account: 'prod', kind, taskId: `task-${i}` }
          : kind === 'cpts-task'
            ? { account: 'prod', kind, testSuiteId: i, taskId: i }
            : { account: 'prod', kind, batchTaskId: `batch-${i}` };
    const group = `team-${String(Math.floor(i / 10)).padStart(2, '0')}`;
    groups[group] = [...(groups[group] ?? []), name];
  }
  const names = Object.keys(targets);
  const schedules = Array.from({ length: 40 }, (_, s) => {
    const members = names.slice(s * 5, s * 5 + 5);
    const base = { id: `schedule-${s}`, targets: members, timezone: ZONES[s % ZONES.length] };
    if (s % 4 === 0) return { ...base, window: 'workdays 08:00-20:00', calendar: 'cn', skipDates: ['12-25'] };
    if (s % 4 === 1) return { ...base, window: 'Mon-Fri 07:30-19:00' };
    if (s % 4 === 2) return { ...base, window: 'Sat-Sun 22:00-06:00' };
    return {
      ...base,
      // DRS jobs have no start or stop to hold: the cron schedules take the other kinds.
      targets: members.filter((name) => !name.startsWith('drs-')),
      actions: [
        { do: 'start', cron: `${s % 60} 1 * * *` },
        { do: 'stop', cron: `${s % 60} 5 * * *` },
      ],
    };
  });
  return {
    version: 1,
    timezone: 'Asia/Shanghai',
    accounts: {
      prod: {
        region: 'cn-north-4',
        projectId: '054ba152d480d55b2f5dc0069e7ddef0',
        secret: 'nightshift/prod',
      },
    },
    targets,
    groups,
    calendars: { cn: { country: 'CN', extraHolidays: ['2027-03-26'] } },
    schedules,
  };
}

/** A record per target, as the tick leaves them: reached, or a few tries into a retry. */
export function pageBenchRecords(names: readonly string[]): TargetRecord[] {
  return names.map((target, i) => ({
    target,
    version: 1,
    desired: i % 2 === 0 ? 'running' : 'stopped',
    since: '2027-03-26T00:00:00Z',
    reached: i % 7 !== 0,
    tries: i % 7 === 0 ? 3 : 0,
    lastCheckAt: '2027-03-26T18:44:00Z',
    ...(i % 7 === 0 ? { nextCheckAt: '2027-03-26T18:48:00Z' } : {}),
    observed: i % 2 === 0 ? 'RUNNING' : 'STOPPED',
  }));
}

/** 2,000 history entries over the last days. */
export function pageBenchHistory(names: readonly string[]): HistoryEntry[] {
  return Array.from({ length: 2000 }, (_, i) => ({
    id: `bench-${i}`,
    recordedAt: new Date(PAGE_BENCH_NOW - (2000 - i) * 120_000).toISOString(),
    trigger: 'tick',
    schedule: `schedule-${i % 40}`,
    scheduledAt: new Date(PAGE_BENCH_NOW - (2000 - i) * 120_000).toISOString(),
    result: {
      target: names[i % names.length]!,
      action: i % 2 === 0 ? 'start' : 'stop',
      ok: i % 13 !== 0,
      status: i % 13 === 0 ? 'failed' : 'succeeded',
      attempts: 1,
      durationMs: 40,
    },
  }));
}
