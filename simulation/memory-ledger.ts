import type {
  HistoryEntry,
  HistoryQuery,
  IdempotencyBegin,
  Ledger,
  OccurrenceKey,
  PageSession,
  SignatureMemory,
  StoredAnswer,
  TargetRecord,
} from '../functions/engine/ledger.ts';
import { currentOverrides, type Override } from '../functions/engine/overrides.ts';

/** A write the simulation may make fail (a full disk), or tear (part of a history batch lands). */
export type LedgerFault = 'enospc' | 'torn' | undefined;

/**
 * The ledger contract in memory, for the simulation: compare-and-set on target versions, history
 * kept one entry per id on read (as the file and DynamoDB ledgers do), overrides. Every write can
 * be made to fail, and a history batch to land in part, by `fault`. Synchronous inside: a write
 * that returns has landed, one that throws has not (or, torn, in part).
 */
export class MemoryLedger implements Ledger {
  readonly rawHistory: HistoryEntry[] = [];
  private readonly records = new Map<string, TargetRecord>();
  private readonly overrideList = new Map<string, Override>();
  private readonly claims = new Set<string>();
  /** Asked before each write. */
  fault: (op: string) => LedgerFault = () => undefined;

  private check(op: string): LedgerFault {
    const fault = this.fault(op);
    if (fault === 'enospc')
      throw Object.assign(new Error(`ENOSPC: no space left on device (${op})`), { code: 'ENOSPC' });
    return fault;
  }

  async claim(key: OccurrenceKey): Promise<boolean> {
    this.check('claim');
    const id = `${key.at}|${key.schedule}|${key.action}|${key.target}`;
    if (this.claims.has(id)) return false;
    this.claims.add(id);
    return true;
  }

  async record(entries: readonly HistoryEntry[]): Promise<void> {
    if (entries.length === 0) return;
    const fault = this.check('record');
    if (fault === 'torn') {
      // Part of the batch lands, then the write fails: the rest is retried by a later look.
      this.rawHistory.push(...structuredClone(entries.slice(0, Math.floor(entries.length / 2))));
      throw Object.assign(new Error('ENOSPC: a history write torn half way'), { code: 'ENOSPC' });
    }
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

  async targets(names: readonly string[]): Promise<Map<string, TargetRecord>> {
    const found = new Map<string, TargetRecord>();
    for (const name of names) {
      const record = this.records.get(name);
      if (record) found.set(name, structuredClone(record));
    }
    return found;
  }

  /** The stored record, without a copy's cost or any fault: for the simulation's own checks. */
  peek(name: string): TargetRecord | undefined {
    return this.records.get(name);
  }

  async putTarget(record: TargetRecord): Promise<boolean> {
    this.check('putTarget');
    const stored = this.records.get(record.target);
    if ((stored?.version ?? 0) !== record.version - 1) return false;
    this.records.set(record.target, structuredClone(record));
    return true;
  }

  async putOverride(override: Override): Promise<void> {
    this.check('putOverride');
    this.overrideList.set(override.id, structuredClone(override));
  }

  async overrides(now: number): Promise<Override[]> {
    return currentOverrides([...this.overrideList.values()], now).map((o) => structuredClone(o));
  }

  async removeOverride(id: string): Promise<Override | undefined> {
    this.check('removeOverride');
    const found = this.overrideList.get(id);
    this.overrideList.delete(id);
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
