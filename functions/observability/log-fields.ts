import type { ActionResult } from '../engine/executor.ts';

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
