import type { HistoryEntry } from '../engine/ledger.ts';
import { marksOf, OBSERVED_STATES, type ObservedMark } from '../engine/savings.ts';
import type { ObservedState } from '../engine/states.ts';
import { stateOfStatusText } from '../huawei/status-map.ts';

/**
 * The observed states history entries carry, as the ledgers keep them for savings: written by
 * `record` beside the entries, so every path that records an outcome keeps its observation.
 */
export function observedMarks(entries: readonly HistoryEntry[]): ObservedMark[] {
  return marksOf(entries, stateOfStatusText);
}

/**
 * A mark as one line of the local ledger: `<instant> <state> <target>` (names have no spaces).
 * The newline goes first: a line torn by a crash mid-write then stays a line of its own instead
 * of swallowing the next one.
 */
export function markLine(mark: ObservedMark): string {
  return `\n${mark.at} ${mark.state} ${mark.target}`;
}

const STATES: ReadonlySet<string> = new Set(OBSERVED_STATES);
/** `2027-03-01T08:00:00.000Z`, as `toISOString` writes it (checked by shape: it is read often). */
const isIso = (at: string): boolean =>
  at.length === 24 && at[4] === '-' && at[10] === 'T' && at[19] === '.' && at[23] === 'Z';

/**
 * The marks of one month's lines for the targets wanted. A line that does not read as a mark (torn
 * by a crash mid-write, or damaged) is left out: one observation less, never a failed report.
 */
export function parseMarkLines(text: string, wanted: ReadonlySet<string>): ObservedMark[] {
  const marks: ObservedMark[] = [];
  let start = 0;
  while (start < text.length) {
    let end = text.indexOf('\n', start);
    if (end === -1) end = text.length;
    const first = text.indexOf(' ', start);
    const second = first === -1 || first > end ? -1 : text.indexOf(' ', first + 1);
    if (second !== -1 && second < end) {
      const target = text.slice(second + 1, end);
      if (wanted.has(target)) {
        const at = text.slice(start, first);
        const state = text.slice(first + 1, second);
        if (STATES.has(state) && isIso(at)) marks.push({ target, at, state: state as ObservedState });
      }
    }
    start = end + 1;
  }
  return marks;
}
