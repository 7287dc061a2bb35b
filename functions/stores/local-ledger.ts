import { createHash, randomUUID } from 'node:crypto';
import { fstatSync, mkdirSync, openSync, writeSync } from 'node:fs';
import { link, mkdir, open, readdir, readFile, rename, rm, stat, unlink, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { MonthSummary } from '../engine/held-off.ts';
import {
  DEFAULT_IN_PROGRESS_MS,
  type HistoryEntry,
  type HistoryQuery,
  type IdempotencyBegin,
  type IdempotencyOptions,
  type Ledger,
  legacyEntryId,
  type OccurrenceKey,
  type PageSession,
  type RecordedCall,
  type SendingCall,
  type SignatureMemory,
  type StoredAnswer,
  type TargetRecord,
} from '../engine/ledger.ts';
import { currentOverrides, type Override, storedOverrideProblem } from '../engine/overrides.ts';
import {
  monthOf,
  type ObservationQuery,
  type ObservedMark,
  type OverrideSpan,
  overrideLogLine,
  overrideSpanOf,
  readObservations,
  spanIfOverlapping,
} from '../engine/savings.ts';
import type { CloudEvent } from '../events/cloudevent.ts';
import { appendEvents, type OutboxPosition, type OutboxRead, readOutbox } from '../notify/file-outbox.ts';
import { markLine, observedMarks, parseMarkLines } from './observed-marks.ts';
import { monthSummaries, readSavingsFile } from './observed-summaries.ts';

const IDEMPOTENCY_TTL_MS = 24 * 3600_000;
const TARGET_VERSIONS_KEPT = 10;
/**
 * A version file is removed only once it is this old: a writer that read the version before it
 * would have to have waited this long to link its number again. Removing younger ones raced: a
 * stale writer re-linked a freed number and won a version twice.
 */
const TARGET_VERSION_MIN_AGE_MS = 10 * 60_000;
/** Ended overrides stay a day, for a look at what was in force, then go. */
const OVERRIDE_KEEP_MS = 24 * 3600_000;

/** What a read found damaged, and where it was moved: for a log line and a metric. */
export interface Damage {
  /** The file that could not be read (for a history line: the history file). */
  path: string;
  /** Where the damaged bytes now are. */
  movedTo: string;
  reason: string;
}

/** A file that exists but cannot be parsed. */
class Unreadable extends Error {
  override readonly name = 'Unreadable';
}

/**
 * A state file's JSON object; `Unreadable` for anything else found in its place (a folder, bytes
 * that are not JSON, or JSON that is not an object: `null` or a number must never pass for a
 * record), so the caller moves it aside instead of failing every read after it.
 */
async function readJson<T>(path: string): Promise<T | undefined> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return undefined;
    if (code === 'EISDIR') throw new Unreadable('a folder, not a file', { cause: error });
    throw error;
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new Unreadable(`${text.length === 0 ? 'empty file' : (error as Error).message}`, { cause: error });
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw new Unreadable(
      `JSON that is not an object (${Array.isArray(value) ? 'an array' : String(value).slice(0, 20)})`,
    );
  return value as T;
}

/**
 * Writes a file whole and durably: its data is on disk (fsync) before the caller links or
 * renames it into place, so a power cut never leaves a named file with missing data.
 */
export async function writeDurably(path: string, data: string, flag = 'w'): Promise<void> {
  const handle = await open(path, flag);
  try {
    await handle.writeFile(data);
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Makes a folder's entries (a new name, a rename) durable. */
export async function syncFolder(dir: string): Promise<void> {
  let handle: Awaited<ReturnType<typeof open>> | undefined;
  try {
    handle = await open(dir, 'r');
    await handle.sync();
  } catch {
    // Platforms that cannot open or fsync a folder (Windows): the file's own fsync must do.
  } finally {
    await handle?.close();
  }
}

/** A process's journal of calls sent is kept this long after its last line (when no call of it is in flight). */
const SENDING_JOURNAL_KEEP_MS = 24 * 3600_000;

/** The process part of an owner id (`serve@host#...#random/tick-3` → `serve@host#...#random`). */
/** The process part of a lease owner (`<process>/<actor>`): a sending journal is per process. */
export const processKey = (owner: string): string => owner.split('/')[0]!;

const versionFile = (version: number): string => `${String(version).padStart(10, '0')}.json`;
/**
 * An entry that cannot be read (0 bytes: created, then the write failed on a full disk) is
 * another process between create and write only for a moment; older than this, it is debris.
 */
const UNREADABLE_GRACE_MS = 60_000;
/** Claims older than this can never be asked for again (catch-up looks back 24 hours at most). */
export const CLAIM_KEEP_DAYS = 7;
const ROTATE_LOCK_STALE_MS = 10 * 60_000;

export interface FileLedgerOptions {
  /** `history.jsonl` is rotated by `maintain` once larger than this. Default 10 MiB. */
  historyMaxBytes?: number;
  /**
   * Told of every file or history line found damaged: it was moved aside (to `damaged/`) and
   * the rest of the ledger goes on without it. For a log line naming it and a metric.
   */
  onDamage?: (damage: Damage) => void;
  /** Rotated files kept: `history.1.jsonl` (newest) ... `history.N.jsonl`. Default 5. */
  historyFiles?: number;
}

interface IdempotencyEntry {
  fingerprint: string;
  state: 'pending' | 'done';
  createdAt: number;
  /** For a pending entry: when it stops holding the key. */
  expiresAt?: number;
  answer?: StoredAnswer;
}

/** Expired signature files are removed at most this often. */
const SIGNATURE_PRUNE_INTERVAL_MS = 60_000;

/**
 * The ledger in a local folder, safe for several processes sharing it:
 * - `claims/<date>/<occurrence>`: one empty file per claimed occurrence, created with O_EXCL, so
 *   exactly one process succeeds (no read-then-write);
 * - `history.jsonl`: one JSON line per action, appended with O_APPEND;
 * - `idempotency/<hash>.json`: HTTP answers kept for repeats, created with O_EXCL too;
 * - `targets/<target>/<version>.json`: each version of a target's record, written whole to a
 *   temporary file and then hard-linked to its name, which fails if that version exists: a
 *   compare-and-set that never shows a half-written record;
 * - `sending/<process>.log`: per process start, the id of each call as its request is written to
 *   the connection, so that when a killed process leaves a call in flight, the next look knows
 *   whether it was ever sent; removed by upkeep a day after its last line once no record has a
 *   call of that process in flight;
 * - `signatures/<hash>.json`: HTTP request signatures seen within the signing window, so a
 *   replay is refused whichever process receives it; expired ones are pruned.
 * - `overrides/<id>.json`: one file per override, written whole and renamed into place, so every
 *   process reading the folder sees it complete or not at all; removed by `maintain` a day after
 *   it ends.
 */
export class FileLedger implements Ledger {
  private ready: Promise<void> | undefined;
  private readonly targetDirs = new Set<string>();
  private readonly historyMaxBytes: number;
  private readonly historyFiles: number;
  private readonly onDamage: ((damage: Damage) => void) | undefined;
  /** History lines already moved aside, by content hash: each is reported once per process. */
  private readonly damagedLines = new Set<string>();
  private lastSignaturePrune = Number.NEGATIVE_INFINITY;

  constructor(
    readonly dir: string,
    private readonly now: () => number = Date.now,
    options: FileLedgerOptions = {},
  ) {
    this.historyMaxBytes = options.historyMaxBytes ?? 10 * 1024 * 1024;
    this.historyFiles = options.historyFiles ?? 5;
    this.onDamage = options.onDamage;
  }

  /**
   * Moves a damaged file aside to `damaged/<folder>~<name>~<time>` and reports it. Whoever moves
   * it first reports it; a file already gone was moved by another process.
   */
  private async quarantine(path: string, reason: string): Promise<void> {
    const folder = join(this.dir, 'damaged');
    await mkdir(folder, { recursive: true });
    const movedTo = join(
      folder,
      `${basename(dirname(path))}~${basename(path)}~${new Date().toISOString().replace(/[:.]/g, '')}`,
    );
    try {
      await rename(path, movedTo);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw error;
    }
    await syncFolder(dirname(path));
    this.onDamage?.({ path, movedTo, reason });
  }

  async claim(key: OccurrenceKey): Promise<boolean> {
    await this.init();
    const day = join(this.dir, 'claims', key.at.slice(0, 10));
    await mkdir(day, { recursive: true });
    const name = [key.at.slice(11, 16).replace(':', ''), key.schedule, key.action, key.target]
      .map(encodeURIComponent)
      .join('~');
    try {
      const handle = await open(join(day, name), 'wx');
      await handle.close();
      return true;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
      throw error;
    }
  }

  async record(entries: readonly HistoryEntry[]): Promise<void> {
    if (entries.length === 0) return;
    await this.remakingFolders(() => this.append(entries));
  }

  private async append(entries: readonly HistoryEntry[]): Promise<void> {
    await this.init();
    // Savings: the observations first, so entries written always have theirs (a repeat is harmless).
    await this.recordObservations(observedMarks(entries));
    // One O_APPEND write for the whole batch: lines of concurrent processes never interleave,
    // and a tick over a thousand targets costs one write, not a thousand. It starts with a
    // newline: a line torn by a crash or a full disk then stays alone on its line, and the next
    // batch is not glued to it. It is on disk (fsync) before the records that follow it.
    const file = join(this.dir, 'history.jsonl');
    const lines = `\n${entries.map((e) => JSON.stringify(e)).join('\n')}\n`;
    try {
      await writeDurably(file, lines, 'a');
    } catch (error) {
      // A folder in its place: moved aside, and the history starts again beside it.
      if ((error as NodeJS.ErrnoException).code !== 'EISDIR') throw error;
      await this.quarantine(file, 'a folder where the history file should be');
      await writeDurably(file, lines, 'a');
    }
  }

  /** The newest entries across `history.jsonl` and its rotated files, oldest first. */
  async history(options: HistoryQuery = {}): Promise<HistoryEntry[]> {
    const unfiltered = options.target === undefined && options.since === undefined;
    let lines: string[] = [];
    for (const file of this.historyPaths()) {
      if (unfiltered && options.limit !== undefined && lines.length >= options.limit) break;
      const read = await this.historyLines(file);
      if (read) lines = [...read, ...lines];
    }
    const entries = await this.parseLines(lines);
    if (unfiltered) return options.limit === undefined ? entries : entries.slice(-options.limit);
    const since = options.since ?? Number.NEGATIVE_INFINITY;
    const matching = entries.filter(
      (entry) =>
        (options.target === undefined || entry.result.target === options.target) &&
        Date.parse(entry.recordedAt) >= since,
    );
    return options.limit === undefined ? matching : matching.slice(-options.limit);
  }

  /**
   * One read for many calls: history.jsonl, then the rotated files only while they may still
   * hold an entry recorded after the earliest call started (a file whose first entry is older
   * holds every later one there is).
   */
  async recordedEntries(calls: readonly RecordedCall[]): Promise<Map<string, HistoryEntry>> {
    const found = new Map<string, HistoryEntry>();
    if (calls.length === 0) return found;
    const wanted = new Set(calls.map((call) => call.id));
    const since = Math.min(...calls.map((call) => Date.parse(call.startedAt)));
    for (const file of this.historyPaths()) {
      const lines = await this.historyLines(file);
      if (!lines) continue;
      const entries = await this.parseLines(lines);
      for (const entry of entries)
        if (wanted.has(entry.id) && !found.has(entry.id)) found.set(entry.id, entry);
      const first = entries[0];
      if (found.size === wanted.size || (first && Date.parse(first.recordedAt) < since)) break;
    }
    return found;
  }

  /** `history.jsonl`, then its rotated files, newest first. */
  private historyPaths(): string[] {
    const files = [join(this.dir, 'history.jsonl')];
    for (let i = 1; i <= this.historyFiles; i++) files.push(this.rotatedPath(i));
    return files;
  }

  /** A history file's non-blank lines, or `undefined` when it does not exist. */
  private async historyLines(file: string): Promise<string[] | undefined> {
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'EISDIR') await this.quarantine(file, 'a folder where the history file should be');
      if (code === 'ENOENT' || code === 'EISDIR') return undefined;
      throw error;
    }
    return text.split('\n').filter((line) => line.trim() !== '');
  }

  /**
   * History lines as entries, oldest first, one per id (a write retried after a failure may have
   * appended an entry twice; the first is kept). A line that cannot be parsed (torn by a crash)
   * is copied aside to `damaged/` and reported once, and skipped.
   */
  private async parseLines(lines: readonly string[]): Promise<HistoryEntry[]> {
    const seen = new Set<string>();
    const entries: HistoryEntry[] = [];
    for (const line of lines) {
      let entry: HistoryEntry;
      try {
        entry = parseEntry(line);
      } catch (error) {
        await this.quarantineLine(line, (error as Error).message);
        continue;
      }
      if (seen.has(entry.id)) continue;
      seen.add(entry.id);
      entries.push(entry);
    }
    return entries;
  }

  private async quarantineLine(line: string, reason: string): Promise<void> {
    const hash = createHash('sha256').update(line).digest('hex').slice(0, 16);
    if (this.damagedLines.has(hash)) return;
    this.damagedLines.add(hash);
    const folder = join(this.dir, 'damaged');
    const movedTo = join(folder, `history-line~${hash}.txt`);
    try {
      await mkdir(folder, { recursive: true });
      // Written once: the line stays in the shared, append-only file until rotation drops it.
      await writeDurably(movedTo, line, 'wx');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'EEXIST') return;
      throw error;
    }
    this.onDamage?.({
      path: join(this.dir, 'history.jsonl'),
      movedTo,
      reason: `a history line that is not JSON: ${reason}`,
    });
  }

  async putOverride(override: Override): Promise<void> {
    await this.init();
    const dir = join(this.dir, 'overrides');
    await mkdir(dir, { recursive: true });
    const path = join(dir, `${encodeURIComponent(override.id)}.json`);
    const tmp = `${path}.${process.pid}.${randomUUID()}.tmp`;
    // Savings: kept first, so an override in force is always known to them.
    await this.keepOverrideForSavings(override);
    await writeDurably(tmp, JSON.stringify(override));
    await rename(tmp, path);
    await syncFolder(dir);
  }

  async overrides(now: number): Promise<Override[]> {
    const dir = join(this.dir, 'overrides');
    let names: string[];
    try {
      names = await readdir(dir);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw error;
    }
    const all: Override[] = [];
    for (const name of names) {
      if (!name.endsWith('.json')) continue;
      let override: Override | undefined;
      try {
        override = await readJson<Override>(join(dir, name));
        const problem = override && storedOverrideProblem(override);
        if (problem) throw new Unreadable(problem);
      } catch (error) {
        if (!(error instanceof Unreadable)) throw error;
        await this.quarantine(join(dir, name), `a damaged override file: ${error.message}`);
        continue;
      }
      if (override) all.push(override);
    }
    return currentOverrides(all, now);
  }

  /**
   * Removes override files ended more than a day ago, once they are a day old on disk too: a
   * read never removes one, so `serve`, which reads them mid-tick, still sees an override made
   * on another clock (already over when it was written) and says it was dropped.
   */
  private async pruneOverrides(): Promise<number> {
    const dir = join(this.dir, 'overrides');
    let names: string[];
    try {
      names = await readdir(dir);
    } catch {
      return 0;
    }
    let removed = 0;
    for (const name of names) {
      if (!name.endsWith('.json')) continue;
      const path = join(dir, name);
      const override = await readJson<Override>(path).catch(() => undefined);
      if (!override || Date.parse(override.until) >= this.now() - OVERRIDE_KEEP_MS) continue;
      if (!(await olderThan(path, OVERRIDE_KEEP_MS))) continue;
      await rm(path, { force: true }).catch(() => undefined);
      removed += 1;
    }
    return removed;
  }

  async removeOverride(id: string): Promise<Override | undefined> {
    const path = join(this.dir, 'overrides', `${encodeURIComponent(id)}.json`);
    let override: Override | undefined;
    try {
      override = await readJson<Override>(path);
    } catch (error) {
      if (!(error instanceof Unreadable)) throw error;
      await this.quarantine(path, `a damaged override file: ${error.message}`);
      return undefined;
    }
    if (!override) return undefined;
    await this.overrideRemovedForSavings(id);
    try {
      await unlink(path);
    } catch (error) {
      // Another process removed it first: it is theirs to report.
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw error;
    }
    return override;
  }

  async targets(names: readonly string[]): Promise<Map<string, TargetRecord>> {
    const found = new Map<string, TargetRecord>();
    await Promise.all(
      [...new Set(names)].map(async (name) => {
        const record = await this.readTarget(name);
        if (record) found.set(name, record);
      }),
    );
    return found;
  }

  /**
   * Runs a write once more, with every folder made again, when it found a folder gone (ENOENT):
   * the state folder deleted under a running `serve`. Folders are made once and remembered, so
   * without this every later write would fail until a restart. Safe to repeat: a write that met
   * ENOENT left nothing behind.
   */
  private async remakingFolders<T>(write: () => Promise<T>): Promise<T> {
    try {
      return await write();
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      this.targetDirs.clear();
      this.ready = undefined;
      this.savingsReady = undefined;
      return write();
    }
  }

  putTarget(record: TargetRecord): Promise<boolean> {
    return this.remakingFolders(() => this.linkTarget(record));
  }

  private async linkTarget(record: TargetRecord): Promise<boolean> {
    await this.init();
    const dir = this.targetDir(record.target);
    if (!this.targetDirs.has(dir)) {
      await mkdir(dir, { recursive: true });
      this.targetDirs.add(dir);
    }
    const path = join(dir, versionFile(record.version));
    const tmp = `${path}.${process.pid}.${randomUUID()}.tmp`;
    await writeDurably(tmp, JSON.stringify(record));
    try {
      await link(tmp, path);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
      throw error;
    } finally {
      await unlink(tmp).catch(() => undefined);
    }
    // The new name is on disk before anyone acts on it (a call is sent only after this write).
    await syncFolder(dir);
    // The version replaced must still be there: a writer that read an old version, and linked a
    // version number others had since written past and pruned, finds its predecessor pruned too.
    // (A newer version on top of ours is no loss: its writer read ours.)
    if (record.version > 1 && !(await exists(join(dir, versionFile(record.version - 1))))) {
      await rm(path, { force: true });
      return false;
    }
    // Older versions are only history of the record: keep a few, and none is removed young.
    if (record.version > TARGET_VERSIONS_KEPT)
      await this.pruneVersion(dir, record.version - TARGET_VERSIONS_KEPT);
    return true;
  }

  /** This process's journal of calls sent, by process: opened at its first mark, kept open. */
  private readonly journals = new Map<string, number>();

  /**
   * Notes the calls' ids in their process's journal, in one append. Synchronous on purpose: it is
   * called in the same synchronous run as the write of their request to the connection, so a
   * process killed at any instant has either not sent a call or has its line in the journal
   * (visible to every process at once; a power cut between the two is not covered).
   */
  markSending(calls: readonly SendingCall[]): void {
    if (calls.length === 0) return;
    const key = processKey(calls[0]!.owner);
    let fd = this.journals.get(key);
    // Removed by another process's upkeep while this one was quiet for a day: start it again.
    if (fd !== undefined && fstatSync(fd).nlink === 0) fd = undefined;
    if (fd === undefined) {
      mkdirSync(join(this.dir, 'sending'), { recursive: true });
      fd = openSync(this.journalPath(key), 'a');
      this.journals.set(key, fd);
    }
    writeSync(fd, calls.map((call) => `${call.id}\n`).join(''));
  }

  async sendingMarked(call: SendingCall): Promise<boolean> {
    let text: string;
    try {
      text = await readFile(this.journalPath(processKey(call.owner)), 'utf8');
    } catch (error) {
      // No journal: the process marked nothing (upkeep keeps the journal of a call in flight).
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false;
      throw error;
    }
    return text.split('\n').includes(call.id);
  }

  private journalPath(key: string): string {
    return join(this.dir, 'sending', `${encodeURIComponent(key)}.log`);
  }

  /**
   * Removes the journals of calls sent that nobody needs: quiet for a day, and no record has a
   * call of that process in flight (its journal is what resolves it).
   */
  private async pruneSending(inFlightProcesses: ReadonlySet<string>): Promise<number> {
    const folder = join(this.dir, 'sending');
    const names = await readdir(folder).catch(() => [] as string[]);
    let removed = 0;
    for (const name of names) {
      if (!name.endsWith('.log')) continue;
      const key = decodeURIComponent(name.slice(0, -'.log'.length));
      if (inFlightProcesses.has(key) || this.journals.has(key)) continue;
      if (!(await olderThan(join(folder, name), SENDING_JOURNAL_KEEP_MS))) continue;
      await rm(join(folder, name), { force: true });
      removed += 1;
    }
    return removed;
  }

  private async pruneVersion(dir: string, version: number): Promise<void> {
    const path = join(dir, versionFile(version));
    if (await olderThan(path, TARGET_VERSION_MIN_AGE_MS))
      await rm(path, { force: true }).catch(() => undefined);
  }

  /** Versions a busy record left behind (too young to remove when it moved past them). */
  /**
   * Versions a busy record left behind (too young to remove when it moved past them). Returns
   * the processes that have a call in flight on some target: their journals of calls sent stay.
   */
  private async pruneTargets(): Promise<Set<string>> {
    const inFlight = new Set<string>();
    let names: string[];
    try {
      names = await readdir(join(this.dir, 'targets'));
    } catch {
      return inFlight;
    }
    for (const name of names) {
      const dir = join(this.dir, 'targets', name);
      const latest = await this.latestVersion(dir);
      if (latest === undefined) continue;
      for (const file of await readdir(dir).catch(() => [] as string[])) {
        const match = /^(\d+)\.json$/.exec(file);
        if (match && Number(match[1]) <= latest - TARGET_VERSIONS_KEPT)
          await this.pruneVersion(dir, Number(match[1]));
      }
      const record = await this.readTarget(decodeURIComponent(name)).catch(() => undefined);
      if (record?.inFlight) inFlight.add(processKey(record.inFlight.owner));
    }
    return inFlight;
  }

  private targetDir(name: string): string {
    return join(this.dir, 'targets', encodeURIComponent(name));
  }

  private async latestVersion(dir: string): Promise<number | undefined> {
    let names: string[];
    try {
      names = await readdir(dir);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw error;
    }
    let latest: number | undefined;
    for (const file of names) {
      const match = /^(\d+)\.json$/.exec(file);
      if (match) latest = Math.max(latest ?? 0, Number(match[1]));
    }
    return latest;
  }

  /**
   * The latest version of a target's record. A version that cannot be parsed is moved aside and
   * the one before it read instead (the numbering goes on from it), or none: the target is then
   * reconciled from its status, and no other target waits for it.
   */
  private async readTarget(name: string): Promise<TargetRecord | undefined> {
    const dir = this.targetDir(name);
    for (;;) {
      let latest: number | undefined;
      try {
        latest = await this.latestVersion(dir);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'ENOTDIR') throw error;
        await this.quarantine(dir, "a file where the target's folder of records should be");
        return undefined;
      }
      if (latest === undefined) return undefined;
      const path = join(dir, versionFile(latest));
      try {
        const record = await readJson<TargetRecord>(path);
        if (record) return record;
      } catch (error) {
        if (!(error instanceof Unreadable)) throw error;
        await this.quarantine(path, `a damaged target record: ${error.message}`);
      }
    }
  }

  async beginIdempotent(
    key: string,
    fingerprint: string,
    options: IdempotencyOptions = {},
  ): Promise<IdempotencyBegin> {
    await this.init();
    const path = this.idempotencyPath(key);
    const inProgressMs = options.inProgressMs ?? DEFAULT_IN_PROGRESS_MS;
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        const handle = await open(path, 'wx');
        try {
          const entry: IdempotencyEntry = {
            fingerprint,
            state: 'pending',
            createdAt: this.now(),
            expiresAt: this.now() + inProgressMs,
          };
          await handle.writeFile(JSON.stringify(entry));
        } finally {
          await handle.close();
        }
        return { kind: 'started' };
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      }
      const existing = await this.readIdempotency(path);
      if (existing === undefined ? await olderThan(path, UNREADABLE_GRACE_MS) : this.expired(existing)) {
        await rm(path, { force: true });
        continue;
      }
      if (!existing || existing.state === 'pending') return { kind: 'in-progress' };
      if (existing.fingerprint !== fingerprint) return { kind: 'mismatch' };
      return { kind: 'replay', answer: existing.answer! };
    }
    return { kind: 'in-progress' };
  }

  async completeIdempotent(key: string, answer: StoredAnswer): Promise<void> {
    const path = this.idempotencyPath(key);
    const existing = await this.readIdempotency(path);
    const tmp = `${path}.${process.pid}.${this.now()}.tmp`;
    await writeFile(tmp, JSON.stringify({ ...existing, state: 'done', answer }));
    await rename(tmp, path);
  }

  async abandonIdempotent(key: string): Promise<void> {
    await rm(this.idempotencyPath(key), { force: true });
  }

  private expired(entry: IdempotencyEntry): boolean {
    const until =
      entry.state === 'pending'
        ? (entry.expiresAt ?? entry.createdAt + DEFAULT_IN_PROGRESS_MS)
        : entry.createdAt + IDEMPOTENCY_TTL_MS;
    return this.now() > until;
  }

  /**
   * Keeps the state folder bounded; `serve` runs it at start and hourly. Claims older than
   * `CLAIM_KEEP_DAYS` go, idempotency files older than their day go (by file time), overrides
   * ended a day ago go (once their file is a day old too), and
   * `history.jsonl` past `historyMaxBytes` becomes `history.1.jsonl` (older ones shift, at most
   * `historyFiles` kept).
   */
  async maintain(): Promise<{
    claimsRemoved: number;
    idempotencyRemoved: number;
    overridesRemoved: number;
    historyRotated: boolean;
    sendingJournalsRemoved: number;
  }> {
    const claimsRemoved = await this.pruneClaims(CLAIM_KEEP_DAYS);
    const idempotencyRemoved = await this.pruneIdempotency();
    const overridesRemoved = await this.pruneOverrides();
    const historyRotated = await this.rotateHistory();
    const inFlight = await this.pruneTargets();
    const sendingJournalsRemoved = await this.pruneSending(inFlight);
    return { claimsRemoved, idempotencyRemoved, overridesRemoved, historyRotated, sendingJournalsRemoved };
  }

  private async pruneIdempotency(): Promise<number> {
    const folder = join(this.dir, 'idempotency');
    let names: string[];
    try {
      names = await readdir(folder);
    } catch {
      return 0;
    }
    let removed = 0;
    for (const name of names) {
      // File time: a done entry is rewritten when its answer is kept, so its day starts then.
      if (await olderThan(join(folder, name), IDEMPOTENCY_TTL_MS + UNREADABLE_GRACE_MS)) {
        await rm(join(folder, name), { force: true });
        removed += 1;
      }
    }
    return removed;
  }

  private rotatedPath(i: number): string {
    return join(this.dir, `history.${i}.jsonl`);
  }

  private async rotateHistory(): Promise<boolean> {
    const current = join(this.dir, 'history.jsonl');
    const size = await stat(current).then(
      (s) => s.size,
      () => 0,
    );
    if (size <= this.historyMaxBytes) return false;
    // One rotator at a time among the processes sharing the folder; appenders open the file by
    // name for every line, so after the rename they start a new history.jsonl.
    const lock = join(this.dir, 'history.rotate.lock');
    if (await olderThan(lock, ROTATE_LOCK_STALE_MS)) await rm(lock, { force: true });
    try {
      await (await open(lock, 'wx')).close();
    } catch {
      return false;
    }
    try {
      const stillLarge = await stat(current).then(
        (s) => s.size > this.historyMaxBytes,
        () => false,
      );
      if (!stillLarge) return false;
      await rm(this.rotatedPath(this.historyFiles), { force: true });
      for (let i = this.historyFiles - 1; i >= 1; i--) {
        await rename(this.rotatedPath(i), this.rotatedPath(i + 1)).catch(() => undefined);
      }
      await rename(current, this.rotatedPath(1));
      return true;
    } finally {
      await rm(lock, { force: true });
    }
  }

  async rememberSignature(
    signature: string,
    options: { idempotencyKey?: string; expiresAt: number },
  ): Promise<SignatureMemory> {
    await this.init();
    await this.pruneSignatures();
    const path = join(this.dir, 'signatures', `${createHash('sha256').update(signature).digest('hex')}.json`);
    const content = JSON.stringify({
      expiresAt: options.expiresAt,
      ...(options.idempotencyKey === undefined ? {} : { idempotencyKey: options.idempotencyKey }),
    });
    for (let attempt = 0; attempt < 2; attempt++) {
      // Written whole to a private file, then linked into place: link fails when the name exists,
      // so exactly one process wins, and nobody ever reads a half-written entry.
      const tmp = `${path}.${process.pid}.${randomUUID()}.tmp`;
      await writeFile(tmp, content);
      try {
        await link(tmp, path);
        return { seen: false };
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      } finally {
        await rm(tmp, { force: true });
      }
      const existing = await readSignature(path);
      if (existing && existing.expiresAt < this.now()) {
        await rm(path, { force: true });
        continue;
      }
      return existing?.idempotencyKey === undefined
        ? { seen: true }
        : { seen: true, idempotencyKey: existing.idempotencyKey };
    }
    return { seen: true };
  }

  /** Removes signature files past their expiry; at most once a minute per instance. */
  private async pruneSignatures(): Promise<void> {
    if (this.now() - this.lastSignaturePrune < SIGNATURE_PRUNE_INTERVAL_MS) return;
    this.lastSignaturePrune = this.now();
    const dir = join(this.dir, 'signatures');
    for (const name of await readdir(dir)) {
      if (!name.endsWith('.json')) continue;
      const entry = await readSignature(join(dir, name));
      if (entry && entry.expiresAt < this.now()) await rm(join(dir, name), { force: true });
    }
  }

  /** Removes claims of days older than `days` (history stays). */
  async pruneClaims(days: number): Promise<number> {
    const cutoff = new Date(this.now() - days * 86_400_000).toISOString().slice(0, 10);
    let removed = 0;
    let entries: string[] = [];
    try {
      entries = await readdir(join(this.dir, 'claims'));
    } catch {
      return 0;
    }
    for (const day of entries) {
      if (day < cutoff) {
        await rm(join(this.dir, 'claims', day), { recursive: true, force: true });
        removed += 1;
      }
    }
    return removed;
  }

  private idempotencyPath(key: string): string {
    return join(this.dir, 'idempotency', `${createHash('sha256').update(key).digest('hex')}.json`);
  }

  private async readIdempotency(path: string): Promise<IdempotencyEntry | undefined> {
    try {
      return await readJson<IdempotencyEntry>(path);
    } catch {
      // Created but not yet written by the other process, or a write that failed: the caller
      // judges it by its file time.
      return undefined;
    }
  }

  private init(): Promise<void> {
    this.ready ??= Promise.all([
      mkdir(join(this.dir, 'claims'), { recursive: true }),
      mkdir(join(this.dir, 'idempotency'), { recursive: true }),
      mkdir(join(this.dir, 'signatures'), { recursive: true }),
    ]).then(
      () => undefined,
      (error: unknown) => {
        // Forget a failed set-up, so the next call tries again once the folder is fixed.
        this.ready = undefined;
        throw error;
      },
    );
    return this.ready;
  }

  // ---- savings (engine/savings.ts): observed states and overrides, kept beside the history ----
  // `savings/observed-<YYYY-MM>.log`: a line per observation, `<instant> <state> <target>`,
  // appended like the history (newline first), by month of the instant; `savings/overrides.jsonl`: each override
  // as created, and `{"id", "removedAt"}` when removed. Neither rotates: a year of 500 targets
  // with three observations a day is about 20 MB.

  async recordObservations(marks: readonly ObservedMark[]): Promise<void> {
    if (marks.length === 0) return;
    const dir = await this.savingsDir();
    const byMonth = new Map<string, string>();
    for (const mark of marks) {
      const month = monthOf(mark.at);
      byMonth.set(month, (byMonth.get(month) ?? '') + markLine(mark));
    }
    // One O_APPEND write per month file: concurrent processes never interleave their lines.
    await Promise.all(
      [...byMonth].map(([month, text]) => writeDurably(join(dir, `observed-${month}.log`), text, 'a')),
    );
  }

  observations(query: ObservationQuery): Promise<ObservedMark[]> {
    return readObservations(query, (month, wanted) => this.observedMonth(month, wanted));
  }

  async observedMonth(month: string, targets: ReadonlySet<string>): Promise<ObservedMark[]> {
    const text = await readSavingsFile(this.observedLog(month));
    return text === undefined ? [] : parseMarkLines(text, targets);
  }

  // `savings/observed-<YYYY-MM>.summary`: the month's summaries, kept once it is over and made
  // again whenever its log has changed since (stores/observed-summaries.ts).
  observedMonthSummary(month: string, targets: ReadonlySet<string>): Promise<Map<string, MonthSummary>> {
    const summary = join(this.dir, 'savings', `observed-${month}.summary`);
    return monthSummaries({ log: this.observedLog(month), summary }, month, targets, this.now());
  }

  private observedLog(month: string): string {
    return join(this.dir, 'savings', `observed-${month}.log`);
  }

  async overridesBetween(from: number, to: number): Promise<OverrideSpan[]> {
    const text = await readSavingsFile(join(this.dir, 'savings', 'overrides.jsonl'));
    if (text === undefined) return [];
    const byId = new Map<string, OverrideSpan>();
    const removals = new Map<string, string>();
    for (const line of text.split('\n')) {
      if (line.trim() === '') continue;
      let read: ReturnType<typeof overrideLogLine>;
      try {
        read = overrideLogLine(JSON.parse(line));
      } catch {
        continue; // torn by a crash mid-write: that line only
      }
      if (!read) continue; // damaged into other JSON: that line only
      if ('removed' in read) {
        const { id, removedAt } = read.removed;
        const earlier = removals.get(id);
        // Two processes removing at once: the first removal ended it.
        if (!earlier || removedAt < earlier) removals.set(id, removedAt);
      } else byId.set(read.span.id, read.span);
    }
    const spans: OverrideSpan[] = [];
    for (const [id, span] of byId) {
      const kept = spanIfOverlapping(span, removals.get(id), from, to);
      if (kept) spans.push(kept);
    }
    return spans;
  }

  private async keepOverrideForSavings(override: Override): Promise<void> {
    const span = overrideSpanOf(override);
    // The newline first, as for marks: a line torn by a crash never swallows the next.
    await writeDurably(join(await this.savingsDir(), 'overrides.jsonl'), `\n${JSON.stringify(span)}`, 'a');
  }

  private async overrideRemovedForSavings(id: string): Promise<void> {
    const line = JSON.stringify({ id, removedAt: new Date(this.now()).toISOString() });
    await writeDurably(join(await this.savingsDir(), 'overrides.jsonl'), `\n${line}`, 'a');
  }

  private savingsReady: Promise<string> | undefined;

  private savingsDir(): Promise<string> {
    const dir = join(this.dir, 'savings');
    this.savingsReady ??= mkdir(dir, { recursive: true }).then(
      () => dir,
      (error: unknown) => {
        this.savingsReady = undefined;
        throw error;
      },
    );
    return this.savingsReady;
  }

  // ---- events (notifications): the event journal beside the history, both read as an outbox ----

  /**
   * Appends events that are not history entries (upcoming changes, overrides ended, warnings) to
   * `events.jsonl`; the notifier delivers them with the history's outcomes.
   */
  async appendEvents(events: readonly CloudEvent[]): Promise<void> {
    if (events.length === 0) return;
    await this.init();
    await appendEvents(this.dir, events);
  }

  /** The history entries and journal events appended since `from` (see `notify/file-outbox.ts`). */
  readOutbox(from: OutboxPosition | undefined): Promise<OutboxRead> {
    return readOutbox(this.dir, this.historyFiles, from);
  }

  // ---- page sessions and sign-in links (functions/page/) ----
  // `page-sessions/<idHash>.json`: one file per session, written whole and renamed into place.
  // `signin-links/<linkHash>.json`: one file per used link, linked into place so exactly one
  // process wins. Expired files of both go as later calls pass, at most once a minute.

  private lastPageStatePrune = Number.NEGATIVE_INFINITY;

  async putSession(session: PageSession): Promise<void> {
    const dir = join(this.dir, 'page-sessions');
    await mkdir(dir, { recursive: true });
    await this.prunePageState();
    const path = join(dir, `${hexName(session.idHash)}.json`);
    const tmp = `${path}.${process.pid}.${randomUUID()}.tmp`;
    await writeFile(tmp, JSON.stringify(session), { mode: 0o600 });
    await rename(tmp, path);
  }

  async session(idHash: string, now: number): Promise<PageSession | undefined> {
    const session = await readJson<PageSession>(
      join(this.dir, 'page-sessions', `${hexName(idHash)}.json`),
    ).catch(() => undefined);
    if (!session || Date.parse(session.expiresAt) <= now) return undefined;
    return session;
  }

  async removeSession(idHash: string): Promise<void> {
    await rm(join(this.dir, 'page-sessions', `${hexName(idHash)}.json`), { force: true });
  }

  async useSignInLink(linkHash: string, expiresAt: number): Promise<boolean> {
    const dir = join(this.dir, 'signin-links');
    await mkdir(dir, { recursive: true });
    await this.prunePageState();
    const path = join(dir, `${hexName(linkHash)}.json`);
    const tmp = `${path}.${process.pid}.${randomUUID()}.tmp`;
    await writeFile(tmp, JSON.stringify({ expiresAt }));
    try {
      await link(tmp, path);
      return true;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
      throw error;
    } finally {
      await rm(tmp, { force: true });
    }
  }

  async signInLinkUsed(linkHash: string, now: number): Promise<boolean> {
    const entry = await readJson<{ expiresAt: number }>(
      join(this.dir, 'signin-links', `${hexName(linkHash)}.json`),
    ).catch(() => undefined);
    return entry !== undefined && entry.expiresAt >= now;
  }

  /** Removes expired sessions and used links past their link's expiry; at most once a minute. */
  private async prunePageState(): Promise<void> {
    if (this.now() - this.lastPageStatePrune < SIGNATURE_PRUNE_INTERVAL_MS) return;
    this.lastPageStatePrune = this.now();
    for (const [folder, expiry] of [
      ['page-sessions', (v: PageSession) => Date.parse(v.expiresAt)],
      ['signin-links', (v: { expiresAt: number }) => v.expiresAt],
    ] as const) {
      let names: string[];
      try {
        names = await readdir(join(this.dir, folder));
      } catch {
        continue;
      }
      for (const name of names) {
        if (!name.endsWith('.json')) continue;
        const value = await readJson<never>(join(this.dir, folder, name)).catch(() => undefined);
        if (value !== undefined && expiry(value) < this.now())
          await rm(join(this.dir, folder, name), { force: true });
      }
    }
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}

/** Whether the file exists and was last written more than `ms` ago (real clock: file times are). */
async function olderThan(path: string, ms: number): Promise<boolean> {
  try {
    return Date.now() - (await stat(path)).mtimeMs > ms;
  } catch {
    return false;
  }
}

/** A history line as an entry; a line written before entries had ids gets one from its text. */
function parseEntry(line: string): HistoryEntry {
  const entry = JSON.parse(line) as HistoryEntry;
  entry.id ??= legacyEntryId(line);
  return entry;
}

async function readSignature(
  path: string,
): Promise<{ expiresAt: number; idempotencyKey?: string } | undefined> {
  try {
    return JSON.parse(await readFile(path, 'utf8'));
  } catch {
    // Removed meanwhile by another process's prune, or unreadable: nothing to go by.
    return undefined;
  }
}

/** A hash as a file name: only hex digits, so no value can reach outside its folder. */
function hexName(hash: string): string {
  if (!/^[0-9a-f]{64}$/.test(hash)) throw new Error('a page session or link hash must be 64 hex digits');
  return hash;
}
