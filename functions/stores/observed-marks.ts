import type { HistoryEntry } from '../engine/ledger.ts';
import { isoMsAt, marksOf, OBSERVED_STATES, type ObservedMark } from '../engine/savings.ts';
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
  return `\n${new Date(mark.at).toISOString()} ${mark.state} ${mark.target}`;
}

/** The state word at `start` of `text` when it runs exactly to `end`, without cutting the text. */
export function stateAt(text: string, start: number, end: number): ObservedState | undefined {
  const state = BY_LENGTH_AND_FIRST.get((end - start) * 256 + text.charCodeAt(start));
  return state !== undefined && text.startsWith(state, start) ? state : undefined;
}

/** The states by length and first letter: each pair names one. */
const BY_LENGTH_AND_FIRST = new Map<number, ObservedState>(
  OBSERVED_STATES.map((state) => [state.length * 256 + state.charCodeAt(0), state]),
);

/**
 * The marks of one month's lines for the targets wanted (all without `wanted`). A line that does
 * not read as a mark (torn by a crash mid-write, or damaged) is left out: one observation less,
 * never a failed report.
 */
export function parseMarkLines(text: string, wanted?: ReadonlySet<string>): ObservedMark[] {
  const marks: ObservedMark[] = [];
  forEachMarkLine(text, wanted, (target, at, state) => marks.push({ target, at, state }));
  return marks;
}

/** `parseMarkLines` without making the marks: each is handed over as it is read, in file order. */
export function forEachMarkLine(
  text: string,
  wanted: ReadonlySet<string> | undefined,
  visit: (target: string, at: number, state: ObservedState) => void,
): void {
  let start = 0;
  while (start < text.length) {
    let next = text.indexOf('\n', start);
    if (next === -1) next = text.length;
    // A CR before the newline (the log saved by an editor on Windows) is no part of the name.
    const end = next > start && text.charCodeAt(next - 1) === 13 ? next - 1 : next;
    // `<24-character instant> <state> <target>`
    const second = start + 25 < end ? text.indexOf(' ', start + 25) : -1;
    if (text.charCodeAt(start + 24) === 32 && second !== -1 && second < end) {
      const target = text.slice(second + 1, end);
      if (wanted === undefined || wanted.has(target)) {
        const at = isoMsAt(text, start);
        const state = stateAt(text, start + 25, second);
        if (state !== undefined && !Number.isNaN(at)) visit(target, at, state);
      }
    }
    start = next + 1;
  }
}
