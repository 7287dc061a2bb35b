import { randomUUID } from 'node:crypto';
import { mkdir, open, readdir, readFile, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { type CloudEvent, isCloudEvent } from '../events/cloudevent.ts';
import { syncFolder, writeDurably } from '../stores/local-ledger.ts';
import type { DeliveryStore, PendingEvent, SinkGate, Turn } from './dispatch.ts';

/** Sent markers are kept this long (real time): long enough to refuse any repeat of an event. */
const SENT_KEEP_MS = 48 * 3600_000;

/** Writes a file whole and durably, then renames it into place: readers see all of it or none. */
export async function replaceDurably(path: string, text: string): Promise<void> {
  const tmp = `${path}.${process.pid}.${randomUUID()}.tmp`;
  await writeDurably(tmp, text);
  await rename(tmp, path);
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

/** Events enqueued together, in one file: one durable write per sink and round, not one per event. */
interface Batch {
  enqueuedAt: number;
  events: CloudEvent[];
}

let batchSeq = 0;
const batchName = (at: number) =>
  `${String(Math.max(0, Math.floor(at))).padStart(15, '0')}-${process.pid}-${String(++batchSeq).padStart(6, '0')}.json`;

/**
 * The delivery store in the state folder, `DIR/notify/sinks/<sink>/`:
 * - `pending/<enqueuedAt>-<n>.json`: events waiting for the sink, as enqueued together (oldest
 *   first by name); a batch is rewritten without the events sent, and goes when it is empty;
 * - `sent/<id>`: an empty marker per event the sink got (or gave up), kept two days, so a repeat
 *   is refused;
 * - `gate.json`: when the next message may go, the failures in a row and the last problem;
 * - `dead/<id>.json`: events given up (past 24 hours, or the sink left the config), with why.
 * One process at a time writes it (the notifier holds the folder's lease).
 */
export class FileDeliveryStore implements DeliveryStore {
  constructor(readonly dir: string) {}

  private sinkDir(sink: string): string {
    return join(this.dir, 'sinks', encodeURIComponent(sink));
  }

  private async batches(sink: string): Promise<{ name: string; batch: Batch }[]> {
    const pendingDir = join(this.sinkDir(sink), 'pending');
    const out: { name: string; batch: Batch }[] = [];
    for (const name of (await names(pendingDir)).filter((n) => n.endsWith('.json')).sort()) {
      const batch = await readJson<Batch>(join(pendingDir, name));
      if (batch && Array.isArray(batch.events)) out.push({ name, batch });
      else await this.quarantine(pendingDir, name);
    }
    return out;
  }

  private async sentIds(sink: string): Promise<Set<string>> {
    return new Set((await names(join(this.sinkDir(sink), 'sent'))).map((n) => decodeURIComponent(n)));
  }

  async enqueue(sink: string, events: readonly CloudEvent[], now: number): Promise<string[]> {
    if (events.length === 0) return [];
    const dir = this.sinkDir(sink);
    const pendingDir = join(dir, 'pending');
    await mkdir(pendingDir, { recursive: true });
    const known = await this.sentIds(sink);
    for (const { batch } of await this.batches(sink)) for (const e of batch.events) known.add(e.id);
    const fresh: CloudEvent[] = [];
    for (const event of events) {
      if (known.has(event.id)) continue;
      known.add(event.id);
      fresh.push(event);
    }
    if (fresh.length === 0) return [];
    await replaceDurably(
      join(pendingDir, batchName(now)),
      JSON.stringify({ enqueuedAt: now, events: fresh } satisfies Batch),
    );
    await syncFolder(pendingDir);
    return fresh.map((e) => e.id);
  }

  async pending(sink: string, limit: number): Promise<PendingEvent[]> {
    // A batch rewritten after its markers were made may still hold events sent: they are not pending.
    const sent = await this.sentIds(sink);
    const out: PendingEvent[] = [];
    for (const { batch } of await this.batches(sink)) {
      for (const event of batch.events) {
        if (out.length >= limit) return out;
        if (isCloudEvent(event) && !sent.has(event.id)) out.push({ event, enqueuedAt: batch.enqueuedAt });
      }
    }
    return out;
  }

  /** A pending file that cannot be read is moved aside (into the dead folder), never retried. */
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
    await this.markDone(sink, sent);
    await mkdir(dir, { recursive: true });
    await replaceDurably(join(dir, 'gate.json'), JSON.stringify(gate));
  }

  /**
   * Markers first, then the batches lose those events: should the process stop in between, the
   * markers say they were sent, and they are not sent again.
   */
  private async markDone(sink: string, ids: readonly string[]): Promise<void> {
    if (ids.length === 0) return;
    const dir = this.sinkDir(sink);
    const sentDir = join(dir, 'sent');
    await mkdir(sentDir, { recursive: true });
    for (const id of ids) await (await open(join(sentDir, fileId(id)), 'w')).close();
    await syncFolder(sentDir);
    const done = new Set(ids);
    const pendingDir = join(dir, 'pending');
    for (const { name, batch } of await this.batches(sink)) {
      if (!batch.events.some((e) => done.has(e.id))) continue;
      const rest = batch.events.filter((e) => !done.has(e.id));
      if (rest.length === 0) await rm(join(pendingDir, name), { force: true });
      else
        await replaceDurably(
          join(pendingDir, name),
          JSON.stringify({ ...batch, events: rest } satisfies Batch),
        );
    }
    await syncFolder(pendingDir);
  }

  async giveUp(sink: string, events: readonly PendingEvent[], reason: string, now: number): Promise<void> {
    const dead = join(this.sinkDir(sink), 'dead');
    await mkdir(dead, { recursive: true });
    for (const p of events)
      await replaceDurably(
        join(dead, `${fileId(p.event.id)}.json`),
        JSON.stringify({ ...p, reason, gaveUpAt: new Date(now).toISOString() }),
      );
    // Marked done like a sent event: a repeat of a given-up event is not tried for another day.
    await this.markDone(
      sink,
      events.map((p) => p.event.id),
    );
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

  /** Removes sent markers older than two days. */
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
