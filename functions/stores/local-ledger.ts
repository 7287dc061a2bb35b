import { createHash, randomUUID } from 'node:crypto';
import {
  appendFile,
  link,
  mkdir,
  open,
  readdir,
  readFile,
  rename,
  rm,
  unlink,
  writeFile,
} from 'node:fs/promises';
import { join } from 'node:path';
import type {
  HistoryEntry,
  IdempotencyBegin,
  Ledger,
  OccurrenceKey,
  SignatureMemory,
  StoredAnswer,
  TargetRecord,
} from '../engine/ledger.ts';

const IDEMPOTENCY_TTL_MS = 24 * 3600_000;
const TARGET_VERSIONS_KEPT = 10;

const versionFile = (version: number): string => `${String(version).padStart(10, '0')}.json`;

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
 * - `signatures/<hash>.json`: HTTP request signatures seen within the signing window, so a
 *   replay is refused whichever process receives it; expired ones are pruned.
 */
export class FileLedger implements Ledger {
  private ready: Promise<void> | undefined;
  private readonly targetDirs = new Set<string>();
  private lastSignaturePrune = Number.NEGATIVE_INFINITY;

  constructor(
    readonly dir: string,
    private readonly now: () => number = Date.now,
  ) {}

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
    await this.init();
    // One write per line: O_APPEND keeps lines of concurrent processes whole.
    for (const entry of entries)
      await appendFile(join(this.dir, 'history.jsonl'), `${JSON.stringify(entry)}\n`);
  }

  async history(options: { limit?: number } = {}): Promise<HistoryEntry[]> {
    let text: string;
    try {
      text = await readFile(join(this.dir, 'history.jsonl'), 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw error;
    }
    const lines = text.split('\n').filter((line) => line.trim() !== '');
    const picked = options.limit === undefined ? lines : lines.slice(-options.limit);
    return picked.map((line) => JSON.parse(line) as HistoryEntry);
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

  async putTarget(record: TargetRecord): Promise<boolean> {
    await this.init();
    const dir = this.targetDir(record.target);
    if (!this.targetDirs.has(dir)) {
      await mkdir(dir, { recursive: true });
      this.targetDirs.add(dir);
    }
    const path = join(dir, versionFile(record.version));
    const tmp = `${path}.${process.pid}.${randomUUID()}.tmp`;
    await writeFile(tmp, JSON.stringify(record));
    try {
      await link(tmp, path);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
      throw error;
    } finally {
      await unlink(tmp).catch(() => undefined);
    }
    // The version replaced must have been the latest: a writer that read an older one, and linked
    // a version others had since written past and pruned, did not win.
    if ((await this.latestVersion(dir))! > record.version) {
      await rm(path, { force: true });
      return false;
    }
    // Older versions are only history of the record: keep a few for inspection.
    if (record.version > TARGET_VERSIONS_KEPT)
      await rm(join(dir, versionFile(record.version - TARGET_VERSIONS_KEPT)), { force: true }).catch(
        () => undefined,
      );
    return true;
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

  private async readTarget(name: string): Promise<TargetRecord | undefined> {
    const dir = this.targetDir(name);
    const latest = await this.latestVersion(dir);
    if (latest === undefined) return undefined;
    return JSON.parse(await readFile(join(dir, versionFile(latest)), 'utf8')) as TargetRecord;
  }

  async beginIdempotent(key: string, fingerprint: string): Promise<IdempotencyBegin> {
    await this.init();
    const path = this.idempotencyPath(key);
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        const handle = await open(path, 'wx');
        await handle.writeFile(JSON.stringify({ fingerprint, state: 'pending', createdAt: this.now() }));
        await handle.close();
        return { kind: 'started' };
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      }
      const existing = await this.readIdempotency(path);
      if (existing && this.now() - existing.createdAt > IDEMPOTENCY_TTL_MS) {
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

  private async readIdempotency(
    path: string,
  ): Promise<
    { fingerprint: string; state: 'pending' | 'done'; createdAt: number; answer?: StoredAnswer } | undefined
  > {
    try {
      return JSON.parse(await readFile(path, 'utf8'));
    } catch {
      // Created but not yet written by the other process: treat as in progress.
      return undefined;
    }
  }

  private init(): Promise<void> {
    this.ready ??= Promise.all([
      mkdir(join(this.dir, 'claims'), { recursive: true }),
      mkdir(join(this.dir, 'idempotency'), { recursive: true }),
      mkdir(join(this.dir, 'signatures'), { recursive: true }),
    ]).then(() => undefined);
    return this.ready;
  }
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
