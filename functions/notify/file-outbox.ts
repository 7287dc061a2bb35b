import { appendFile, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { type HistoryEntry, legacyEntryId } from '../engine/ledger.ts';
import { type CloudEvent, isCloudEvent } from '../events/cloudevent.ts';
import { readTail, type TailPosition } from './jsonl-tail.ts';

/**
 * The local outbox is the state folder itself: `history.jsonl` (every outcome, written by the
 * ledger) and `events.jsonl` (the events that are not outcomes, written by the tick's hook). The
 * notifier reads both from its positions, so an outcome recorded is an event announced: nothing
 * is lost between recording and enqueueing, because there is no second write to lose.
 */
export const EVENTS_BASE = 'events';
const EVENTS_ROTATED = 1;
const EVENTS_MAX_BYTES = 10 * 1024 * 1024;

export interface OutboxPosition {
  history: TailPosition;
  events: TailPosition;
}

export interface OutboxRead {
  entries: HistoryEntry[];
  events: CloudEvent[];
  position: OutboxPosition;
  /** Lines that could not be parsed (damaged), named by file: logged and passed over. */
  unreadable: number;
  lostTrack: boolean;
}

/** Appends events to the journal in one O_APPEND write (lines of several processes never interleave). */
export async function appendEvents(dir: string, events: readonly CloudEvent[]): Promise<void> {
  if (events.length === 0) return;
  await appendFile(join(dir, `${EVENTS_BASE}.jsonl`), events.map((e) => `${JSON.stringify(e)}\n`).join(''));
}

/** New history entries and journal events since `from` (none, and the current ends, without one). */
export async function readOutbox(
  dir: string,
  historyFiles: number,
  from: OutboxPosition | undefined,
): Promise<OutboxRead> {
  const history = await readTail(dir, 'history', historyFiles, from?.history);
  const journal = await readTail(dir, EVENTS_BASE, EVENTS_ROTATED, from?.events);
  let unreadable = 0;
  const entries: HistoryEntry[] = [];
  for (const line of history.lines) {
    try {
      const entry = JSON.parse(line) as HistoryEntry;
      if (!entry?.result?.target) throw new Error('not a history entry');
      entry.id ??= legacyEntryId(line);
      entries.push(entry);
    } catch {
      unreadable += 1;
    }
  }
  const events: CloudEvent[] = [];
  for (const line of journal.lines) {
    try {
      const event = JSON.parse(line) as unknown;
      if (!isCloudEvent(event)) throw new Error('not an event');
      events.push(event);
    } catch {
      unreadable += 1;
    }
  }
  return {
    entries,
    events,
    position: { history: history.position, events: journal.position },
    unreadable,
    lostTrack: history.lostTrack === true || journal.lostTrack === true,
  };
}

/** Keeps `events.jsonl` bounded: past 10 MiB it becomes `events.1.jsonl` (the previous one goes). */
export async function rotateEvents(dir: string, maxBytes = EVENTS_MAX_BYTES): Promise<boolean> {
  const current = join(dir, `${EVENTS_BASE}.jsonl`);
  const size = await stat(current).then(
    (s) => s.size,
    () => 0,
  );
  if (size <= maxBytes) return false;
  await rm(join(dir, `${EVENTS_BASE}.1.jsonl`), { force: true });
  await rename(current, join(dir, `${EVENTS_BASE}.1.jsonl`));
  return true;
}
