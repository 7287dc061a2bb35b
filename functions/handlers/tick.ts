import type { Context } from 'aws-lambda';
import { calendarDataEnding } from '../engine/calendar/holidays.ts';
import { activeOverrides, expiringOverrides } from '../engine/overrides.ts';
import { overridesSince, type ReconcileSummary, reconcile } from '../engine/reconcile.ts';
import { outOfSyncTargets } from '../engine/status.ts';
import { announceTick } from '../events/aws-tick-events.ts';
import { logEntry } from '../observability/log-fields.ts';
import { awsContext } from './aws-context.ts';
import { recordCalendarMetrics, recordResultMetrics } from './metrics.ts';

/** The input EventBridge Scheduler sends: `{"scheduledTime": "<aws.scheduler.scheduled-time>"}`. */
export interface TickEvent {
  scheduledTime: string;
}

export class TickInputError extends Error {
  override readonly name = 'TickInputError';
}

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
/** Kept back from the Lambda's remaining time for recording outcomes and publishing metrics. */
const SAFETY_MS = 2_000;
/** Past its own deadline a call may still land: a lease outlasts the invocation by this much. */
const LEASE_MARGIN_MS = 30_000;

export type TickResult = Omit<ReconcileSummary, 'entries'>;

/**
 * Brings every target to the state its schedules say (reconcile): DRS stops due in
 * (scheduledTime - 60 s, scheduledTime] happen once whatever the redeliveries, and every other
 * target is looked at when its desired state changed or is not yet reached. Never runs past its
 * own deadline: calls stop starting when the remaining time is short and the next tick continues.
 * Upstream failures are counted, not thrown; a config failure is thrown, so the retry policy and
 * the DLQ take it.
 */
export const handler = async (
  event: TickEvent,
  context?: Pick<Context, 'getRemainingTimeInMillis' | 'awsRequestId'>,
): Promise<TickResult> => {
  const scheduled = Date.parse(event?.scheduledTime ?? '');
  if (Number.isNaN(scheduled)) {
    throw new TickInputError(
      `the event must be {"scheduledTime": "<ISO 8601>"}, got ${JSON.stringify(event)?.slice(0, 200)}`,
    );
  }
  const ctx = awsContext();
  const { log, metrics } = ctx;
  log.logger.appendKeys({ correlationId: event.scheduledTime });
  const remainingMs = context ? () => context.getRemainingTimeInMillis() - SAFETY_MS : undefined;
  try {
    const to = Math.floor(scheduled / MINUTE) * MINUTE;
    const config = await ctx.config.get();
    const now = Math.max(to, Date.now());
    // Overrides beat every schedule: without them nothing may be decided, so a read failure throws.
    // Those ended since still judge a DRS end due in the evaluated minute, or owed since.
    const maxLatenessMs = ctx.settings.maxLatenessMinutes * MINUTE;
    const readOverrides = () => ctx.ledger.overrides(overridesSince(to - MINUTE, maxLatenessMs));
    const overrides = await readOverrides();
    const ledgerFailures: { target: string; error: string }[] = [];
    const summary = await reconcile({
      config,
      from: to - MINUTE,
      to,
      now,
      overrides,
      // Read again during the pass: an override acknowledged meanwhile stops calls within a second.
      refreshOverrides: readOverrides,
      clock: () => Math.max(now, Date.now()),
      ledger: ctx.ledger,
      upstream: ctx.upstream,
      owner: `lambda:${context?.awsRequestId ?? 'local'}`,
      onWarning: (warning) => log.warn(warning.code, { ...warning }),
      maxLatenessMs,
      ...(remainingMs ? { remainingMs, leaseMs: context!.getRemainingTimeInMillis() + LEASE_MARGIN_MS } : {}),
      onLedgerError: (error, target) => {
        ledgerFailures.push({ target, error: String(error) });
        log.error('ledger write failed: nothing is done on this target until it can record', {
          target,
          error: String(error),
        });
      },
    });
    // Upcoming changes, overrides ended, warnings: into the ledger's journal, never failing the tick.
    await announceTick(ctx.ledger, log, {
      config,
      from: to - MINUTE,
      to,
      now,
      overrides,
      warnings: summary.warnings,
      ledgerFailures,
    });
    for (const entry of summary.entries) logEntry(log, entry);
    recordResultMetrics(
      metrics,
      summary.entries.map((e) => e.result),
    );
    if (summary.ledgerErrors > 0) metrics.addMetric('LedgerErrors', 'Count', summary.ledgerErrors);
    if (summary.deferred > 0) metrics.addMetric('TargetsDeferred', 'Count', summary.deferred);
    if (summary.warnings.length > 0)
      metrics.addMetric(
        'StatusUnreadable',
        'Count',
        summary.warnings.filter((w) => w.code === 'status.unreadable').length,
      );
    // An account whose secret still holds the stack's placeholder: its targets were left alone.
    // Said once an hour per account (the metric is there every minute); never a failure.
    if (summary.secretsNotSet.length > 0)
      metrics.addMetric('SecretsNotSet', 'Count', summary.secretsNotSet.length);
    if (to % HOUR === 0)
      for (const warning of summary.secretsNotSet) log.warn('secret not set', { ...warning });
    const ending = calendarDataEnding(config, to);
    recordCalendarMetrics(metrics, ending.length);
    // Once an hour is enough to say it; the metric is there every minute.
    if (to % HOUR === 0)
      for (const warning of ending)
        log.warn('calendar data ending', {
          path: warning.path,
          until: warning.until,
          detail: warning.message,
        });
    for (const o of expiringOverrides(overrides, to - MINUTE, to))
      log.warn('override ending in 30 minutes: the schedules take over again at its until', {
        override: o.id,
        targets: o.targets,
        state: o.state,
        until: o.until,
        reason: o.reason,
      });
    metrics.addMetric('OverridesExpiring', 'Count', expiringOverrides(overrides, to - MINUTE, to).length);
    metrics.addMetric('OverridesActive', 'Count', activeOverrides(overrides, now).length);
    // A figure for the dashboard: failing to read it must not fail (and so redeliver) the tick.
    const outOfSync = await outOfSyncTargets(config, ctx.ledger, overrides, now).catch((error) => {
      log.warn('could not count targets out of sync', { error: String(error) });
      return undefined;
    });
    if (outOfSync) metrics.addMetric('TargetsOutOfSync', 'Count', outOfSync.length);
    const { entries: _entries, ...rest } = summary;
    log.info('tick', rest);
    return rest;
  } finally {
    metrics.publishStoredMetrics();
    log.logger.removeKeys(['correlationId']);
  }
};
