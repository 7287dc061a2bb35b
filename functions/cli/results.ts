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
  return `${table}\n${results.length - failed} of ${results.length} succeeded${failed ? `, ${failed} failed` : ''}.\n`;
}

/** The error of a result; the code is shown once even when the message already names it. */
function errorText(result: ActionResult): string {
  const message = result.errorMessage ?? '';
  if (!result.errorCode || message.includes(result.errorCode)) return message;
  return `${result.errorCode}: ${message}`;
}
