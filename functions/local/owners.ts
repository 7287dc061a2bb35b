import { randomUUID } from 'node:crypto';
import { readFileSync, readlinkSync } from 'node:fs';
import { hostname } from 'node:os';

/**
 * Who holds a lease. A lease names its owner as `<kind>@<host>#<pid namespace>#<pid>#<process
 * start>#<random>/<actor>`: unique per process start (the random part), and precise enough that
 * a process on the same host *and in the same PID namespace* can tell, from /proc, whether the
 * owner still runs, so a restart after `kill -9` continues at once. Two containers that share a
 * host name but not a PID namespace never judge each other by PID: their leases simply run out.
 */

/** The PID namespace of a process (`/proc/<pid>/ns/pid` → `pid:[4026531836]`), or `-`. */
function pidNamespace(pid: number | 'self'): string {
  try {
    return /\[(\d+)\]/.exec(readlinkSync(`/proc/${pid}/ns/pid`))?.[1] ?? '-';
  } catch {
    return '-';
  }
}

/** A process's start time in clock ticks since boot (field 22 of /proc/<pid>/stat), or `-`. */
function startTime(pid: number | 'self'): string {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may hold spaces and parentheses: count from the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return fields[19] ?? '-';
  } catch {
    return '-';
  }
}

const HOST = hostname().replace(/[#/@]/g, '_');
const NAMESPACE = pidNamespace('self');
const STARTED = startTime('self');

/** The process part of this process's owner ids. */
export function processOwner(kind: string): string {
  return `${kind}@${HOST}#${NAMESPACE}#${process.pid}#${STARTED}#${randomUUID().slice(0, 8)}`;
}

interface ParsedOwner {
  process: string;
  host: string;
  namespace: string;
  pid: number;
  started: string;
  actor?: string;
}

function parse(owner: string): ParsedOwner | undefined {
  const match = /^([^@/]+@([^#]+)#([^#]+)#(\d+)#([^#]+)#[^/]+)(?:\/(.+))?$/.exec(owner);
  if (!match) return undefined;
  return {
    process: match[1]!,
    host: match[2]!,
    namespace: match[3]!,
    pid: Number(match[4]),
    started: match[5]!,
    ...(match[6] === undefined ? {} : { actor: match[6] }),
  };
}

/**
 * The actors of one process (a tick pass, an HTTP request) and whether an owner is known to have
 * stopped: an actor of this process that has finished, or a process on this host, in this PID
 * namespace, that no longer runs (or whose PID now belongs to a later process).
 */
export class Owners {
  readonly process: string;
  private readonly live = new Set<string>();
  private next = 0;

  constructor(kind: string) {
    this.process = processOwner(kind);
  }

  /** A new actor id; call `end` when its work is done. */
  begin(name: string): string {
    const id = `${this.process}/${name}-${(this.next++).toString(36)}`;
    this.live.add(id);
    return id;
  }

  end(id: string): void {
    this.live.delete(id);
  }

  readonly isGone = (owner: string): boolean => {
    const parsed = parse(owner);
    if (!parsed) return false;
    if (parsed.process === this.process) return parsed.actor !== undefined && !this.live.has(owner);
    if (parsed.host !== HOST || parsed.namespace === '-' || parsed.namespace !== NAMESPACE) return false;
    if (pidNamespace(parsed.pid) !== NAMESPACE) return true;
    return startTime(parsed.pid) !== parsed.started;
  };
}
