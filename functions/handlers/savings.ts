import { MetricUnit } from '@aws-lambda-powertools/metrics';
import type { Context } from 'aws-lambda';
import { savingsReport } from '../engine/savings-report.ts';
import { awsContext } from './aws-context.ts';

/** The input EventBridge Scheduler sends: `{"scheduledTime": "<aws.scheduler.scheduled-time>"}`. */
export interface SavingsEvent {
  scheduledTime: string;
}

export class SavingsInputError extends Error {
  override readonly name = 'SavingsInputError';
}

const HOUR = 3_600_000;
/** How long one run holds its hour against a redelivery running at the same time. */
const IN_PROGRESS_MS = 5 * 60_000;

export interface SavingsMetricsResult {
  /** The hour published, `[from, to)`. */
  from: string;
  to: string;
  /** False when this hour was published already (a redelivery): nothing is sent twice. */
  published: boolean;
  targets: number;
  heldOffHours: number;
}

/**
 * Publishes `HoursHeldOff` for the hour before the scheduled time, once per hour whatever the
 * redeliveries: per target (dimension `target`) and in total, each the hours that target was
 * observed stopped or paused in that hour (0 to 1). A sum over any period is the hours held off
 * in it; the dashboard sums by day. Runs a few minutes past each hour, so the hour's last
 * outcomes are in the ledger.
 */
export const handler = async (
  event: SavingsEvent,
  _context?: Pick<Context, 'awsRequestId'>,
): Promise<SavingsMetricsResult> => {
  const scheduled = Date.parse(event?.scheduledTime ?? '');
  if (Number.isNaN(scheduled))
    throw new SavingsInputError(
      `the event must be {"scheduledTime": "<ISO 8601>"}, got ${JSON.stringify(event)?.slice(0, 200)}`,
    );
  const ctx = awsContext();
  const { log, metrics, ledger } = ctx;
  const to = Math.floor(scheduled / HOUR) * HOUR;
  const from = to - HOUR;
  const hour = new Date(from).toISOString();
  const result = { from: hour, to: new Date(to).toISOString() };
  // The idempotency store makes one delivery of the hour the publisher: a metric sent twice
  // would count the hour twice in every sum.
  const key = `savings-metrics#${hour}`;
  const begun = await ledger.beginIdempotent(key, 'HoursHeldOff', { inProgressMs: IN_PROGRESS_MS });
  if (begun.kind !== 'started') {
    log.info('hours held off: this hour is published already', { hour, state: begun.kind });
    return { ...result, published: false, targets: 0, heldOffHours: 0 };
  }
  let report: Awaited<ReturnType<typeof savingsReport>>;
  try {
    const config = await ctx.config.get();
    report = await savingsReport({ config, ledger, from, to, now: Math.max(to, Date.now()) });
  } catch (error) {
    // Nothing was sent: a retry may publish the hour.
    await ledger.abandonIdempotent(key).catch(() => undefined);
    throw error;
  }
  for (const target of report.targets) {
    const single = metrics.singleMetric(); // sent at once, with its own dimension
    single.addDimension('target', target.target);
    single.addMetric('HoursHeldOff', MetricUnit.NoUnit, target.heldOffHours);
  }
  metrics.addMetric('HoursHeldOff', MetricUnit.NoUnit, report.totals.heldOffHours);
  metrics.publishStoredMetrics();
  const published = {
    ...result,
    published: true,
    targets: report.targets.length,
    heldOffHours: report.totals.heldOffHours,
  };
  // Sent now: if the key cannot be completed it stays in progress (redeliveries within minutes
  // skip the hour) rather than be released and the hour counted twice.
  await ledger
    .completeIdempotent(key, { status: 200, body: JSON.stringify(published) })
    .catch((error: unknown) =>
      log.warn('hours held off sent, but not noted as sent', { hour, error: String(error) }),
    );
  log.info('hours held off published', published);
  return published;
};
