import type { HistoryEntry } from '../../functions/engine/ledger.ts';

/**
 * A history entry as the tick records it: by default a VIAS stop that failed, at `recordedAt`;
 * `result` and the other fields override.
 */
export function historyEntry(
  id: string,
  result: Partial<HistoryEntry['result']> = {},
  extra: Partial<Omit<HistoryEntry, 'id' | 'result'>> = {},
): HistoryEntry {
  return {
    id,
    recordedAt: '2027-03-29T20:00:03.000Z',
    trigger: 'tick',
    schedule: 'office',
    ...extra,
    result: {
      target: 'face-search',
      kind: 'vias-task',
      action: 'stop',
      ok: false,
      status: 'failed',
      attempts: 1,
      durationMs: 1,
      ...result,
    },
  };
}

/** Waits (polling) until `check` holds; fails naming `what` after `timeoutMs`. */
export async function until(check: () => boolean, timeoutMs = 10_000, what = 'the condition'): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
