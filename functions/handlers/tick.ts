import { runTick, type TickSummary } from '../engine/tick.ts';
import { logEntry } from '../observability/log-fields.ts';
import { awsContext } from './aws-context.ts';
import { recordResultMetrics } from './metrics.ts';

/** The input EventBridge Scheduler sends: `{"scheduledTime": "<aws.scheduler.scheduled-time>"}`. */
export interface TickEvent {
  scheduledTime: string;
}

export class TickInputError extends Error {
  override readonly name = 'TickInputError';
}

const MINUTE = 60_000;

/**
 * Evaluates (scheduledTime - 60 s, scheduledTime] and carries out what is due, each occurrence at
 * most once whatever the redeliveries. Upstream failures are counted, not thrown (a throw makes
 * the scheduler deliver again); a config or ledger failure is thrown, so the retry policy and
 * the DLQ take it.
 */
export const handler = async (event: TickEvent): Promise<Omit<TickSummary, 'entries'>> => {
  const scheduled = Date.parse(event?.scheduledTime ?? '');
  if (Number.isNaN(scheduled)) {
    throw new TickInputError(
      `the event must be {"scheduledTime": "<ISO 8601>"}, got ${JSON.stringify(event)?.slice(0, 200)}`,
    );
  }
  const ctx = awsContext();
  const { log, metrics } = ctx;
  log.logger.appendKeys({ correlationId: event.scheduledTime });
  try {
    const to = Math.floor(scheduled / MINUTE) * MINUTE;
    const config = await ctx.config.get();
    const summary = await runTick({
      config,
      from: to - MINUTE,
      to,
      now: Date.now(),
      ledger: ctx.ledger,
      upstream: ctx.upstream,
      maxLatenessMs: ctx.settings.maxLatenessMinutes * MINUTE,
    });
    for (const entry of summary.entries) logEntry(log, entry);
    recordResultMetrics(
      metrics,
      summary.entries.map((e) => e.result),
    );
    const { entries: _entries, ...rest } = summary;
    log.info('tick', rest);
    return rest;
  } finally {
    metrics.publishStoredMetrics();
    log.logger.removeKeys(['correlationId']);
  }
};
