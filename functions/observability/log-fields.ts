import { ErrorCode } from '../engine/error-codes.ts';
import type { ActionResult } from '../engine/executor.ts';
import type { HistoryEntry } from '../engine/ledger.ts';
import type { Log } from './log.ts';

/** The fields of one log line per action. */
export function logFields(result: ActionResult): Record<string, unknown> {
  return {
    target: result.target,
    kind: result.kind,
    action: result.action,
    result: result.status,
    ...(result.httpStatus === undefined ? {} : { httpStatus: result.httpStatus }),
    ...(result.errorCode === undefined ? {} : { upstreamCode: result.errorCode }),
    ...(result.errorMessage === undefined ? {} : { errorMessage: result.errorMessage }),
    attempts: result.attempts,
    durationMs: result.durationMs,
  };
}

/** One log line for a scheduled action: warn when missed, error when failed, info otherwise. */
export function logEntry(log: Log, entry: HistoryEntry): void {
  const fields = {
    trigger: entry.trigger,
    schedule: entry.schedule,
    // An action an override asked for names it: it has no schedule.
    override: entry.override,
    scheduledAt: entry.scheduledAt,
    late: entry.late ?? false,
    ...logFields(entry.result),
  };
  if (entry.result.errorCode === ErrorCode.missed) log.warn('missed', fields);
  else if (entry.result.ok) log.info('action', fields);
  else log.error('action failed', fields);
}
