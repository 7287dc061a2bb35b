import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Config } from '../engine/config/schema.ts';
import type { Override } from '../engine/overrides.ts';
import type { CloudEvent } from '../events/cloudevent.ts';
import { eventOfEntry, overrideEvent } from '../events/make.ts';
import { type Clock, sleep } from '../local/clock.ts';
import type { Log } from '../observability/log.ts';
import type { FileLedger } from '../stores/local-ledger.ts';
import type { SecretSource } from '../stores/secrets.ts';
import { type DeliverDeps, type DeliveryStore, deliverTurn, type TurnOutcome } from './dispatch.ts';
import { type OutboxPosition, rotateEvents } from './file-outbox.ts';
import { FileDeliveryStore, replaceDurably } from './file-store.ts';
import { FolderLease } from './folder-lease.ts';
import { MemoryDeliveryStore } from './memory-store.ts';
import { HttpSinkPoster, type SinkPoster } from './post.ts';
import { sinksFor } from './routing.ts';

export interface NotifierOptions {
  stateDir: string;
  ledger: FileLedger;
  /** The config in force (re-read on every round: routes and sinks follow config reloads). */
  config: () => Config;
  secrets: SecretSource;
  clock: Clock;
  log: Log;
  print: (line: string) => void;
  /** Unique per process start (see local/owners.ts), so a holder that no longer runs is known at once. */
  owner: string;
  isOwnerGone: (owner: string) => boolean;
  /** How often (real ms) the outbox is read and the sinks looked at. Default 500. */
  pollMs?: number;
  poster?: SinkPoster;
}

interface Cursor {
  outbox: OutboxPosition;
}

interface Snapshot {
  /** The overrides announced as created and not yet gone. */
  known: Record<string, Override>;
}

const HOUR = 3600_000;

/**
 * Notifications in `serve`, out of the tick's path: a loop of its own reads the outbox (the
 * history and the event journal, from its cursor), routes each event to its sinks (a pending file
 * per sink and event), and delivers each sink's pending events as one message per turn through
 * `deliverTurn`. A sink that fails is retried with backoff for 24 hours; a receiver that hangs
 * delays only its own sink. Among processes sharing a state folder one holds the notifier's
 * lease; the others stand by. After a restart it continues from its cursor: events recorded
 * meanwhile are routed, events already sent are not sent again.
 */
export class LocalNotifier {
  private readonly dir: string;
  private readonly store: FileDeliveryStore;
  /** For events the state folder cannot take (it is failing): delivered from memory. */
  private readonly fallback = new MemoryDeliveryStore();
  private readonly lease: FolderLease;
  private readonly poster: SinkPoster;
  private readonly stopping = new AbortController();
  private loop: Promise<void> | undefined;
  private cursor: Cursor | undefined;
  private snapshot: Snapshot | undefined;
  private offered: CloudEvent[] = [];
  /** Sinks and when (clock ms) to look at them next; absent: when something is enqueued. */
  private readonly due = new Map<string, number>();
  private readonly inFlight = new Map<string, Promise<unknown>>();
  private lastLeaseAt = 0;
  private lastUpkeep = 0;
  private failuresInARow = 0;

  constructor(private readonly options: NotifierOptions) {
    this.dir = join(options.stateDir, 'notify');
    this.store = new FileDeliveryStore(this.dir);
    this.lease = new FolderLease(join(this.dir, 'lease'), options.owner, options.isOwnerGone);
    this.poster = options.poster ?? new HttpSinkPoster();
  }

  /**
   * Before the first tick: on the first start ever, the reading position is the history's current
   * end, fixed now, so outcomes the first ticks record (a catch-up) are not taken for old news.
   */
  async prepare(): Promise<void> {
    await mkdir(this.dir, { recursive: true });
    if (await readJson<Cursor>(join(this.dir, 'cursor.json'))) return;
    const { position } = await this.options.ledger.readOutbox(undefined);
    await replaceDurably(
      join(this.dir, 'cursor.json'),
      JSON.stringify({ outbox: position } satisfies Cursor),
    );
  }

  start(): void {
    this.loop ??= this.run();
  }

  /** Events that could not be written to the journal: routed and delivered from memory. */
  offer(events: readonly CloudEvent[]): void {
    this.offered.push(...events);
  }

  /** Stops routing, lets deliveries under way finish (at most `graceMs`), hands the lease on. */
  async stop(graceMs = 5_000): Promise<void> {
    this.stopping.abort();
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.all([this.loop, ...this.inFlight.values()]),
      new Promise((resolve) => {
        timer = setTimeout(resolve, graceMs);
      }),
    ]);
    clearTimeout(timer);
    await this.lease.release().catch(() => undefined);
    await this.poster.close();
  }

  private async run(): Promise<void> {
    const pollMs = this.options.pollMs ?? 500;
    while (!this.stopping.signal.aborted) {
      try {
        await this.round();
        this.failuresInARow = 0;
      } catch (error) {
        // The state folder failed: try again later, loudly, without spinning.
        this.failuresInARow += 1;
        this.options.log.error('notifications: round failed', {
          error: String(error),
          failuresInARow: this.failuresInARow,
        });
        await sleep(
          Math.min(60_000, 1_000 * 2 ** Math.min(6, this.failuresInARow - 1)),
          this.stopping.signal,
        );
      }
      await sleep(pollMs, this.stopping.signal);
    }
  }

  private async round(): Promise<void> {
    if (Date.now() - this.lastLeaseAt > 5_000 || !this.lease.holding) {
      const was = this.lease.holding;
      const holds = await this.lease.acquire();
      this.lastLeaseAt = Date.now();
      if (holds && !was) await this.takeOver();
      if (!holds) {
        if (was) this.options.log.warn('notifications: another process took over delivery');
        this.cursor = undefined;
        this.snapshot = undefined;
        await this.deliverFallback();
        return;
      }
    }
    await this.route();
    this.deliver();
    if (Date.now() - this.lastUpkeep > HOUR) {
      this.lastUpkeep = Date.now();
      await this.upkeep();
    }
  }

  /** On taking the lease: where the last holder stopped, and every sink with events waiting. */
  private async takeOver(): Promise<void> {
    await mkdir(this.dir, { recursive: true });
    this.cursor = await readJson<Cursor>(join(this.dir, 'cursor.json'));
    if (!this.cursor) {
      // The first start: begin at the current ends (what was recorded before is not news).
      const { position } = await this.options.ledger.readOutbox(undefined);
      this.cursor = { outbox: position };
      await replaceDurably(join(this.dir, 'cursor.json'), JSON.stringify(this.cursor));
    }
    this.snapshot = (await readJson<Snapshot>(join(this.dir, 'overrides.json'))) ?? { known: {} };
    for (const sink of await this.store.sinksWithPending()) this.due.set(sink, 0);
    this.options.log.info('notifications: delivering from this process', { owner: this.options.owner });
  }

  /**
   * New outcomes and journal events, and override changes, to their sinks' pending sets; then the
   * cursor. Should the process stop in between, the next holder routes them again, and what is
   * pending or sent already is not added twice (ids are unique).
   */
  private async route(): Promise<void> {
    const config = this.options.config();
    const now = this.options.clock.now();
    const read = await this.options.ledger.readOutbox(this.cursor!.outbox);
    if (read.unreadable > 0)
      this.options.log.error(
        'notifications: damaged lines in the history or event journal were passed over',
        {
          lines: read.unreadable,
        },
      );
    if (read.lostTrack)
      this.options.log.error(
        'notifications: the history was rotated past the notifier’s position; some events may not have been sent',
      );
    const { events: overrideEvents, snapshot } = await this.overrideChanges(now);
    const offered = this.offered.splice(0);
    const events = [...read.entries.map(eventOfEntry), ...read.events, ...overrideEvents, ...offered];
    const bySink = new Map<string, CloudEvent[]>();
    for (const event of events)
      for (const sink of sinksFor(config, event)) {
        const list = bySink.get(sink) ?? [];
        list.push(event);
        bySink.set(sink, list);
      }
    for (const [sink, list] of bySink) {
      try {
        const added = await this.store.enqueue(sink, list, now);
        // A sink already waiting for its gate keeps its time; an idle one is looked at now.
        if (added.length > 0 && !this.due.has(sink)) this.due.set(sink, 0);
      } catch (error) {
        // The folder cannot take them: keep them in memory, delivered from there.
        this.options.log.error('notifications: events kept in memory, the state folder refused them', {
          sink,
          events: list.length,
          error: String(error),
        });
        await this.fallback.enqueue(sink, list, now);
      }
    }
    // Written only when it moved: an idle folder is not synced twice a second.
    if (JSON.stringify(read.position) !== JSON.stringify(this.cursor!.outbox)) {
      this.cursor = { outbox: read.position };
      await replaceDurably(join(this.dir, 'cursor.json'), JSON.stringify(this.cursor));
    }
    if (snapshot !== this.snapshot) {
      this.snapshot = snapshot;
      await replaceDurably(join(this.dir, 'overrides.json'), JSON.stringify(snapshot));
    }
  }

  /**
   * Overrides created or removed since the last look, by comparing the overrides in the state
   * folder with the ones known: the folder is the outbox of override changes, whoever made them
   * (this process's API, another process, `nightshift override` without --url). Their end is
   * announced by the tick that evaluates `until`.
   */
  private async overrideChanges(now: number): Promise<{ events: CloudEvent[]; snapshot: Snapshot }> {
    const current = await this.options.ledger.overrides(now);
    const known = this.snapshot!.known;
    const events: CloudEvent[] = [];
    const next: Record<string, Override> = {};
    for (const o of current) {
      next[o.id] = o;
      if (!known[o.id]) events.push(overrideEvent('nightshift.override.created', o, o.createdAt));
    }
    for (const [id, o] of Object.entries(known)) {
      if (next[id]) continue;
      if (Date.parse(o.until) > now)
        events.push(overrideEvent('nightshift.override.removed', o, new Date(now).toISOString()));
    }
    const changed = events.length > 0 || Object.keys(next).length !== Object.keys(known).length;
    return { events, snapshot: changed ? { known: next } : this.snapshot! };
  }

  private deps(store: DeliveryStore): DeliverDeps {
    return {
      store,
      config: this.options.config(),
      secrets: this.options.secrets,
      poster: this.poster,
      owner: this.options.owner,
      log: this.options.log,
      now: () => this.options.clock.now(),
      onOutcome: (outcome) => this.report(outcome),
    };
  }

  /** Starts a turn for every sink that is due and has none under way: a slow sink waits alone. */
  private deliver(): void {
    if (this.stopping.signal.aborted) return;
    const now = this.options.clock.now();
    for (const [sink, at] of this.due) {
      if (at > now || this.inFlight.has(sink)) continue;
      const turn = deliverTurn(this.deps(this.store), sink)
        .then((result) => {
          if (result.kind === 'idle') this.due.delete(sink);
          else if (result.kind === 'wait') this.due.set(sink, result.until);
          else if (result.kind === 'sent') this.due.set(sink, result.next);
          else this.due.set(sink, result.retryAt);
        })
        .catch((error: unknown) => {
          this.options.log.error('notifications: delivery failed inside Nightshift', {
            sink,
            error: String(error),
          });
          this.due.set(sink, this.options.clock.now() + 60_000);
        })
        .finally(() => this.inFlight.delete(sink));
      this.inFlight.set(sink, turn);
    }
    void this.deliverFallback();
  }

  private async deliverFallback(): Promise<void> {
    for (const sink of this.fallback.sinksWithPending()) {
      const key = `memory:${sink}`;
      if (this.inFlight.has(key)) continue;
      const turn = deliverTurn(this.deps(this.fallback), sink)
        .catch(() => undefined)
        .finally(() => this.inFlight.delete(key));
      this.inFlight.set(key, turn);
    }
    if (this.offered.length > 0 && !this.lease.holding) {
      // Not the holder: the holder reads the journal, but these never reached it.
      const now = this.options.clock.now();
      for (const event of this.offered.splice(0))
        for (const sink of sinksFor(this.options.config(), event))
          await this.fallback.enqueue(sink, [event], now);
    }
  }

  private report(outcome: TurnOutcome): void {
    const type = this.options.config().notifications?.sinks[outcome.sink]?.type ?? 'removed';
    const n = outcome.events.length;
    const what = `${n} event${n === 1 ? '' : 's'}`;
    if (outcome.kind === 'sent') this.options.print(`notify: sent ${what} to ${outcome.sink} (${type})`);
    else if (outcome.kind === 'failed')
      this.options.print(
        `notify: ${outcome.sink} (${type}) did not take ${what}: ${outcome.problem}; next try at ${new Date(outcome.retryAt).toISOString()}`,
      );
    else this.options.print(`notify: gave up ${what} for ${outcome.sink}: ${outcome.reason}`);
  }

  private async upkeep(): Promise<void> {
    try {
      await this.store.prune();
      await rotateEvents(this.options.stateDir);
    } catch (error) {
      this.options.log.warn('notifications: upkeep failed', { error: String(error) });
    }
  }
}

async function readJson<T>(path: string): Promise<T | undefined> {
  try {
    return JSON.parse(await readFile(path, 'utf8')) as T;
  } catch {
    return undefined;
  }
}
