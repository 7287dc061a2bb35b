import type { TargetConfig } from '../functions/engine/config/schema.ts';
import { ErrorCode } from '../functions/engine/error-codes.ts';
import type {
  Outcome,
  PerformOptions,
  TargetRef,
  Upstream,
  UpstreamItem,
} from '../functions/engine/executor.ts';
import type { InFlight } from '../functions/engine/ledger.ts';
import type { Observation, StatusRead } from '../functions/engine/states.ts';
import {
  cptsTaskObservation,
  drsJobObservation,
  viasTaskObservation,
} from '../functions/huawei/status-map.ts';

/** A small seeded PRNG (mulberry32): the world's own dice, the same for the same seed. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The upstream thing a target config points at. */
export function upstreamId(config: TargetConfig): string {
  switch (config.kind) {
    case 'vias-task':
      return `vias:${config.taskId}`;
    case 'vias-batch-task':
      return `batch:${config.batchTaskId}`;
    case 'drs-job':
      return `drs:${config.jobId}`;
    case 'cpts-task':
      return `cpts:${config.testSuiteId}/${config.taskId}`;
  }
}

export type Held = 'running' | 'stopped' | 'paused' | 'ended';

interface Task {
  kind: TargetConfig['kind'];
  state: Held;
  /** A transition under way: the state it settles in, and when. */
  pending?: { to: Held; until: number };
}

export interface WorldFaults {
  /** Latency of every upstream request, ms: drawn in this range. */
  latencyMs: readonly [number, number];
  /** A call refused (a 5xx or 429 that outlasted the retries): nothing changes. */
  errorRate: number;
  /** A call applied, its answer lost (a timeout after the change). */
  lostRate: number;
  /** A status read that fails (a 5xx, a timeout). */
  readErrorRate: number;
  /** How long a transition stays pending (STARTING, STOPPING, ...), ms. */
  settleMs: readonly [number, number];
}

/** One upstream request, as the world saw it. */
export interface Sent {
  kind: 'read' | 'call';
  engine: string;
  target: string;
  upstream: string;
  at: number;
  action?: UpstreamItem['action'];
  /** For a call: the in-flight record it went out under. */
  flight?: InFlight;
}

/**
 * The simulated Huawei Cloud: the state of every task, changed by calls after a settle time, by
 * "someone else", and read by status queries; faults drawn from the seed. Time is virtual: every
 * request takes its latency on the world's clock, which only moves forward.
 */
export class World {
  clock: number;
  healthy = false;
  readonly tasks = new Map<string, Task>();
  /** Targets whose status read is refused (403): their status can never be read. */
  readonly unreadable = new Set<string>();
  readonly sent: Sent[] = [];
  private readonly dice: () => number;

  constructor(
    seed: number,
    start: number,
    readonly faults: WorldFaults,
  ) {
    this.dice = prng(seed);
    this.clock = start;
  }

  roll(): number {
    return this.dice();
  }

  latency(): number {
    // Healthy means answers in good time too: a tick's budget holds a read, a call and a verify.
    const [min, max] = this.healthy ? [5, Math.min(1_000, this.faults.latencyMs[1])] : this.faults.latencyMs;
    return Math.round(min + this.roll() * (max - min));
  }

  add(id: string, kind: TargetConfig['kind'], state: Held): void {
    this.tasks.set(id, { kind, state });
  }

  /** Someone changes a task in the console, behind Nightshift's back. */
  change(id: string, state: Held): void {
    const task = this.tasks.get(id);
    if (!task || task.state === 'ended') return;
    task.state = state;
    delete task.pending;
  }

  /** The state now, a transition that is due having settled. */
  stateOf(id: string): { state: Held; pending?: Held } {
    const task = this.tasks.get(id)!;
    if (task.pending && task.pending.until <= this.clock) {
      task.state = task.pending.to;
      delete task.pending;
    }
    return task.pending ? { state: task.state, pending: task.pending.to } : { state: task.state };
  }

  observe(id: string): Observation {
    const task = this.tasks.get(id)!;
    const { state, pending } = this.stateOf(id);
    switch (task.kind) {
      case 'vias-task':
      case 'vias-batch-task':
        return viasTaskObservation(
          pending
            ? pending === 'running'
              ? 'STARTING'
              : 'STOPPING'
            : state === 'running'
              ? 'RUNNING'
              : 'STOPPED',
        );
      case 'drs-job':
        if (state === 'ended' || pending === 'ended') return drsJobObservation('RELEASE_RESOURCE_COMPLETE');
        if (pending) return drsJobObservation('STARTJOBING');
        return drsJobObservation(state === 'running' ? 'INCRE_TRANSFER_STARTED' : 'PAUSING');
      case 'cpts-task':
        return cptsTaskObservation(pending ? 9 : state === 'running' ? 0 : 2);
    }
  }

  /**
   * A state-changing call lands: it is refused when the task cannot take it (a VIAS task
   * started while running, a DRS job paused while paused, anything on an ended job), else the
   * task moves, through a pending state when the settle time says so.
   */
  apply(id: string, action: UpstreamItem['action']): { ok: boolean; code?: string } {
    const task = this.tasks.get(id)!;
    const { state, pending } = this.stateOf(id);
    if (state === 'ended' || pending === 'ended') return { ok: false, code: 'DRS.10000011' };
    const to: Held =
      action === 'start' || action === 'resume'
        ? 'running'
        : action === 'pause'
          ? 'paused'
          : task.kind === 'drs-job'
            ? 'ended'
            : 'stopped';
    // A batch task's "already in that state" answer counts as success (as the service adapter reads it).
    if (!pending && state === to && task.kind !== 'cpts-task' && task.kind !== 'vias-batch-task')
      return { ok: false, code: 'SIM.ALREADY' };
    const [min, max] = this.faults.settleMs;
    const settle = Math.round(min + this.roll() * (max - min));
    if (settle > 0) task.pending = { to, until: this.clock + settle };
    else {
      task.state = to;
      delete task.pending;
    }
    return { ok: true };
  }
}

/** How an engine's requests reach the world: through its scheduler gate, which a crash closes. */
export type Gate = (label: string) => Promise<void>;

/**
 * The Upstream port over the simulated world, for one engine: every request waits at the gate
 * (the interleaving is the scheduler's), takes its latency on the virtual clock, and meets the
 * seed's faults. A call is sent only once `admit` has said yes (the engine's in-flight record is
 * then written), and never after the deadline.
 */
export class SimUpstream implements Upstream {
  constructor(
    private readonly world: World,
    private readonly engine: string,
    private readonly gate: Gate,
    /** The call in flight the engine recorded for a target, read right after admit said yes. */
    private readonly inFlightOf: (target: string) => InFlight | undefined,
    /** Checks run on every request as it goes out. */
    private readonly onSend: (sent: Sent) => void,
  ) {}

  async observe(items: readonly TargetRef[], options: PerformOptions = {}): Promise<(StatusRead | null)[]> {
    return Promise.all(items.map((item, index) => this.read(item, index, options)));
  }

  private async read(item: TargetRef, index: number, options: PerformOptions): Promise<StatusRead | null> {
    await this.gate(`read ${item.target}`);
    const { world } = this;
    if (item.config.kind === 'vias-batch-task') return null;
    const { deadline } = options;
    if (deadline !== undefined && world.clock >= deadline)
      return {
        observation: null,
        error: { code: ErrorCode.deadline, message: 'not read: the deadline has passed' },
      };
    if (options.admit && !(await options.admit(index)))
      return { observation: null, error: { code: ErrorCode.notSent, message: 'SIM: read called off' } };
    // Sent: from here to the read's departure there is no await, as in the HTTP client.
    const id = upstreamId(item.config);
    const start = world.clock;
    if (deadline !== undefined && start >= deadline)
      return {
        observation: null,
        error: { code: ErrorCode.deadline, message: 'not read: the deadline has passed' },
      };
    const sent: Sent = { kind: 'read', engine: this.engine, target: item.target, upstream: id, at: start };
    world.sent.push(sent);
    this.onSend(sent);
    const latency = world.latency();
    const failed = !world.healthy && world.roll() < world.faults.readErrorRate;
    await this.gate(`read ${item.target} answered`);
    world.clock = Math.max(world.clock, start + latency);
    if (deadline !== undefined && start + latency > deadline)
      return { observation: null, error: { code: ErrorCode.deadline, message: 'cut short by the deadline' } };
    if (world.unreadable.has(id))
      return { observation: null, error: { code: 'APIGW.0302', message: 'SIM: permission denied' } };
    if (failed) return { observation: null, error: { code: ErrorCode.httpStatus, message: 'SIM: 503' } };
    if (!world.tasks.has(id))
      return { observation: null, error: { code: 'SIM.NOT_FOUND', message: 'SIM: no such task' } };
    return { observation: world.observe(id) };
  }

  async perform(
    items: readonly UpstreamItem[],
    onOutcome?: (index: number, outcome: Outcome) => void,
    options: PerformOptions = {},
  ): Promise<Outcome[]> {
    return Promise.all(
      items.map(async (item, index) => {
        const outcome = await this.call(item, index, options);
        onOutcome?.(index, outcome);
        return outcome;
      }),
    );
  }

  private async call(item: UpstreamItem, index: number, options: PerformOptions): Promise<Outcome> {
    const { world } = this;
    await this.gate(`call ${item.action} ${item.target}`);
    const notSent = (code: string): Outcome => ({ ok: false, errorCode: code, attempts: 0, durationMs: 0 });
    if (options.deadline !== undefined && world.clock >= options.deadline) return notSent(ErrorCode.deadline);
    if (options.prepare) {
      // Prepared (its in-flight record written), then a wait for a connection slot, as in the
      // HTTP client: the deadline may pass meanwhile, and the call is then not sent.
      if (!(await options.prepare(index))) return notSent(ErrorCode.notSent);
      await this.gate(`slot ${item.action} ${item.target}`);
      if (options.deadline !== undefined && world.clock >= options.deadline)
        return notSent(ErrorCode.deadline);
    }
    if (options.admit && !(await options.admit(index))) return notSent(ErrorCode.notSent);
    // Sent: from here to the world's change there is no await, as in the HTTP client, which tells
    // the engine (to mark the call's sending) in the same synchronous run as the request's write.
    try {
      options.onSending?.([index]);
    } catch {
      return notSent(ErrorCode.notSent);
    }
    const id = upstreamId(item.config);
    const start = world.clock;
    const flight = this.inFlightOf(item.target);
    const sent: Sent = {
      kind: 'call',
      engine: this.engine,
      target: item.target,
      upstream: id,
      at: start,
      action: item.action,
      ...(flight ? { flight: structuredClone(flight) } : {}),
    };
    world.sent.push(sent);
    this.onSend(sent);
    const latency = world.latency();
    const cut = options.deadline !== undefined && start + latency > options.deadline;
    const refused = !world.healthy && world.roll() < world.faults.errorRate;
    const lost = !refused && !world.healthy && world.roll() < world.faults.lostRate;
    // A call cut off by the deadline may or may not have landed.
    const lands = !refused && (!cut || world.roll() < 0.5);
    const applied =
      lands && world.tasks.has(id) ? world.apply(id, item.action) : { ok: false, code: 'SIM.NOT_FOUND' };
    await this.gate(`call ${item.action} ${item.target} answered`);
    world.clock = Math.max(world.clock, start + latency);
    const durationMs = latency;
    if (cut)
      return {
        ok: false,
        errorCode: ErrorCode.deadline,
        errorMessage: 'SIM: cut short by the deadline',
        attempts: 1,
        durationMs,
      };
    if (refused)
      return {
        ok: false,
        httpStatus: 503,
        errorCode: 'SIM.503',
        errorMessage: 'SIM: 503',
        attempts: 4,
        durationMs,
      };
    if (lost)
      return {
        ok: false,
        errorCode: ErrorCode.timeout,
        errorMessage: 'SIM: answer lost',
        attempts: 1,
        durationMs,
      };
    if (!applied.ok)
      return {
        ok: false,
        httpStatus: 400,
        errorCode: applied.code!,
        errorMessage: `SIM: refused ${applied.code}`,
        attempts: 1,
        durationMs,
      };
    return { ok: true, httpStatus: 200, attempts: 1, durationMs };
  }
}
