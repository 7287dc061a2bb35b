import { randomUUID } from 'node:crypto';
import { unwatchFile, watchFile } from 'node:fs';
import { readFile, rename, writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { MAX_BODY_BYTES, Router } from '../api/router.ts';
import { wallClock } from '../engine/calendar/zone.ts';
import type { Config } from '../engine/config/schema.ts';
import { ConfigError } from '../engine/config/validate.ts';
import { HttpErrorCode } from '../engine/error-codes.ts';
import type { Upstream } from '../engine/executor.ts';
import type { HistoryEntry } from '../engine/ledger.ts';
import { expiringOverrides, type Override } from '../engine/overrides.ts';
import { overridesSince, type ReconcileSummary, reconcile, type SecretNotSet } from '../engine/reconcile.ts';
import type { Log } from '../observability/log.ts';
import { logEntry } from '../observability/log-fields.ts';
import { readConfigFile } from '../stores/local-config.ts';
import type { FileLedger } from '../stores/local-ledger.ts';
import type { SecretSource } from '../stores/secrets.ts';
import { type Clock, sleep } from './clock.ts';
import { DroppedOverrides } from './dropped-overrides.ts';
import { Owners } from './owners.ts';
import { parseTarget } from './request-target.ts';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
/** The log line of an account whose secret is not set (said once an hour per account). */
export const SECRET_NOT_SET_MESSAGE = 'secret not set';
/** Real time a tick may take before it stops starting calls; the next tick continues. */
const TICK_BUDGET_MS = 45_000;

/** Never look further back than this when catching up, however long the process was away. */
const MAX_LOOKBACK_MS = 24 * 3600_000;

export interface RuntimeOptions {
  configPath: string;
  /** Applied to every config loaded, e.g. pointing accounts at the simulator. */
  transformConfig?: (config: Config) => Config;
  port: number;
  host?: string;
  ledger: FileLedger;
  stateDir: string;
  secrets: SecretSource;
  upstream: Upstream;
  clock: Clock;
  log: Log;
  /** Human-readable lines (stdout). */
  print: (line: string) => void;
  /** The zone of the times in readable lines (default UTC). */
  zone?: string;
  /** Missed minutes younger than this are caught up (late); older ones are recorded as missed. */
  maxCatchUpMinutes?: number;
  /** Re-read the config when the file changes (poll interval). */
  watchIntervalMs?: number;
  /**
   * A request whose headers and body have not arrived in this time is answered 408 and closed.
   * Default 60 s; tests pass a short one.
   */
  requestTimeoutMs?: number;
  /** How long `stop` waits for requests and the tick before closing every connection. Default 10 s. */
  shutdownGraceMs?: number;
  /** Time an API request may take, upstream calls included, as on AWS. Default 30 s. */
  requestBudgetMs?: number;
  /**
   * Heard after every tick (notifications: upcoming changes, overrides ended, warnings, ledger
   * failures). Must not throw; it runs before the cursor moves on, so it must be quick.
   */
  onTick?: (tick: TickReport) => Promise<void>;
}

/** What a tick did, for the `onTick` hook. */
export interface TickReport {
  config: Config;
  from: number;
  to: number;
  overrides: Override[];
  summary: ReconcileSummary;
  ledgerFailures: { target: string; error: string }[];
}

/** The first wait after a failed tick; it doubles per failure in a row, up to a minute. */
const TICK_RETRY_BASE_MS = 1_000;
const TICK_RETRY_MAX_MS = 60_000;

/**
 * `nightshift serve`: the HTTP API and the minute tick in one process. The tick runs at each
 * wall-clock minute and evaluates (previous minute, this minute]; after a pause it catches up,
 * within a bound; several processes sharing a state folder fire each occurrence once.
 */
export class LocalRuntime {
  private config!: Config;
  private server: Server | undefined;
  private readonly stopping = new AbortController();
  private loop: Promise<void> | undefined;
  private currentTick: Promise<unknown> = Promise.resolve();
  private readonly router: Router;
  private readonly maxCatchUpMs: number;
  private readonly droppedOverrides: DroppedOverrides;
  /** Leases name an actor of this process: each tick pass and each HTTP request is its own. */
  readonly owners = new Owners('serve');
  /** Bumped when this process's API creates or removes an override: its running tick re-reads. */
  private overridesVersion = 0;
  /** The clock went back behind the cursor: said once per episode. */
  private behindSince: number | undefined;
  /** Accounts whose secret is not set, and when (runtime clock) that was last said. */
  private readonly notSetSaid = new Map<string, number>();

  constructor(private readonly options: RuntimeOptions) {
    this.maxCatchUpMs = (options.maxCatchUpMinutes ?? 60) * MINUTE;
    this.droppedOverrides = new DroppedOverrides(options.log, options.print, options.zone ?? 'UTC');
    this.router = new Router({
      config: async () => this.config,
      secrets: options.secrets,
      upstream: options.upstream,
      ledger: options.ledger,
      now: () => options.clock.now(),
      log: options.log,
      owner: this.owners.process,
      isOwnerGone: this.owners.isGone,
      onOverridesChanged: () => {
        this.overridesVersion += 1;
      },
    });
  }

  get currentConfig(): Config {
    return this.config;
  }

  /** Loads the config (which must be valid), starts the HTTP server and the tick. */
  async start(): Promise<string> {
    this.config = await this.load();
    const requestTimeout = this.options.requestTimeoutMs ?? 60_000;
    this.server = createServer(
      {
        requestTimeout,
        headersTimeout: requestTimeout,
        // How often Node looks for requests past their timeout (default 30 s).
        connectionsCheckingInterval: Math.min(30_000, Math.max(100, Math.floor(requestTimeout / 4))),
      },
      (req, res) => {
        // Whatever a client does (disconnects mid-body, sends a target no URL parser takes), the
        // failure stays with its request: an unhandled rejection would end the whole process.
        this.serveHttp(req, res).catch((error: unknown) => this.requestFailed(req, res, error));
      },
    );
    this.server.keepAliveTimeout = 5_000;
    await new Promise<void>((resolve, reject) => {
      this.server!.once('error', reject);
      this.server!.listen(this.options.port, this.options.host ?? '127.0.0.1', () => resolve());
    });
    watchFile(
      this.options.configPath,
      { interval: this.options.watchIntervalMs ?? 1000 },
      () => void this.reload(),
    );
    await this.maintain();
    this.loop = this.tickLoop();
    this.preparePage();
    return this.url;
  }

  /** The page's week and warnings of the config in force, worked out before anyone asks. */
  private preparePage(): void {
    const config = this.config;
    import('../page/routes.ts')
      .then(({ preparePage }) => preparePage(config, this.options.clock.now()))
      .catch((error: unknown) => this.options.log.warn('page not prepared', { error: String(error) }));
  }

  private async maintain(): Promise<void> {
    try {
      const done = await this.options.ledger.maintain();
      if (
        done.historyRotated ||
        done.idempotencyRemoved > 0 ||
        done.claimsRemoved > 0 ||
        done.overridesRemoved > 0
      )
        this.options.log.info('state folder upkeep', done);
    } catch (error) {
      // Upkeep is not the tick: a failure here is logged and tried again in an hour.
      this.options.log.warn('state folder upkeep failed', { error: String(error) });
    }
  }

  get url(): string {
    const { port } = this.server!.address() as AddressInfo;
    const host = this.options.host ?? '127.0.0.1';
    return `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
  }

  /**
   * Stops taking work and lets in-flight requests and the running tick finish, for at most the
   * grace period: then every connection still open (a client trickling a body, say) is closed, so
   * shutdown never waits on a client.
   */
  async stop(): Promise<void> {
    this.stopping.abort();
    unwatchFile(this.options.configPath);
    const server = this.server;
    const closed = new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
    server?.closeIdleConnections();
    const grace = this.options.shutdownGraceMs ?? 10_000;
    const finished = Promise.all([this.loop, this.currentTick, closed]).then(() => true);
    let timer: NodeJS.Timeout | undefined;
    const expired = new Promise<false>((resolve) => {
      timer = setTimeout(() => resolve(false), grace);
    });
    const inTime = await Promise.race([finished, expired]);
    clearTimeout(timer);
    if (!inTime) {
      this.options.log.warn('shutdown grace period over: closing the connections still open', {
        graceMs: grace,
      });
      server?.closeAllConnections();
    }
  }

  private async load(): Promise<Config> {
    // Calendars get their dates around the runtime's clock (NIGHTSHIFT_CLOCK_START may move it).
    const config = await readConfigFile(this.options.configPath, { now: this.options.clock.now() });
    return this.options.transformConfig ? this.options.transformConfig(config) : config;
  }

  private async reload(): Promise<void> {
    try {
      this.config = await this.load();
      this.options.log.info('config reloaded', {
        path: this.options.configPath,
        schedules: this.config.schedules.length,
      });
      this.options.print(`config reloaded: ${this.config.schedules.length} schedules`);
      this.preparePage();
    } catch (error) {
      const issues = error instanceof ConfigError ? error.issues : undefined;
      this.options.log.error('config change refused; the last good config stays in force', {
        path: this.options.configPath,
        ...(issues ? { issues } : { error: String(error) }),
      });
      this.options.print(
        `config change refused, the last good config stays in force:\n${(error as Error).message}`,
      );
    }
  }

  private cursorPath(): string {
    return join(this.options.stateDir, 'cursor.json');
  }

  private async readCursor(): Promise<number | undefined> {
    try {
      const value = JSON.parse(await readFile(this.cursorPath(), 'utf8')) as { evaluatedTo?: string };
      const ms = Date.parse(value.evaluatedTo ?? '');
      return Number.isNaN(ms) ? undefined : ms;
    } catch {
      return undefined;
    }
  }

  private async writeCursor(ms: number): Promise<void> {
    const tmp = `${this.cursorPath()}.${process.pid}.${randomUUID()}.tmp`;
    await writeFile(tmp, JSON.stringify({ evaluatedTo: new Date(ms).toISOString() }));
    await rename(tmp, this.cursorPath());
  }

  private async tickLoop(): Promise<void> {
    const { clock } = this.options;
    const floorMinute = (ms: number) => Math.floor(ms / MINUTE) * MINUTE;
    // Resume where the last run (of any process sharing the state) stopped, so a restart catches up.
    let cursor = (await this.readCursor()) ?? floorMinute(clock.now());
    let failuresInARow = 0;
    while (!this.stopping.signal.aborted) {
      const next = floorMinute(clock.now()) + MINUTE;
      if (next - MINUTE <= cursor) await clock.sleepUntil(next, this.stopping.signal);
      if (this.stopping.signal.aborted) break;
      const minute = floorMinute(clock.now());
      if (minute <= cursor) {
        // The clock went back (a restart with an older clock, a corrected host clock): the
        // minutes up to the cursor were evaluated, so one-shot edges wait for it, but the states
        // the schedules hold are still reconciled every minute.
        if (minute < cursor) await this.behind(cursor, minute);
        continue;
      }
      if (this.behindSince !== undefined) {
        this.options.log.info('the clock has passed the cursor again: one-shot edges are evaluated again', {
          cursor: new Date(cursor).toISOString(),
        });
        this.behindSince = undefined;
      }
      const tick = this.tick(cursor, minute);
      this.currentTick = tick.catch(() => undefined);
      try {
        await tick;
        cursor = minute;
        failuresInARow = 0;
        await this.writeCursor(cursor);
        // Once an hour, keep the state folder bounded (old claims, idempotency files, history).
        if (minute % (60 * MINUTE) === 0) await this.maintain();
      } catch (error) {
        // The ledger failed: keep the cursor so a later tick tries this window again, but wait
        // first (1 s, 2 s, 4 s ... up to a minute): retrying at once would spin, starving the
        // HTTP API, the timers and SIGTERM.
        failuresInARow += 1;
        const retryInMs = Math.min(TICK_RETRY_MAX_MS, TICK_RETRY_BASE_MS * 2 ** (failuresInARow - 1));
        this.options.log.error('tick failed', { error: String(error), failuresInARow, retryInMs });
        await sleep(retryInMs, this.stopping.signal);
      }
    }
  }

  /** A minute while the clock is behind the cursor: levels only (no one-shot edge is repeated). */
  private async behind(cursor: number, minute: number): Promise<void> {
    if (this.behindSince === undefined) {
      this.behindSince = minute;
      this.options.log.warn(
        "the clock is behind the state folder's cursor: reconciling held states only until it passes it",
        {
          now: new Date(minute).toISOString(),
          cursor: new Date(cursor).toISOString(),
          behindMinutes: (cursor - minute) / MINUTE,
        },
      );
      this.options.print(
        `warning: the clock (${new Date(minute).toISOString()}) is behind the last evaluated minute (${new Date(cursor).toISOString()}); held states are still reconciled, one-shot edges resume after it`,
      );
    }
    const tick = this.tick(minute, minute, { levelsOnly: true });
    this.currentTick = tick.catch(() => undefined);
    try {
      await tick;
    } catch (error) {
      this.options.log.error('tick failed', { error: String(error) });
    }
  }

  private async tick(
    cursor: number,
    minute: number,
    mode: { levelsOnly?: boolean } = {},
  ): Promise<ReconcileSummary> {
    const { log, print, clock } = this.options;
    let from = cursor;
    if (minute - from > MAX_LOOKBACK_MS) {
      log.warn('clock jumped; minutes beyond the look-back are not evaluated', {
        from: new Date(from).toISOString(),
        to: new Date(minute - MAX_LOOKBACK_MS).toISOString(),
      });
      from = minute - MAX_LOOKBACK_MS;
    }
    if (minute - from > MINUTE) {
      log.warn('catching up', {
        from: new Date(from).toISOString(),
        to: new Date(minute).toISOString(),
        minutes: (minute - from) / MINUTE,
      });
    }
    const started = Date.now();
    // An override already over when it shows up is said so, before the read below tidies it away.
    await this.droppedOverrides.check(this.options.ledger, minute);
    // Read from the state folder each tick, and again during it: an override added by any process
    // stops calls on its targets within a second. Those ended since still judge the DRS ends due
    // since `from`, or owed since.
    const readOverrides = () =>
      this.options.ledger.overrides(mode.levelsOnly ? minute : overridesSince(from, this.maxCatchUpMs));
    const overrides = await readOverrides();
    for (const o of mode.levelsOnly ? [] : expiringOverrides(overrides, from, minute)) {
      log.warn('override ending in 30 minutes: the schedules take over again at its until', {
        override: o.id,
        targets: o.targets,
        state: o.state,
        until: o.until,
        reason: o.reason,
      });
      print(
        `override ${o.id} (${o.state} ${o.targets.join(', ')}) ends at ${wallClock(Date.parse(o.until), this.options.zone ?? 'UTC')}: schedules take over then`,
      );
    }
    const owner = this.owners.begin('tick');
    const ledgerFailures: TickReport['ledgerFailures'] = [];
    const config = this.config;
    let summary: ReconcileSummary;
    try {
      summary = await reconcile({
        config,
        from,
        now: minute,
        overrides,
        refreshOverrides: readOverrides,
        overridesVersion: () => this.overridesVersion,
        clock: () => clock.now(),
        signal: this.stopping.signal,
        ledger: this.options.ledger,
        upstream: this.options.upstream,
        owner,
        isOwnerGone: this.owners.isGone,
        maxLatenessMs: this.maxCatchUpMs,
        // A live process never loses its lease mid-call: it outlasts the tick's whole budget.
        leaseMs: Math.max(5 * MINUTE, (TICK_BUDGET_MS + 15_000) * clock.speed),
        // Behind the cursor, records from the minutes before the clock went back hold nothing up.
        ...(mode.levelsOnly ? { clockBehind: true } : {}),
        remainingMs: () => TICK_BUDGET_MS - (Date.now() - started),
        onEntry: (entry) => this.report(entry),
        onWarning: (warning) => {
          log.warn(warning.code, { ...warning });
          print(`warning: ${warning.target}: ${warning.message}`);
        },
        onLedgerError: (error, target) => {
          ledgerFailures.push({ target, error: String(error) });
          log.error('ledger write failed: nothing is done on this target until it can record', {
            target,
            error: String(error),
          });
        },
      });
    } finally {
      this.owners.end(owner);
    }
    this.sayNotSet(summary.secretsNotSet);
    await this.options.onTick?.({ config, from, to: minute, overrides, summary, ledgerFailures });
    if (summary.looked > 0 || summary.entries.length > 0 || summary.ledgerErrors > 0)
      log.info('tick', { ...summary, entries: undefined });
    if (summary.ledgerErrors > 0)
      print(`${summary.ledgerErrors} ledger write(s) failed: those targets were left alone (see the log)`);
    return summary;
  }

  /**
   * An account whose secret still holds the stack's placeholder: its targets are left alone every
   * tick, and that is said once an hour per account (the secret's name, never its value).
   */
  private sayNotSet(notSet: readonly SecretNotSet[]): void {
    const now = this.options.clock.now();
    for (const warning of notSet) {
      const said = this.notSetSaid.get(warning.account);
      if (said !== undefined && now - said < HOUR) continue;
      this.notSetSaid.set(warning.account, now);
      this.options.log.warn(SECRET_NOT_SET_MESSAGE, { ...warning });
      this.options.print(`warning: ${warning.message}`);
    }
  }

  private report(entry: HistoryEntry): void {
    const { result } = entry;
    logEntry(this.options.log, entry);
    const zone = this.options.zone ?? 'UTC';
    const seen = result.observed === undefined ? '' : `, now ${result.observed ?? 'unreadable'}`;
    const outcome =
      result.status === 'unchanged'
        ? `unchanged (already ${result.desired}${seen})`
        : result.ok
          ? `ok (${result.httpStatus ?? '-'}, ${result.durationMs} ms${seen}${result.verified === false ? ', not yet verified' : ''})`
          : `${result.status.toUpperCase()} ${result.errorCode ?? ''} ${result.errorMessage ?? ''}`.trim();
    // An action is named by what asked for it: the schedule, or the override that holds the target.
    const cause = entry.override ? `override ${entry.override}` : (entry.schedule ?? entry.trigger);
    const at = entry.scheduledAt ?? entry.recordedAt;
    this.options.print(
      `${wallClock(Date.parse(at), zone)} ${cause}: ${result.action} ${result.target} ${outcome}${entry.late ? ' (late)' : ''}`,
    );
  }

  private async serveHttp(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    let size = 0;
    let tooLarge = false;
    try {
      for await (const chunk of req) {
        size += (chunk as Buffer).length;
        if (size > MAX_BODY_BYTES) {
          // Keep one byte past the limit so the router answers 413; stop reading the rest.
          chunks.push((chunk as Buffer).subarray(0, 1));
          tooLarge = true;
          break;
        }
        chunks.push(chunk as Buffer);
      }
    } catch {
      // The client went away (or Node timed its body out and answered 408): nobody to answer.
      return;
    }
    const body = tooLarge
      ? Buffer.concat([Buffer.alloc(MAX_BODY_BYTES), chunks.at(-1)!])
      : Buffer.concat(chunks);
    const target = parseTarget(req.url ?? '/');
    const headers: Record<string, string | undefined> = {};
    for (const [name, value] of Object.entries(req.headers))
      headers[name] = Array.isArray(value) ? value.join(', ') : value;
    const answer = target
      ? await this.router.handle({
          method: req.method ?? 'GET',
          path: target.path,
          // Signed as sent: the request line's target, path and query exactly.
          target: req.url ?? '/',
          query: target.query,
          headers,
          body,
          deadline: Date.now() + (this.options.requestBudgetMs ?? 30_000),
        })
      : {
          status: 400,
          headers: { 'content-type': 'application/json', 'cache-control': 'no-store' },
          body: JSON.stringify({
            error: { code: HttpErrorCode.badRequest, message: 'the request target is not a valid path' },
          }),
        };
    if (res.destroyed) return;
    res.writeHead(answer.status, {
      ...answer.headers,
      'content-length': Buffer.byteLength(answer.body),
      ...(tooLarge ? { connection: 'close' } : {}),
    });
    res.end(answer.body);
  }

  /** The last line of defence for one request: log it, answer 500 if still possible. */
  private requestFailed(req: IncomingMessage, res: ServerResponse, error: unknown): void {
    this.options.log.error('request failed', {
      method: req.method,
      error: error instanceof Error ? `${error.name}: ${error.message}` : String(error),
    });
    try {
      if (!res.headersSent && !res.destroyed) {
        const body = JSON.stringify({ error: { code: HttpErrorCode.internal, message: 'internal error' } });
        res.writeHead(500, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
        res.end(body);
      } else {
        res.destroy();
      }
    } catch {
      res.destroy();
    }
  }
}
