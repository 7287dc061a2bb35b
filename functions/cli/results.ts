import type { ActionResult } from '../engine/executor.ts';
import { renderTable } from './table.ts';

/** Results as a table, one line per target, with a summary line. */
export function renderResults(results: readonly ActionResult[]): string {
  if (results.length === 0) return 'No targets.\n';
  const table = renderTable(
    ['Target', 'Kind', 'Action', 'Result', 'HTTP', 'Tries', 'Time', 'Error'],
    results.map((r) => [
      r.target,
      r.kind,
      r.action,
      r.status,
      r.httpStatus === undefined ? '-' : String(r.httpStatus),
      String(r.attempts),
      `${r.durationMs} ms`,
      r.ok ? '' : `${r.errorCode ?? ''} ${r.errorMessage ?? ''}`.trim(),
    ]),
  );
  const failed = results.filter((r) => !r.ok).length;
  return `${table}\n${results.length - failed} of ${results.length} succeeded${failed ? `, ${failed} failed` : ''}.\n`;
}
