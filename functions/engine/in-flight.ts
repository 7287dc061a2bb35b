import type { HistoryEntry, Ledger, TargetRecord } from './ledger.ts';
import { notSent } from './transition.ts';

/**
 * The history entries already recorded for calls records still hold in flight, by target.
 * History is written before the record, so a process that stopped (or failed a write) between
 * the two leaves a call whose outcome is known: it is settled from its entry, not guessed again
 * from status (which a kind without a status query, or a refused read, cannot give), and never
 * repeated. One ledger lookup for them all: a pass asks this for each call it resolves.
 */
export async function recordedOutcomes(
  ledger: Pick<Ledger, 'recordedEntries'>,
  records: readonly (TargetRecord | undefined)[],
): Promise<Map<string, HistoryEntry>> {
  const calls = records.flatMap((record) =>
    record?.inFlight
      ? [{ target: record.target, id: record.inFlight.id, startedAt: record.inFlight.startedAt }]
      : [],
  );
  const found = new Map<string, HistoryEntry>();
  if (calls.length === 0) return found;
  const entries = await ledger.recordedEntries(calls);
  for (const call of calls) {
    const entry = entries.get(call.id);
    if (entry && entry.result.target === call.target) found.set(call.target, entry);
  }
  return found;
}

/**
 * A call's in-flight write failed, so the call is not sent; but the write may have landed (a
 * timeout after the store committed it). If it did, it is taken back, so no later look resolves
 * a call that was never made. Call ids are stable (two processes deciding on one look derive the
 * same id): the owner tells this write from a rival's that won, whose call is out.
 */
export async function withdrawInFlight(
  ledger: Pick<Ledger, 'targets' | 'putTarget'>,
  written: TargetRecord,
): Promise<void> {
  const stored = (await ledger.targets([written.target])).get(written.target);
  if (
    stored?.inFlight?.id !== written.inFlight?.id ||
    stored?.inFlight?.owner !== written.inFlight?.owner ||
    stored?.version !== written.version
  )
    return;
  await ledger.putTarget({ ...notSent(stored), version: stored.version + 1 });
}
