import { randomUUID } from 'node:crypto';
import { link, mkdir, readdir, readFile, rm, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

interface LeaseRecord {
  owner: string;
  /** Real ms: leases are between processes, whatever clock the runtime shows. */
  until: number;
}

const versionFile = (version: number): string => `${String(version).padStart(10, '0')}.json`;
const KEPT = 5;

/**
 * One holder at a time among the processes sharing a state folder, by compare-and-set on
 * numbered files (`<dir>/<version>.json`, linked into place, which fails if the version exists):
 * whoever writes the next version after a lease has run out (or whose owner no longer runs) holds
 * it. The holder renews well within the lease; a holder that stalls past it loses it.
 */
export class FolderLease {
  private held = false;

  constructor(
    private readonly dir: string,
    readonly owner: string,
    private readonly isOwnerGone: (owner: string) => boolean,
    private readonly ttlMs = 30_000,
  ) {}

  get holding(): boolean {
    return this.held;
  }

  /** Takes the lease, or renews it; false when another live holder has it. */
  async acquire(): Promise<boolean> {
    await mkdir(this.dir, { recursive: true });
    const latest = await this.latest();
    const current = latest === undefined ? undefined : await this.read(latest);
    if (
      current &&
      current.owner !== this.owner &&
      current.until > Date.now() &&
      !this.isOwnerGone(current.owner)
    ) {
      this.held = false;
      return false;
    }
    const next = (latest ?? 0) + 1;
    const path = join(this.dir, versionFile(next));
    const tmp = `${path}.${process.pid}.${randomUUID()}.tmp`;
    await writeFile(
      tmp,
      JSON.stringify({ owner: this.owner, until: Date.now() + this.ttlMs } satisfies LeaseRecord),
    );
    try {
      await link(tmp, path);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'EEXIST') {
        this.held = false;
        return false;
      }
      throw error;
    } finally {
      await unlink(tmp).catch(() => undefined);
    }
    // Someone wrote past the version we replaced (we read an old one): theirs wins.
    if (((await this.latest()) ?? 0) > next) {
      this.held = false;
      return false;
    }
    if (next > KEPT)
      await rm(join(this.dir, versionFile(next - KEPT)), { force: true }).catch(() => undefined);
    this.held = true;
    return true;
  }

  /** Lets another process take over at once. */
  async release(): Promise<void> {
    if (!this.held) return;
    this.held = false;
    const latest = await this.latest();
    if (latest === undefined) return;
    const current = await this.read(latest);
    if (current?.owner !== this.owner) return;
    const path = join(this.dir, versionFile(latest + 1));
    const tmp = `${path}.${process.pid}.${randomUUID()}.tmp`;
    await writeFile(tmp, JSON.stringify({ owner: this.owner, until: 0 } satisfies LeaseRecord));
    await link(tmp, path).catch(() => undefined);
    await unlink(tmp).catch(() => undefined);
  }

  private async latest(): Promise<number | undefined> {
    let names: string[];
    try {
      names = await readdir(this.dir);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw error;
    }
    let latest: number | undefined;
    for (const name of names) {
      const match = /^(\d+)\.json$/.exec(name);
      if (match) latest = Math.max(latest ?? 0, Number(match[1]));
    }
    return latest;
  }

  private async read(version: number): Promise<LeaseRecord | undefined> {
    try {
      return JSON.parse(await readFile(join(this.dir, versionFile(version)), 'utf8')) as LeaseRecord;
    } catch {
      return undefined;
    }
  }
}
