import type { Scheduler } from 'fast-check';
import type { Config } from '../functions/engine/config/schema.ts';
import { parseConfig } from '../functions/engine/config/validate.ts';
import { desiredOf, type OverrideRule } from '../functions/engine/decision.ts';
import { latestEdges } from '../functions/engine/desired.ts';
import { ErrorCode } from '../functions/engine/error-codes.ts';
import type { HistoryEntry, InFlight, Ledger, TargetRecord } from '../functions/engine/ledger.ts';
import { carryOut } from '../functions/engine/on-demand.ts';
import type { Override } from '../functions/engine/overrides.ts';
import { due } from '../functions/engine/planner.ts';
import { overridesSince, reconcile } from '../functions/engine/reconcile.ts';
import type { SimEvent, SimParams } from './params.ts';
import { type Held, type Sent, SimUpstream, upstreamId, World } from './world.ts';

const MINUTE = 60_000;
/** Monday 2027-03-29 06:00 UTC: the simulated day starts here. */
export const SIM_START = Date.parse('2027-03-29T06:00:00Z');
const LEASE_MS = 5 * MINUTE;
const TICK_BUDGET_MS = 45_000;
const MAX_LATENESS_MS = 15 * MINUTE;
/** Time a new desired state may take to be reached when upstream is healthy (invariant 1). */
export const CONVERGENCE_BOUND_MS = 5 * MINUTE;
/** The reason of an entry for a call left in flight by an actor now gone, resolved by status. */
const RESOLVED_BY_STATUS = /was never recorded; resolved by status: /;
/** An override acknowledged this long ago binds every request (invariant 3). */
const HAND_OVER_MS = 1_000;

/** A broken guarantee: which invariant, and what was seen. */
export class InvariantViolation extends Error {
  override readonly name = 'InvariantViolation';
  constructor(
    readonly invariant: number,
    message: string,
  ) {
    super(`invariant ${invariant}: ${message}`);
  }
}

/** A ledger the simulation runs on: the memory one, the file ledger, or DynamoDB on dynalite. */
export interface SimLedger {
  ledger: Ledger;
  /** The ledger instance engine `i` uses (two processes on one folder or table); default `ledger`. */
  engineLedger?(i: number): Ledger;
  close?(): Promise<void>;
}

/** Ways to watch a run: each request as it goes out, and the world once it exists. */
export interface SimHooks {
  onSent?: (sent: Sent, world: World) => void;
  onWorld?: (world: World) => void;
  onStart?: (params: SimParams) => void;
  /** Each ledger operation of an engine, as it ends: its arguments and what came of it. */
  onLedger?: (engine: string, op: string, args: readonly unknown[], outcome: string) => void;
}

/** An injected ledger failure: a full disk, before or after the write landed, or a torn batch. */
class InjectedFault extends Error {
  override readonly name = 'InjectedFault';
  readonly code = 'ENOSPC';
}

interface OverrideLog {
  override: Override;
  acknowledgedAt: number;
  removedAt?: number;
}

interface Engine {
  name: string;
  incarnation: number;
  alive: boolean;
  busy: boolean;
  cursor: number;
  /** Its actors (passes, requests) still running: a lease of one that ended is void. */
  actors: Set<string>;
}

export interface SimReport {
  minutes: number;
  targets: number;
  requests: number;
  calls: number;
  entries: number;
  crashes: number;
}

const NEVER = new Promise<never>(() => undefined);

/**
 * One simulated run: a world of tasks on a virtual clock, two engines sharing one ledger and
 * ticking every minute, the seed's events (overrides, changes behind the engine's back, config
 * changes, crashes at any await, on-demand actions) and faults, then a healthy stretch. The
 * scheduler decides the order in which every ledger and upstream await resolves. The six
 * invariants of the contract are checked after every step; a violation throws.
 */
export async function simulate(
  params: SimParams,
  s: Scheduler,
  store: SimLedger,
  hooks: SimHooks = {},
): Promise<SimReport> {
  const world = new World(params.seed, SIM_START, params.faults);
  hooks.onWorld?.(world);
  hooks.onStart?.(params);
  let config = parseConfig(params.config);
  const configHistory: { from: number; config: Config }[] = [{ from: SIM_START, config }];
  const engines: Engine[] = params.engines.map((name) => ({
    name,
    incarnation: 0,
    alive: true,
    busy: false,
    cursor: SIM_START - MINUTE,
    actors: new Set<string>(),
  }));
  for (const [name, target] of Object.entries(config.targets))
    world.add(upstreamId(target), target.kind, params.initial[name] ?? 'stopped');
  for (const name of params.unreadable) world.unreadable.add(upstreamId(config.targets[name]!));

  const overrides: OverrideLog[] = [];
  /** Calls sent, by call id; in-flight records written, by call id, with the engine that wrote them. */
  const sentCalls = new Map<string, Sent>();
  const inFlightWritten = new Map<string, { engine: string; incarnation: number }>();
  /** When each in-flight record was first written, on the world's clock (invariant 6). */
  const flightWrittenAt = new Map<string, number>();
  /** Calls in flight whose taking back (not sent after all) failed to be written. */
  const takeBackFailed = new Set<string>();
  /** In-flight records that landed though their write reported a failure (so nothing was sent). */
  const unacknowledged = new Set<string>();
  /** Per target and desired state (since + want): the scheduled calls sent, in order. */
  const callsByEpoch = new Map<string, Sent[]>();
  /** Per target: the last change made behind the engine's back. */
  const lastBehind = new Map<string, number>();
  const endsCalled = new Set<string>();
  let crashes = 0;
  const healthyFrom = SIM_START + (params.minutes - params.healthyMinutes) * MINUTE;
  /** Per target, the desired state seen in the healthy stretch and since when (invariant 1). */
  const desiredSeen = new Map<string, { key: string; began: number }>();

  const gateFor = (engine: Engine) => {
    const incarnation = engine.incarnation;
    return async (label: string): Promise<void> => {
      if (!engine.alive || engine.incarnation !== incarnation) return NEVER;
      await s.schedule(Promise.resolve(), `${engine.name}#${incarnation} ${label}`);
      if (!engine.alive || engine.incarnation !== incarnation) return NEVER;
    };
  };

  /** Each target's desired state as its record last held it, numbered as it changes. */
  const epochOf = new Map<string, { key: string; serial: number }>();
  /** The in-flight record each target's latest written record holds (writes are linear by CAS). */
  const flightOf = new Map<string, InFlight | undefined>();
  /** History entries as they land (the first of an id is the one every reader sees). */
  const entriesById = new Map<string, HistoryEntry>();
  const landed = (entries: readonly HistoryEntry[]) => {
    for (const entry of entries) if (!entriesById.has(entry.id)) entriesById.set(entry.id, entry);
  };

  const wrapLedger = (engine: Engine): Ledger => {
    const gate = gateFor(engine);
    const incarnation = engine.incarnation;
    const real = store.engineLedger?.(engines.indexOf(engine)) ?? store.ledger;
    const fault = (name: string): 'enospc-before' | 'enospc-after' | 'torn' | undefined => {
      if (world.healthy || !['record', 'putTarget'].includes(name) || world.roll() >= params.ledgerFaultRate)
        return undefined;
      const r = world.roll();
      return r < 0.4 ? 'enospc-before' : r < 0.8 || name !== 'record' ? 'enospc-after' : 'torn';
    };
    const op =
      <A extends unknown[], R>(name: string, fn: (...args: A) => Promise<R>) =>
      async (...args: A): Promise<R> => {
        await gate(`ledger ${name}`);
        const injected = fault(name);
        if (injected) hooks.onLedger?.(`${engine.name}#${incarnation}`, name, args, `fault ${injected}`);
        if (injected === 'enospc-before' && name === 'putTarget') {
          // A write taking back a call in flight failed: the next look resolves it as unknown.
          const record = args[0] as TargetRecord;
          const held = flightOf.get(record.target);
          if (held && !record.inFlight) takeBackFailed.add(held.id);
        }
        if (injected === 'enospc-before') throw new InjectedFault(`ENOSPC before ${name}`);
        if (injected === 'torn') {
          const entries = args[0] as HistoryEntry[];
          const half = entries.slice(0, Math.floor(entries.length / 2));
          await real.record(half);
          landed(half);
          throw new InjectedFault('ENOSPC: a history batch torn half way');
        }
        const result = await fn(...args);
        hooks.onLedger?.(
          `${engine.name}#${incarnation}`,
          name,
          args,
          JSON.stringify(result ?? null).slice(0, 80),
        );
        if (name === 'record') landed(args[0] as HistoryEntry[]);
        if (name === 'putTarget' && result === true) {
          const record = args[0] as TargetRecord;
          flightOf.set(record.target, record.inFlight);
          // A new desired state in the record (an edge, an override, its end): calls count anew.
          const key = `${record.identity}|${record.desired}|${record.since}|${record.because}`;
          const epoch = epochOf.get(record.target);
          if (epoch?.key !== key) epochOf.set(record.target, { key, serial: (epoch?.serial ?? 0) + 1 });
          if (record.inFlight && !flightWrittenAt.has(record.inFlight.id))
            flightWrittenAt.set(record.inFlight.id, world.clock);
          if (record.inFlight && !inFlightWritten.has(record.inFlight.id))
            inFlightWritten.set(record.inFlight.id, { engine: engine.name, incarnation });
        }
        if (injected === 'enospc-after') {
          const record = args[0] as TargetRecord;
          if (name === 'putTarget' && record.inFlight) unacknowledged.add(record.inFlight.id);
          throw new InjectedFault(`ENOSPC after ${name} landed`);
        }
        // A crash here: the write landed, the engine never learns it.
        await gate(`ledger ${name} done`);
        return result;
      };
    // Every method of the port goes through the gate: a ledger port grown by a feature is covered.
    // Except the mark of a call's sending, synchronous by contract: it is made in the same run as
    // the request's write, so no crash falls between the two (gated, it became a promise the
    // sender did not wait for, and a crash there left a call sent without its mark).
    return new Proxy(real, {
      get(target, key, receiver) {
        const value = Reflect.get(target, key, receiver);
        if (typeof value !== 'function' || typeof key !== 'string') return value;
        if (key === 'markSending') return value.bind(target);
        return op(key, (...args: unknown[]) =>
          (value as (...a: unknown[]) => Promise<unknown>).apply(target, args),
        );
      },
    });
  };

  const upstreamFor = (engine: Engine) =>
    new SimUpstream(
      world,
      engine.name,
      gateFor(engine),
      (target) => flightOf.get(target),
      (sent) => checkSend(sent),
    );

  // ---- invariants checked as each request goes out ----
  /**
   * The override binding `target` at instant `t` for a request sent at `sentAt`: acknowledged a
   * second before the request at least (the hand-over), and not yet removed when it was sent (an
   * engine may act on a removal at once).
   */
  const coveringAt = (
    target: string,
    t: number,
    sentAt: number,
    handOver = HAND_OVER_MS,
  ): OverrideLog | undefined => {
    let found: OverrideLog | undefined;
    for (const log of overrides) {
      if (log.acknowledgedAt > sentAt - handOver) continue;
      if (log.removedAt !== undefined && log.removedAt <= sentAt) continue;
      if (!log.override.targets.includes(target)) continue;
      if (Date.parse(log.override.from) > t || Date.parse(log.override.until) <= t) continue;
      // The latest start wins; of two starting at one instant, the newer (as the engine orders
      // them: by creation, then id).
      if (
        !found ||
        Date.parse(log.override.from) > Date.parse(found.override.from) ||
        (Date.parse(log.override.from) === Date.parse(found.override.from) &&
          (log.override.createdAt.localeCompare(found.override.createdAt) ||
            log.override.id.localeCompare(found.override.id)) > 0)
      )
        found = log;
    }
    return found;
  };

  /** What each read of an upstream thing could have shown: the world's state as it went out. */
  const readsOf = new Map<string, { at: number; state: Held; pending?: Held }[]>();

  const checkSend = (sent: Sent) => {
    hooks.onSent?.(sent, world);
    if (sent.kind === 'read' && world.tasks.has(sent.upstream)) {
      const list = readsOf.get(sent.upstream) ?? [];
      list.push({ at: sent.at, ...world.stateOf(sent.upstream) });
      readsOf.set(sent.upstream, list);
    }
    // Within the hand-over second the engine may follow either: the override before, or the new.
    const settled = coveringAt(sent.target, sent.at, sent.at);
    const newest = coveringAt(sent.target, sent.at, sent.at, 0);
    const cover = settled?.override.id === newest?.override.id ? settled : undefined;
    // 3. No request of any kind on a hands-off target (allowing the one-second hand-over).
    if (cover?.override.state === 'hands-off' && sent.flight?.trigger !== 'http')
      throw new InvariantViolation(
        3,
        `${sent.kind} on ${sent.target} at ${iso(sent.at)} under hands-off ${cover.override.id} acknowledged ${iso(cover.acknowledgedAt)}`,
      );
    if (sent.kind !== 'call') return;
    const flight = sent.flight;
    if (!flight)
      throw new InvariantViolation(
        5,
        `a call on ${sent.target} at ${iso(sent.at)} without an in-flight record`,
      );
    if (sentCalls.has(flight.id)) throw new InvariantViolation(4, `call ${flight.id} sent twice`);
    sentCalls.set(flight.id, sent);
    if (flight.trigger === 'tick' && cover && !flight.occurrence && cover.override.state !== flight.want)
      throw new InvariantViolation(
        3,
        `${flight.action} on ${sent.target} at ${iso(sent.at)} contradicts override ${cover.override.id} (${cover.override.state})`,
      );
    if (flight.occurrence) {
      // 2. No DRS end unless its edge is due, allowStop is set and no override covered that minute.
      const at = Date.parse(flight.occurrence);
      const cfg = configAt(sent.at).targets[sent.target];
      const dueEnd = due(configAt(sent.at), at - MINUTE, at).some(
        (r) => r.action === 'stop' && r.targets.includes(sent.target),
      );
      if (!dueEnd || cfg?.kind !== 'drs-job' || !cfg.allowStop)
        throw new InvariantViolation(
          2,
          `DRS end of ${sent.target} at ${iso(sent.at)} for ${flight.occurrence}: not due or not allowed`,
        );
      if (sent.at - at > MAX_LATENESS_MS + TICK_BUDGET_MS + MINUTE)
        throw new InvariantViolation(
          2,
          `DRS end of ${sent.target} sent ${Math.round((sent.at - at) / MINUTE)} min after its edge`,
        );
      const covered = coveringAt(sent.target, at, sent.at);
      if (covered)
        throw new InvariantViolation(
          2,
          `DRS end of ${sent.target} for ${flight.occurrence}, covered by ${covered.override.id}`,
        );
      const key = `${sent.target}|${flight.occurrence}`;
      if (endsCalled.has(key))
        throw new InvariantViolation(2, `DRS end of ${sent.target} for ${flight.occurrence} sent twice`);
      endsCalled.add(key);
      return;
    }
    if (flight.trigger !== 'tick') return;
    // 4. At most one call per target per desired state, unless a verify saw it unreached and
    // the backoff had elapsed: the one before must have an outcome that says not reached.
    // A config change of the task id is a new target: a new desired state.
    const epoch = `${sent.upstream}|${flight.since}|${flight.want}|${epochOf.get(sent.target)?.serial ?? 0}`;
    const calls = callsByEpoch.get(epoch) ?? [];
    const previous = calls.at(-1);
    if (previous) {
      const outcome = recordedEntry(previous.flight!.id);
      if (!outcome)
        throw new InvariantViolation(
          4,
          `second call on ${sent.target} for ${flight.want} since ${flight.since} at ${iso(sent.at)} before the first (${iso(previous.at)}) had an outcome`,
        );
      // Reached, then seen drifted by a later read (enforce): a new call is due.
      const drifted = (readsOf.get(sent.upstream) ?? []).some(
        (r) => r.at > previous.at && (r.state !== flight.want || r.pending !== undefined),
      );
      if (outcome.result.ok && outcome.result.verified !== false && !drifted)
        throw new InvariantViolation(
          4,
          `second call on ${sent.target} for ${flight.want} though the first was verified`,
        );
      // Backoff counts in ticks: the next try is a later pass, a minute on at least.
      if (Date.parse(flight.startedAt) - Date.parse(previous.flight!.startedAt) < MINUTE)
        throw new InvariantViolation(4, `second call on ${sent.target} in the same minute as the first`);
    }
    calls.push(sent);
    callsByEpoch.set(epoch, calls);
  };

  const recordedEntry = (id: string): HistoryEntry | undefined => entriesById.get(id);

  const configAt = (t: number): Config => {
    let found = configHistory[0]!.config;
    for (const c of configHistory) if (c.from <= t) found = c.config;
    return found;
  };

  // ---- invariant 6, after every step ----
  const checkStep = () => {
    for (const name of Object.keys(config.targets)) {
      const flight = flightOf.get(name);
      const since = flight ? flightWrittenAt.get(flight.id) : undefined;
      if (since !== undefined && world.clock - since > LEASE_MS + 2 * MINUTE + TICK_BUDGET_MS)
        throw new InvariantViolation(
          6,
          `${name}: call ${flight!.id} in flight since ${iso(since)} (started ${flight!.startedAt}), now ${iso(world.clock)}`,
        );
    }
  };

  // ---- running ----
  const startPass = (engine: Engine, minute: number) => {
    engine.busy = true;
    const owner = `${engine.name}#${engine.incarnation}/tick-${minute}`;
    engine.actors.add(owner);
    const started = world.clock;
    const from = engine.cursor;
    const incarnation = engine.incarnation;
    const ledger = wrapLedger(engine);
    void (async () => {
      const readOverrides = () => ledger.overrides(overridesSince(from, MAX_LATENESS_MS));
      const initial = await readOverrides();
      await reconcile({
        config,
        from,
        now: minute,
        overrides: initial,
        refreshOverrides: readOverrides,
        clock: () => world.clock,
        realNow: () => world.clock,
        ledger,
        upstream: upstreamFor(engine),
        owner,
        isOwnerGone: (o) => isGone(o),
        maxLatenessMs: MAX_LATENESS_MS,
        leaseMs: LEASE_MS,
        remainingMs: () => TICK_BUDGET_MS - (world.clock - started),
      });
      if (engine.incarnation === incarnation) {
        engine.cursor = Math.max(engine.cursor, minute);
        engine.busy = false;
        engine.actors.delete(owner);
      }
    })().catch((error: unknown) => {
      if (error instanceof InvariantViolation) failure ??= error;
      else if (!(error instanceof InjectedFault))
        failure ??= new InvariantViolation(0, `the engine failed: ${String(error)}`);
      if (engine.incarnation === incarnation) {
        // A ledger failure fails the pass (as in serve): the cursor stays, the next minute retries.
        engine.busy = false;
        engine.actors.delete(owner);
      }
    });
  };
  let failure: InvariantViolation | undefined;

  const isGone = (owner: string): boolean => {
    const match = /^(\w+)#(\d+)\//.exec(owner);
    if (!match) return false;
    const engine = engines.find((e) => e.name === match[1]);
    if (!engine) return false;
    // A restarted process knows its earlier self is gone (serve: by PID namespace, PID and start
    // time), and a process knows which of its own actors have finished.
    return engine.incarnation !== Number(match[2]) || !engine.actors.has(owner);
  };

  /** Each on-demand request its own id and actor, as two HTTP requests have. */
  let requests = 0;
  const onDemand = (engine: Engine, event: Extract<SimEvent, { kind: 'onDemand' }>) => {
    const ledger = wrapLedger(engine);
    const gate = gateFor(engine);
    requests += 1;
    const request = requests;
    const owner = `${engine.name}#${engine.incarnation}/req-${event.at}-${request}`;
    const incarnation = engine.incarnation;
    engine.actors.add(owner);
    lastBehind.set(event.target, world.clock);
    void carryOut(config, [{ target: event.target, action: event.action }], {
      upstream: upstreamFor(engine),
      ledger,
      owner,
      trigger: 'http',
      now: () => world.clock,
      realNow: () => world.clock,
      sleep: async (ms) => {
        await gate('sleep');
        world.clock += ms;
      },
      requestId: `req-${event.at}-${request}-${event.target}`,
      overrides: () => ledger.overrides(world.clock),
      isOwnerGone: (o) => isGone(o),
      deadline: world.clock + 30_000,
    })
      .catch((error: unknown) => {
        if (error instanceof InvariantViolation) failure ??= error;
        else if (!(error instanceof InjectedFault))
          failure ??= new InvariantViolation(0, `an on-demand action failed: ${String(error)}`);
      })
      .finally(() => {
        if (engine.incarnation === incarnation) engine.actors.delete(owner);
      });
  };

  const apply = async (event: SimEvent) => {
    switch (event.kind) {
      case 'override': {
        const from = world.clock + event.fromMinutes * MINUTE;
        const override: Override = {
          id: `ovr-${event.at}-${event.targets.join('-')}-${overrides.length}`,
          targets: event.targets,
          state: event.state,
          from: iso(from),
          until: iso(from + event.minutes * MINUTE),
          reason: 'simulated',
          createdAt: iso(world.clock),
        };
        // Acknowledged when the write has landed: from then on it binds (within a second).
        await store.ledger.putOverride(override).then(
          () => overrides.push({ override, acknowledgedAt: world.clock }),
          () => undefined,
        );
        break;
      }
      case 'removeOverride': {
        const log = overrides.filter((o) => o.removedAt === undefined)[
          event.index % Math.max(1, overrides.length)
        ];
        if (log && (await store.ledger.removeOverride(log.override.id).catch(() => undefined)))
          log.removedAt = world.clock;
        break;
      }
      case 'behind': {
        const target = config.targets[event.target];
        if (!target) break;
        world.change(upstreamId(target), event.state);
        lastBehind.set(event.target, world.clock);
        break;
      }
      case 'config': {
        // A hot reload pointing a target at another task: a new upstream thing, in its own state.
        const raw = structuredClone(params.config) as { targets: Record<string, Record<string, unknown>> };
        const target = raw.targets[event.target];
        if (!target) break;
        if (target.kind === 'vias-task') target.taskId = `${String(target.taskId)}-${event.at}`;
        else if (target.kind === 'cpts-task') target.taskId = Number(target.taskId) + event.at;
        else break;
        config = parseConfig(raw);
        configHistory.push({ from: world.clock, config });
        const next = config.targets[event.target]!;
        world.add(upstreamId(next), next.kind, event.state);
        if (params.unreadable.includes(event.target)) world.unreadable.add(upstreamId(next));
        lastBehind.set(event.target, world.clock);
        break;
      }
      case 'crash':
      case 'onDemand':
        break;
    }
  };

  const drive = async (crashesNow: Extract<SimEvent, { kind: 'crash' }>[]) => {
    let step = 0;
    let idle = 0;
    for (;;) {
      if (failure) throw failure;
      for (const crash of crashesNow)
        if (crash.afterSteps === step) {
          const engine = engines[crash.engine % engines.length]!;
          if (engine.alive) {
            engine.alive = false;
            engine.actors.clear();
            crashes += 1;
          }
        }
      if (s.count() === 0) {
        const working = engines.some((e) => e.alive && e.actors.size > 0);
        if (!working) break;
        // Between gates (microtasks), or real I/O under way (the file ledger, dynalite): one turn
        // of the event loop lets it reach its next gate.
        // Long real I/O (a disk flush): stop spinning.
        idle += 1;
        await new Promise((resolve) => (idle < 200 ? setImmediate(resolve) : setTimeout(resolve, 1)));
        continue;
      }
      idle = 0;
      await s.waitNext(1);
      step += 1;
      checkStep();
    }
    if (failure) throw failure;
  };

  for (let m = 0; m < params.minutes; m++) {
    const minute = SIM_START + m * MINUTE;
    world.clock = Math.max(world.clock, minute);
    world.healthy = minute >= healthyFrom;
    // A crashed engine comes back the next minute as a new process on the same ledger.
    for (const engine of engines)
      if (!engine.alive) {
        engine.alive = true;
        engine.busy = false;
        engine.incarnation += 1;
      }
    const events = world.healthy ? [] : params.events.filter((e) => e.at === m);
    for (const event of events) await apply(event);
    for (const engine of engines) if (!engine.busy) startPass(engine, minute);
    for (const event of events)
      if (event.kind === 'onDemand') onDemand(engines[event.engine % engines.length]!, event);
    await drive(events.filter((e): e is Extract<SimEvent, { kind: 'crash' }> => e.kind === 'crash'));
    if (world.healthy) await checkConverged(minute);
  }

  // ---- the end: every call has exactly one entry, and none was made up ----
  // The ledger's own history holds exactly the entries seen landing, one per id.
  const stored = await store.ledger.history();
  const storedIds = new Set(stored.map((e) => e.id));
  if (stored.length !== storedIds.size || storedIds.size !== entriesById.size)
    throw new InvariantViolation(
      5,
      `the ledger's history holds ${stored.length} entries (${storedIds.size} ids); ${entriesById.size} landed`,
    );
  for (const [id, sent] of sentCalls)
    if (!entriesById.has(id) && flightOf.get(sent.target)?.id !== id)
      throw new InvariantViolation(
        5,
        `call ${id} (${sent.action} ${sent.target} at ${iso(sent.at)}) has no history entry`,
      );
  // A ledger that keeps sending marks tells a call never sent from one sent by a process that
  // stopped; one without (memory here; DynamoDB on Lambda) cannot, and resolves both by status.
  const marksSending = typeof store.ledger.markSending === 'function';
  for (const [id, entry] of entriesById) {
    if (!id.startsWith('call-') || sentCalls.has(id)) continue;
    // Allowed: a process that stopped between recording its call and sending it.
    const writer = inFlightWritten.get(id);
    const crashedBeforeSending =
      writer !== undefined && engines.find((e) => e.name === writer.engine)!.incarnation > writer.incarnation;
    // Or one whose in-flight write landed though it reported a failure, or whose deadline came
    // while it waited for a slot, and which could not be taken back.
    const leftInFlight = crashedBeforeSending || unacknowledged.has(id) || takeBackFailed.has(id);
    // Such a call is resolved as one that may have been made (docs/guarantees.md, Limits): as
    // OUTCOME_UNKNOWN, or, without marks, by the status too when it shows what the call wanted.
    const asUnknown = entry.result.errorCode === ErrorCode.outcomeUnknown;
    const byStatus = !marksSending && RESOLVED_BY_STATUS.test(entry.reason ?? '');
    if (!(leftInFlight && (asUnknown || byStatus)))
      throw new InvariantViolation(
        5,
        `entry ${id} (${entry.result.action} ${entry.result.target}) for a call never made`,
      );
  }
  return {
    minutes: params.minutes,
    targets: Object.keys(config.targets).length,
    requests: world.sent.length,
    calls: sentCalls.size,
    entries: entriesById.size,
    crashes,
  };

  // ---- invariant 1, each healthy minute ----
  async function checkConverged(minute: number) {
    const edges = latestEdges(config, minute);
    const active = (await store.ledger.overrides(minute)) as OverrideRule[];
    for (const [name, target] of Object.entries(config.targets)) {
      const desired = desiredOf(name, edges.get(name), active, minute);
      // A new desired state begins when what is wanted, or why, changes (an edge, an override
      // beginning, ending or removed, a hot reload); one that held since before the healthy
      // stretch may have been left alone after a change behind the engine's back.
      const key = desired ? `${desired.state}|${desired.because}|${upstreamId(target)}` : '';
      const seen = desiredSeen.get(name);
      const began = seen === undefined ? Number.NEGATIVE_INFINITY : seen.key === key ? seen.began : minute;
      desiredSeen.set(name, { key, began });
      if (!desired || desired.state === 'hands-off' || desired.state === 'ended') continue;
      const id = upstreamId(target);
      if (world.unreadable.has(id)) continue;
      if (began < healthyFrom || minute - began < CONVERGENCE_BOUND_MS) continue;
      if ((lastBehind.get(name) ?? Number.NEGATIVE_INFINITY) >= began - CONVERGENCE_BOUND_MS) continue;
      const { state, pending } = world.stateOf(id);
      if (state === 'ended' || pending === 'ended') continue;
      const want: Held = desired.state;
      if (state !== want || pending !== undefined) {
        const record = (await store.ledger.targets([name])).get(name);
        throw new InvariantViolation(
          1,
          `${name} should be ${want} since ${iso(began)} (${desired.because}) but is ${state}${pending ? ` → ${pending}` : ''} at ${iso(minute)}; record: ${JSON.stringify(record)}`,
        );
      }
    }
  }
}

const iso = (ms: number): string => new Date(ms).toISOString();
