import { randomUUID } from 'node:crypto';
import { mkdir, open, readdir, readFile, rename, rm, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { type CloudEvent, isCloudEvent } from '../events/cloudevent.ts';
import type { DeliveryStore, PendingEvent, SinkGate, Turn } from './dispatch.ts';

/** Sent markers are kept this long (real time): long enough to refuse any repeat of an event. */
const SENT_KEEP_MS = 48 * 3600_000;

/** Writes a file whole and durably: a temporary file, fsync, rename into place. */
export async function writeDurably(path: string, text: string): Promise<void> {
  const tmp = `${path}.${process.pid}.${randomUUID()}.tmp`;
  const handle = await open(tmp, 'w', 0o600);
  try {
    await handle.writeFile(text);
    await handle.sync();
  } finally {
    await handle.close();
  }
  await rename(tmp, path);
}

/** fsync of a folder, so the names created or removed in it survive a crash. */
export async function syncDir(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } catch {
    // Some file systems refuse fsync on a folder; the files themselves were synced.
  } finally {
    await handle.close();
  }
}

async function readJson<T>(path: string): Promise<T | undefined> {
  try {
    return JSON.parse(await readFile(path, 'utf8')) as T;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    if (error instanceof SyntaxError) return undefined;
    throw error;
  }
}

async function names(dir: string): Promise<string[]> {
  try {
    return await readdir(dir);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
}

const fileId = (id: string) => encodeURIComponent(id);
const pendingName = (at: number, id: string) =>
  `${String(Math.max(0, Math.floor(at))).padStart(15, '0')}-${fileId(id)}.json`;
const idOfPending = (name: string) => decodeURIComponent(name.slice(16, -'.json'.length));

/**
 * The delivery store in the state folder, `DIR/notify/sinks/<sink>/`:
 * - `pending/<enqueuedAt>-<id>.json`: an event waiting for the sink (oldest first by name);
 * - `sent/<id>`: an empty marker per event the sink got, kept two days, so a repeat is refused;
 * - `gate.json`: when the next message may go, the failures in a row and the last problem;
 * - `dead/<id>.json`: events given up (past 24 hours, or the sink left the config), with why.
 * One process at a time writes it (the notifier holds the folder's lease).
 */
export class FileDeliveryStore implements DeliveryStore {
  constructor(readonly dir: string) {}

  private sinkDir(sink: string): string {
    return join(this.dir, 'sinks', encodeURIComponent(sink));
  }

  async enqueue(sink: string, events: readonly CloudEvent[], now: number): Promise<string[]> {
    if (events.length === 0) return [];
    const dir = this.sinkDir(sink);
    const pendingDir = join(dir, 'pending');
    await mkdir(pendingDir, { recursive: true });
    const waiting = new Set((await names(pendingDir)).filter((n) => n.endsWith('.json')).map(idOfPending));
    const added: string[] = [];
    for (const event of events) {
      if (waiting.has(event.id) || added.includes(event.id)) continue;
      if (await exists(join(dir, 'sent', fileId(event.id)))) continue;
      const entry: PendingEvent = { event, enqueuedAt: now };
      await writeDurably(join(pendingDir, pendingName(now, event.id)), JSON.stringify(entry));
      added.push(event.id);
    }
    if (added.length > 0) await syncDir(pendingDir);
    return added;
  }

  async pending(sink: string, limit: number): Promise<PendingEvent[]> {
    const pendingDir = join(this.sinkDir(sink), 'pending');
    const files = (await names(pendingDir)).filter((n) => n.endsWith('.json')).sort();
    const out: PendingEvent[] = [];
    for (const name of files) {
      if (out.length >= limit) break;
      const entry = await readJson<PendingEvent>(join(pendingDir, name));
      if (entry && isCloudEvent(entry.event)) out.push(entry);
      else await this.quarantine(pendingDir, name);
    }
    return out;
  }

  /** A pending file that cannot be read is moved aside (named in the dead folder), never retried. */
  private async quarantine(pendingDir: string, name: string): Promise<void> {
    const dead = join(pendingDir, '..', 'dead');
    await mkdir(dead, { recursive: true });
    await rename(join(pendingDir, name), join(dead, `unreadable-${name}`)).catch(() => undefined);
  }

  async claimTurn(sink: string, _owner: string, now: number): Promise<Turn> {
    const gate = (await readJson<SinkGate>(join(this.sinkDir(sink), 'gate.json'))) ?? { failures: 0 };
    if (gate.notBefore !== undefined && gate.notBefore > now) return { ok: false, notBefore: gate.notBefore };
    return { ok: true, gate };
  }

  async endTurn(
    sink: string,
    _owner: string,
    sent: readonly string[],
    gate: SinkGate,
    _now: number,
  ): Promise<void> {
    const dir = this.sinkDir(sink);
    if (sent.length > 0) {
      // Markers first: should the process stop between the two steps, the event is not sent again.
      const sentDir = join(dir, 'sent');
      await mkdir(sentDir, { recursive: true });
      for (const id of sent) await (await open(join(sentDir, fileId(id)), 'w')).close();
      await syncDir(sentDir);
      const wanted = new Set(sent);
      const pendingDir = join(dir, 'pending');
      for (const name of await names(pendingDir))
        if (name.endsWith('.json') && wanted.has(idOfPending(name)))
          await rm(join(pendingDir, name), { force: true });
    }
    await mkdir(dir, { recursive: true });
    await writeDurably(join(dir, 'gate.json'), JSON.stringify(gate));
  }

  async giveUp(sink: string, events: readonly PendingEvent[], reason: string, now: number): Promise<void> {
    const dir = this.sinkDir(sink);
    const dead = join(dir, 'dead');
    await mkdir(dead, { recursive: true });
    const gone = new Set(events.map((p) => p.event.id));
    for (const p of events)
      await writeDurably(
        join(dead, `${fileId(p.event.id)}.json`),
        JSON.stringify({ ...p, reason, gaveUpAt: new Date(now).toISOString() }),
      );
    const pendingDir = join(dir, 'pending');
    for (const name of await names(pendingDir))
      if (name.endsWith('.json') && gone.has(idOfPending(name)))
        await unlink(join(pendingDir, name)).catch(() => undefined);
  }

  /** Sinks with events waiting, configured or not (a removed sink's events are given up). */
  async sinksWithPending(): Promise<string[]> {
    const out: string[] = [];
    for (const name of await names(join(this.dir, 'sinks'))) {
      const pending = await names(join(this.dir, 'sinks', name, 'pending'));
      if (pending.some((n) => n.endsWith('.json'))) out.push(decodeURIComponent(name));
    }
    return out;
  }

  /** Removes sent markers older than two days and stray temporary files. */
  async prune(): Promise<number> {
    let removed = 0;
    for (const sink of await names(join(this.dir, 'sinks'))) {
      const sentDir = join(this.dir, 'sinks', sink, 'sent');
      for (const name of await names(sentDir)) {
        const path = join(sentDir, name);
        const info = await stat(path).catch(() => undefined);
        if (info && Date.now() - info.mtimeMs > SENT_KEEP_MS) {
          await rm(path, { force: true });
          removed += 1;
        }
      }
    }
    return removed;
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
