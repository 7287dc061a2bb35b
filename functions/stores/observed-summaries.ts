import { createHash, randomUUID } from 'node:crypto';
import { open, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { MonthSummarizer, type MonthSummary, monthBounds } from '../engine/held-off.ts';
import { OBSERVED_STATES } from '../engine/savings.ts';
import type { ObservedState } from '../engine/states.ts';
import { forEachMarkLine, parseMarkLines } from './observed-marks.ts';

/**
 * The summaries of a month's observations, kept by the local ledger beside the month's log
 * (`savings/observed-<YYYY-MM>.summary` beside `observed-<YYYY-MM>.log`), so a report over a
 * month it covers whole reads 500 short lines instead of parsing some 27,000.
 *
 * A summary is a cache, the log the truth: it names the log's size and modification time it was
 * made from, and is used only while the log still has both (the log is only ever appended to,
 * so an observation landing late in a month already summarised changes them). It carries the
 * SHA-256 of its body, so a file torn by a crash or damaged on disk is never believed: it is
 * made again from the log. Only a month that is over is kept; the current one changes by the
 * minute and is read from its log.
 *
 * File: the body's SHA-256 in hex, a newline, the body (one JSON document).
 */

/** A savings file that exists but cannot be read (a folder in its place, no permission). */
export class SavingsFileError extends Error {
  override readonly name = 'SavingsFileError';
  constructor(
    readonly path: string,
    cause: unknown,
  ) {
    // Node names no path for some of these (EISDIR on a read): say which file it is.
    super(`cannot read ${path}: ${(cause as Error).message}`, { cause });
  }
}

/** A savings file's text, or undefined when there is none. */
export async function readSavingsFile(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new SavingsFileError(path, error);
  }
}

/** What of the log a summary was made from: it is current while the log still has both. */
export interface LogVersion {
  size: number;
  mtimeMs: number;
}

/** What a summary file's body holds: target → `[firstAt, lastAt, lastState, offMs]`. */
interface SummaryBody {
  version: 1;
  month: string;
  log: LogVersion;
  targets: Record<string, [number, number, ObservedState, number]>;
}

const STATES: ReadonlySet<unknown> = new Set(OBSERVED_STATES);

const sha256 = (text: string): string => createHash('sha256').update(text).digest('hex');

/** The text of a month's summary file. */
export function summaryText(month: string, log: LogVersion, summaries: Map<string, MonthSummary>): string {
  const targets: Record<string, [number, number, ObservedState, number]> = {};
  for (const [target, s] of summaries) targets[target] = [s.firstAt, s.lastAt, s.lastState, s.offMs];
  const body = JSON.stringify({ version: 1, month, log, targets });
  return `${sha256(body)}\n${body}`;
}

/**
 * The summaries a file holds, when it is whole (its checksum holds), of this month, made from the
 * log as it is now, and makes sense (every mark within the month); else undefined.
 */
export function summariesFromText(
  text: string,
  month: string,
  log: LogVersion,
): Map<string, MonthSummary> | undefined {
  const newline = text.indexOf('\n');
  if (newline !== 64) return undefined;
  const body = text.slice(newline + 1);
  if (sha256(body) !== text.slice(0, newline)) return undefined;
  let doc: Partial<SummaryBody>;
  try {
    doc = JSON.parse(body);
  } catch {
    return undefined;
  }
  if (doc.version !== 1 || doc.month !== month || typeof doc.targets !== 'object' || doc.targets === null)
    return undefined;
  if (doc.log?.size !== log.size || doc.log.mtimeMs !== log.mtimeMs) return undefined;
  // Checked by hand, not by a schema: 6,000 of these a year-long report, and the checksum held.
  const { start, end } = monthBounds(month);
  const out = new Map<string, MonthSummary>();
  for (const [target, entry] of Object.entries(doc.targets)) {
    if (!Array.isArray(entry) || entry.length !== 4) return undefined;
    const [firstAt, lastAt, lastState, offMs] = entry;
    if (!(Number.isSafeInteger(firstAt) && Number.isSafeInteger(lastAt) && Number.isSafeInteger(offMs)))
      return undefined;
    if (!STATES.has(lastState)) return undefined;
    if (!(start <= firstAt && firstAt <= lastAt && lastAt < end && offMs >= 0 && offMs <= lastAt - firstAt))
      return undefined;
    out.set(target, { firstAt, lastAt, lastState, offMs });
  }
  return out;
}

/** Only the targets wanted. */
function pick(summaries: Map<string, MonthSummary>, wanted: ReadonlySet<string>): Map<string, MonthSummary> {
  if (summaries.size <= wanted.size && [...summaries.keys()].every((t) => wanted.has(t))) return summaries;
  const out = new Map<string, MonthSummary>();
  for (const target of wanted) {
    const summary = summaries.get(target);
    if (summary) out.set(target, summary);
  }
  return out;
}

/**
 * The summaries of the targets wanted in one month: from the kept file while it is current and
 * whole, else made from the log (and kept, when the month is over at `now`). No log: none.
 */
export async function monthSummaries(
  paths: { log: string; summary: string },
  month: string,
  wanted: ReadonlySet<string>,
  now: number,
): Promise<Map<string, MonthSummary>> {
  let handle: Awaited<ReturnType<typeof open>>;
  try {
    handle = await open(paths.log, 'r');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return new Map();
    throw new SavingsFileError(paths.log, error);
  }
  let log: LogVersion;
  let text: string;
  try {
    const { size, mtimeMs } = await handle.stat();
    log = { size, mtimeMs };
    const kept = await readKept(paths.summary, month, log);
    if (kept) return pick(kept, wanted);
    // Exactly the bytes the size names: a line appended meanwhile makes the log newer than this.
    const bytes = Buffer.alloc(size);
    let read = 0;
    while (read < size) {
      const { bytesRead } = await handle.read(bytes, read, size - read, read);
      if (bytesRead === 0) break;
      read += bytesRead;
    }
    text = bytes.toString('utf8', 0, read);
    if (read < size) log = { size: read, mtimeMs: Number.NaN }; // cut short under us: never kept
  } catch (error) {
    throw new SavingsFileError(paths.log, error);
  } finally {
    await handle.close();
  }
  const summarizer = new MonthSummarizer(month);
  forEachMarkLine(text, undefined, (target, at, state) => summarizer.add(target, at, state));
  const summaries = summarizer.finish((targets) => parseMarkLines(text, targets));
  if (monthBounds(month).end <= now && !Number.isNaN(log.mtimeMs))
    await keep(paths.summary, summaryText(month, log, summaries));
  return pick(summaries, wanted);
}

async function readKept(
  path: string,
  month: string,
  log: LogVersion,
): Promise<Map<string, MonthSummary> | undefined> {
  try {
    return summariesFromText(await readFile(path, 'utf8'), month, log);
  } catch {
    return undefined; // none yet, or unreadable: the log answers
  }
}

/**
 * Written whole and renamed into place, so a reader never sees half of it; not synced to disk:
 * a summary lost or torn by a power cut is made again from the log, which is.
 */
async function keep(path: string, text: string): Promise<void> {
  const tmp = `${path}.${process.pid}.${randomUUID()}.tmp`;
  try {
    await writeFile(tmp, text);
    await rename(tmp, path);
  } catch {
    // A cache not kept (a full disk, a read-only folder) costs the next report a parse, no figure.
    await rm(tmp, { force: true }).catch(() => undefined);
  }
}
