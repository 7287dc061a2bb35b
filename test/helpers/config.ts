import type { Config } from '../../functions/engine/config/schema.ts';
import { parseConfig } from '../../functions/engine/config/validate.ts';

/** Raw schedule fields as a user writes them. */
export type RawSchedule = Record<string, unknown> & { id: string };

export const baseTargets = {
  'face-search': { account: 'prod', kind: 'vias-task', taskId: 'task-1' },
  'night-batch': { account: 'prod', kind: 'vias-batch-task', batchTaskId: 'batch-1' },
  'orders-sync': { account: 'prod', kind: 'drs-job', jobId: 'c7debc9c-8e09-4a5d-8dd6-cc44f78jb20r' },
  'billing-sync': { account: 'prod', kind: 'drs-job', jobId: '8d0e8e36-a618-490d-8a46-8c61ac9jb502' },
  'load-test': { account: 'prod', kind: 'cpts-task', testSuiteId: 1, taskId: 1 },
};

export function rawConfig(
  schedules: RawSchedule[],
  extra: Record<string, unknown> = {},
): Record<string, unknown> {
  return {
    version: 1,
    accounts: {
      prod: {
        region: 'cn-north-4',
        projectId: '054ba152d480d55b2f5dc0069e7ddef0',
        secret: 'nightshift/prod',
      },
    },
    targets: baseTargets,
    groups: { replication: ['orders-sync', 'billing-sync'] },
    schedules,
    ...extra,
  };
}

export function configWith(schedules: RawSchedule[], extra: Record<string, unknown> = {}): Config {
  return parseConfig(rawConfig(schedules, extra));
}

/** A config with one cron rule on `face-search` in `zone`. */
export function cronConfig(cron: string, zone: string, more: Record<string, unknown> = {}): Config {
  return configWith([
    { id: 's', targets: ['face-search'], timezone: zone, actions: [{ do: 'start', cron }], ...more },
  ]);
}
