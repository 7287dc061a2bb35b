import type { PerformOptions } from './executor.ts';
import type { Ledger, SendingCall, TargetRecord } from './ledger.ts';

/**
 * The marks of calls being sent (`Ledger.markSending`), for both paths that make calls (the
 * scheduled pass and on-demand actions). A call's in-flight record is written before its request
 * goes out, so a process killed in between leaves a call in flight that was never made. With a
 * ledger that keeps marks, the mark is made in the same synchronous run as the request's write
 * to its connection: a call in flight whose process is gone and which has no mark was never
 * sent, and is dropped without an entry (instead of a false `OUTCOME_UNKNOWN` failure, and a
 * backoff before the call that is still owed).
 */

/** The upstream option that marks the sending of the calls a request carries, if the ledger keeps marks. */
export function markSending(
  ledger: Ledger,
  callOf: (index: number) => SendingCall,
): Pick<PerformOptions, 'onSending'> {
  if (!ledger.markSending) return {};
  return { onSending: (indexes) => ledger.markSending!(indexes.map(callOf)) };
}

/** A call's in-flight record, saying whether a missing mark will mean "never sent". */
export function withSendingMarked(record: TargetRecord, ledger: Ledger): TargetRecord {
  if (!ledger.markSending || !record.inFlight) return record;
  return { ...record, inFlight: { ...record.inFlight, marked: true } };
}

/**
 * Whether the record's call in flight is known never to have been sent: the ledger keeps marks
 * and has none for it, and its process is gone (a live one may be about to send it). Otherwise
 * the call is resolved by a status read, as one that may have been made.
 */
export async function neverSent(
  ledger: Ledger,
  record: TargetRecord | undefined,
  isOwnerGone: ((owner: string) => boolean) | undefined,
): Promise<boolean> {
  const flight = record?.inFlight;
  if (!flight?.marked || !ledger.sendingMarked || !isOwnerGone?.(flight.owner)) return false;
  try {
    return !(await ledger.sendingMarked({ target: record!.target, id: flight.id, owner: flight.owner }));
  } catch {
    // Cannot tell: resolved by status, as before marks.
    return false;
  }
}

/** The record as the look sees it when its call in flight was never sent: no call, no lease. */
export function withoutUnsentCall(record: TargetRecord): TargetRecord {
  return { ...record, inFlight: undefined, lease: undefined };
}
