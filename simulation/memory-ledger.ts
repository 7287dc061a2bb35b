import { type MonthSummary, summarizeMonth } from '../functions/engine/held-off.ts';
import type {
  HistoryEntry,
  HistoryQuery,
  IdempotencyBegin,
  Ledger,
  OccurrenceKey,
  PageSession,
  RecordedCall,
  SendingCall,
  SignatureMemory,
  StoredAnswer,
  TargetRecord,
} from '../functions/engine/ledger.ts';
import { currentOverrides, type Override } from '../functions/engine/overrides.ts';
import {
  monthOf,
  type ObservationQuery,
  type ObservedMark,
  type OverrideSpan,
} from '../functions/engine/savings.ts';
import { processKey } from '../functions/stores/local-ledger.ts';

/**
 * The ledger contract in memory, for the simulation: compare-and-set on target versions, history
 * kept one entry per id on read (as the file and DynamoDB ledgers do), overrides. The simulation
 * injects its faults around it (a write that fails before or after it lands, a torn batch).
 */
export class MemoryLedger implements Ledger {
  readonly rawHistory: HistoryEntry[] = [];
  private readonly records = new Map<string, { version: number; json: string }>();
  private readonly overrideList = new Map<string, Override>();
  private readonly claims = new Set<string>();
  async claim(key: OccurrenceKey): Promise<boolean> {
    const id = `${key.at}|${key.schedule}|${key.action}|${key.target}`;
    if (this.claims.has(id)) return false;
    this.claims.add(id);
    return true;
  }

  async record(entries: readonly HistoryEntry[]): Promise<void> {
    if (entries.length === 0) return;
    this.rawHistory.push(...structuredClone(entries));
  }

  async history(options: HistoryQuery = {}): Promise<HistoryEntry[]> {
    const seen = new Set<string>();
    const out: HistoryEntry[] = [];
    for (const entry of this.rawHistory) {
      if (seen.has(entry.id)) continue;
      seen.add(entry.id);
      if (options.target !== undefined && entry.result.target !== options.target) continue;
      if (options.since !== undefined && Date.parse(entry.recordedAt) < options.since) continue;
      out.push(structuredClone(entry));
    }
    return options.limit === undefined ? out : out.slice(-options.limit);
  }

  async recordedEntries(calls: readonly RecordedCall[]): Promise<Map<string, HistoryEntry>> {
    const wanted = new Set(calls.map((call) => call.id));
    const found = new Map<string, HistoryEntry>();
    for (const entry of this.rawHistory)
      if (wanted.has(entry.id) && !found.has(entry.id)) found.set(entry.id, structuredClone(entry));
    return found;
  }

  async targets(names: readonly string[]): Promise<Map<string, TargetRecord>> {
    const found = new Map<string, TargetRecord>();
    for (const name of names) {
      const record = this.records.get(name);
      if (record) found.set(name, JSON.parse(record.json) as TargetRecord);
    }
    return found;
  }

  async putTarget(record: TargetRecord): Promise<boolean> {
    const stored = this.records.get(record.target);
    if ((stored?.version ?? 0) !== record.version - 1) return false;
    // Kept as JSON, as the file and DynamoDB ledgers keep it (no undefined fields, no sharing).
    this.records.set(record.target, { version: record.version, json: JSON.stringify(record) });
    return true;
  }

  async putOverride(override: Override): Promise<void> {
    this.spans.set(override.id, { ...override });
    this.overrideList.set(override.id, structuredClone(override));
  }

  async overrides(now: number): Promise<Override[]> {
    return currentOverrides([...this.overrideList.values()], now).map((o) => structuredClone(o));
  }

  async removeOverride(id: string): Promise<Override | undefined> {
    const found = this.overrideList.get(id);
    this.overrideList.delete(id);
    const span = this.spans.get(id);
    if (span) span.removedAt = new Date().toISOString();
    return found;
  }

  private readonly answers = new Map<string, { fingerprint: string; answer?: StoredAnswer }>();

  async beginIdempotent(key: string, fingerprint: string): Promise<IdempotencyBegin> {
    const found = this.answers.get(key);
    if (!found) {
      this.answers.set(key, { fingerprint });
      return { kind: 'started' };
    }
    if (found.fingerprint !== fingerprint) return { kind: 'mismatch' };
    return found.answer ? { kind: 'replay', answer: found.answer } : { kind: 'in-progress' };
  }

  async completeIdempotent(key: string, answer: StoredAnswer): Promise<void> {
    const found = this.answers.get(key);
    if (found) found.answer = answer;
  }

  async abandonIdempotent(key: string): Promise<void> {
    this.answers.delete(key);
  }

  private readonly signatures = new Map<string, string | undefined>();

  async rememberSignature(signature: string, options: { idempotencyKey?: string }): Promise<SignatureMemory> {
    if (this.signatures.has(signature)) {
      const key = this.signatures.get(signature);
      return key === undefined ? { seen: true } : { seen: true, idempotencyKey: key };
    }
    this.signatures.set(signature, options.idempotencyKey);
    return { seen: false };
  }

  // ---- savings: observed states and overrides kept beside the history ----
  private readonly marks: ObservedMark[] = [];
  private readonly spans = new Map<string, OverrideSpan>();

  async recordObservations(marks: readonly ObservedMark[]): Promise<void> {
    this.marks.push(...marks);
  }

  async observations(query: ObservationQuery): Promise<ObservedMark[]> {
    const wanted = (m: ObservedMark) => !query.targets || query.targets.includes(m.target);
    const before = new Map<string, ObservedMark>();
    const within: ObservedMark[] = [];
    for (const mark of this.marks.filter(wanted).sort((a, b) => a.at - b.at)) {
      if (mark.at < query.from) before.set(mark.target, mark);
      else if (mark.at < query.to) within.push(mark);
    }
    return [...before.values(), ...within];
  }

  async observedMonth(month: string, targets: ReadonlySet<string>): Promise<ObservedMark[]> {
    return this.marks.filter((m) => targets.has(m.target) && monthOf(m.at) === month);
  }

  async observedMonthSummary(
    month: string,
    targets: ReadonlySet<string>,
  ): Promise<Map<string, MonthSummary>> {
    return summarizeMonth(month, await this.observedMonth(month, targets));
  }

  async overridesBetween(from: number, to: number): Promise<OverrideSpan[]> {
    return [...this.spans.values()].filter(
      (o) => Date.parse(o.from) < to && Date.parse(o.removedAt ?? o.until) > from,
    );
  }

  // ---- page sessions and sign-in links (functions/page/) ----
  private readonly sessions = new Map<string, PageSession>();
  private readonly usedLinks = new Map<string, number>();

  async putSession(session: PageSession): Promise<void> {
    this.sessions.set(session.idHash, session);
  }

  async session(idHash: string, now: number): Promise<PageSession | undefined> {
    const session = this.sessions.get(idHash);
    return session && Date.parse(session.expiresAt) > now ? session : undefined;
  }

  async removeSession(idHash: string): Promise<void> {
    this.sessions.delete(idHash);
  }

  async useSignInLink(linkHash: string, expiresAt: number): Promise<boolean> {
    if (this.usedLinks.has(linkHash)) return false;
    this.usedLinks.set(linkHash, expiresAt);
    return true;
  }

  async signInLinkUsed(linkHash: string, now: number): Promise<boolean> {
    return (this.usedLinks.get(linkHash) ?? Number.NEGATIVE_INFINITY) >= now;
  }
}

/**
 * The memory ledger keeping marks of calls' sending, as the file ledger does (its `sending/`
 * journals, one per process): the path "no mark, so never sent, so no entry" is simulated here
 * exactly and replayably, which the file ledger's real I/O is not.
 */
export class MarkingMemoryLedger extends MemoryLedger {
  private readonly sendingMarks = new Set<string>();

  markSending(calls: readonly SendingCall[]): void {
    for (const call of calls) this.sendingMarks.add(markOf(call));
  }

  async sendingMarked(call: SendingCall): Promise<boolean> {
    return this.sendingMarks.has(markOf(call));
  }
}

/** A mark names its process: two processes deciding on one look derive the same call id. */
const markOf = (call: SendingCall): string => `${processKey(call.owner)}|${call.id}`;
