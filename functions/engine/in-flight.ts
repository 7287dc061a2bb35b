import type { HistoryEntry, Ledger, TargetRecord } from './ledger.ts';
import { notSent } from './transition.ts';

/** Entries are recorded as the pass that made the call ends: a margin before its start. */
const LOOK_BACK_MS = 60_000;

/**
 * The history entries already recorded for calls records still hold in flight, by target.
 * History is written before the record, so a process that stopped (or failed a write) between
 * the two leaves a call whose outcome is known: it is settled from its entry, not guessed again
 * from status (which a kind without a status query, or a refused read, cannot give), and never
 * repeated. Rare (only records left in flight), so one history query per such target is fine.
 */
export async function recordedOutcomes(
  ledger: Pick<Ledger, 'history'>,
  records: readonly (TargetRecord | undefined)[],
): Promise<Map<string, HistoryEntry>> {
  const found = new Map<string, HistoryEntry>();
  await Promise.all(
    records.map(async (record) => {
      const flight = record?.inFlight;
      if (!flight) return;
      const since = Date.parse(flight.startedAt) - LOOK_BACK_MS;
      const entries = await ledger.history({ target: record.target, since });
      const entry = entries.find((e) => e.id === flight.id);
      if (entry) found.set(record.target, entry);
    }),
  );
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
