import { open, stat } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * Where a reader of an append-only JSON-lines file stands: the file (by inode, since the file is
 * rotated by renaming: `history.jsonl` becomes `history.1.jsonl`) and the byte offset after the
 * last whole line read. `ino: null`: the file did not exist yet; read it from its start.
 */
export interface TailPosition {
  ino: number | null;
  offset: number;
}

export interface TailRead {
  lines: string[];
  position: TailPosition;
  /** The file read from was rotated away beyond the kept files: lines may have been skipped. */
  lostTrack?: boolean;
}

/** At most this much is read per call; the rest on the next. */
const MAX_READ_BYTES = 4 * 1024 * 1024;

async function inodeOf(path: string): Promise<{ ino: number; size: number } | undefined> {
  try {
    const s = await stat(path);
    return { ino: s.ino, size: s.size };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

/** Whole lines of `path` from `offset`, and the offset after the last whole line. */
async function readFrom(
  path: string,
  offset: number,
  budget: number,
): Promise<{ lines: string[]; end: number; readAll: boolean }> {
  let handle: Awaited<ReturnType<typeof open>>;
  try {
    handle = await open(path, 'r');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { lines: [], end: offset, readAll: true };
    throw error;
  }
  try {
    const { size } = await handle.stat();
    const start = size < offset ? 0 : offset;
    const length = Math.min(size - start, budget);
    if (length <= 0) return { lines: [], end: start, readAll: true };
    const readAll = start + length >= size;
    const buffer = Buffer.alloc(length);
    const { bytesRead } = await handle.read(buffer, 0, length, start);
    const text = buffer.subarray(0, bytesRead);
    // A line being appended right now is left for the next read.
    const last = text.lastIndexOf(0x0a);
    if (last === -1) return { lines: [], end: start, readAll };
    const lines = text
      .subarray(0, last)
      .toString('utf8')
      .split('\n')
      .filter((line) => line.trim() !== '');
    return { lines, end: start + last + 1, readAll };
  } finally {
    await handle.close();
  }
}

/**
 * New lines of `<dir>/<base>.jsonl` since `position`, across rotations (`<base>.1.jsonl` is the
 * newest rotated file, up to `<base>.<rotated>.jsonl`). Without a position, the reader starts at
 * the current end.
 */
export async function readTail(
  dir: string,
  base: string,
  rotated: number,
  position: TailPosition | undefined,
): Promise<TailRead> {
  const current = join(dir, `${base}.jsonl`);
  const now = await inodeOf(current);
  if (!position) return { lines: [], position: { ino: now?.ino ?? null, offset: now?.size ?? 0 } };
  if (!now) return { lines: [], position };
  if (position.ino === null || position.ino === now.ino) {
    const { lines, end } = await readFrom(
      current,
      position.ino === null ? 0 : position.offset,
      MAX_READ_BYTES,
    );
    return { lines, position: { ino: now.ino, offset: end } };
  }
  // The file we were reading was rotated: finish it, then the newer ones, then the current file.
  const chain: string[] = [];
  let found = -1;
  for (let i = 1; i <= rotated; i++) {
    const path = join(dir, `${base}.${i}.jsonl`);
    const info = await inodeOf(path);
    if (info?.ino === position.ino) {
      found = i;
      break;
    }
  }
  const lines: string[] = [];
  let budget = MAX_READ_BYTES;
  if (found === -1) {
    const { lines: all, end } = await readFrom(current, 0, budget);
    return { lines: all, position: { ino: now.ino, offset: end }, lostTrack: true };
  }
  for (let i = found; i >= 1; i--) chain.push(join(dir, `${base}.${i}.jsonl`));
  for (const [k, path] of chain.entries()) {
    const from = k === 0 ? position.offset : 0;
    const { lines: got, end, readAll } = await readFrom(path, from, budget);
    lines.push(...got);
    budget -= end - from;
    // Not finished with this file (the budget ran out): continue from here next time. A rotated
    // file gets no more lines, so a torn last line (a crash mid-write) is passed over.
    if (!readAll) {
      const info = await inodeOf(path);
      if (info) return { lines, position: { ino: info.ino, offset: end } };
    }
  }
  const { lines: got, end } = await readFrom(current, 0, Math.max(budget, 1024 * 1024));
  lines.push(...got);
  return { lines, position: { ino: now.ino, offset: end } };
}
