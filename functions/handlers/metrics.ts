import { type Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { ErrorCode } from '../engine/error-codes.ts';
import type { ActionResult } from '../engine/executor.ts';

/** EMF metrics for results: counts by outcome, and upstream latency by kind and action. */
export function recordResultMetrics(metrics: Metrics, results: readonly ActionResult[]): void {
  const missed = results.filter((r) => r.errorCode === ErrorCode.missed);
  const carried = results.filter((r) => r.errorCode !== ErrorCode.missed && r.status !== 'dry-run');
  metrics.addMetric('ActionsSucceeded', MetricUnit.Count, carried.filter((r) => r.ok).length);
  metrics.addMetric('ActionsFailed', MetricUnit.Count, carried.filter((r) => !r.ok).length);
  metrics.addMetric('ActionsMissed', MetricUnit.Count, missed.length);
  metrics.addMetric(
    'ActionsUnchanged',
    MetricUnit.Count,
    carried.filter((r) => r.status === 'unchanged').length,
  );
  for (const result of carried) {
    if (result.attempts === 0 || !result.kind) continue;
    const single = metrics.singleMetric();
    single.addDimension('kind', result.kind);
    single.addDimension('action', result.action);
    single.addMetric('UpstreamLatency', MetricUnit.Milliseconds, result.durationMs);
  }
}

/**
 * `CalendarDataEnding`: how many calendars in use have no holiday data for part of the next 60
 * days (the deployed document carries dates for a few years; China's are published a year at a
 * time). The stack alarms on it.
 */
export function recordCalendarMetrics(metrics: Metrics, ending: number): void {
  metrics.addMetric('CalendarDataEnding', MetricUnit.Count, ending);
}
