import type { ActionResult } from '../engine/executor.ts';
import { renderTable } from './table.ts';

/** Results as a table, one line per target, with a summary line. */
export function renderResults(results: readonly ActionResult[]): string {
  if (results.length === 0) return 'No targets.\n';
  const table = renderTable(
    ['Target', 'Kind', 'Action', 'Result', 'HTTP', 'Tries', 'Time', 'Error'],
    results.map((r) => [
      r.target,
      r.kind ?? '-',
      r.action,
      r.status,
      r.httpStatus === undefined ? '-' : String(r.httpStatus),
      String(r.attempts),
      `${r.durationMs} ms`,
      r.ok ? '' : errorText(r),
    ]),
  );
  const failed = results.filter((r) => !r.ok).length;
  const checked = results.filter((r) => r.status === 'dry-run').length;
  // A dry run calls nothing, so nothing "succeeded": say what was done.
  const summary =
    checked > 0 && checked + failed === results.length
      ? `${checked} of ${results.length} checked; dry run, nothing was called`
      : `${results.length - failed - checked} of ${results.length} succeeded`;
  return `${table}\n${summary}${failed ? `, ${failed} failed` : ''}.\n`;
}

/** The error of a result; the code is shown once even when the message already names it. */
function errorText(result: ActionResult): string {
  const message = result.errorMessage ?? '';
  if (!result.errorCode || message.includes(result.errorCode)) return message;
  return `${result.errorCode}: ${message}`;
}
