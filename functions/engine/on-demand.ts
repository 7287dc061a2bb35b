import type { Config } from './config/schema.ts';
import { actionProblem } from './config/validate.ts';
import { activeOverride, policyOf } from './decision.ts';
import { ErrorCode } from './error-codes.ts';
import {
  type ActionRequest,
  type ActionResult,
  execute,
  resultOf,
  type TargetRef,
  type Upstream,
  type UpstreamItem,
} from './executor.ts';
import { recordedOutcomes, withdrawInFlight } from './in-flight.ts';
import { type Action, kindSupports, type TargetKind } from './kinds.ts';
import type { HistoryEntry, Ledger, TargetRecord } from './ledger.ts';
import { activeOverrides, type Override } from './overrides.ts';
import { markSending, neverSent, withoutUnsentCall, withSendingMarked } from './sending.ts';
import { stateAfter, type TargetState } from './states.ts';
import {
  type Call,
  concluded,
  inFlightRecord,
  leasedByOther,
  notSent,
  onDemand,
  type TargetContext,
  usableVerify,
} from './transition.ts';

export interface OnDemandOptions {
  upstream: Upstream;
  /** Where the lease, the call in flight and the history go: the same ledger the ticks use. */
  ledger: Ledger;
  /** This request's own actor id: leases name it. */
  owner: string;
  trigger: 'http' | 'cli';
  /** The runtime's clock (a scaled one in demos). */
  now: () => number;
  requestId?: string;
  reason?: string;
  dryRun?: boolean;
  /** Make the call even when the target is already in the requested state, or hands-off. */
  force?: boolean;
  /** Epoch ms (real clock) for every read and call: see `PerformOptions.deadline`. */
  deadline?: number;
  signal?: AbortSignal;
  /** The overrides now: a hands-off override acknowledged mid-request stops the call. */
  overrides?: () => Promise<readonly Override[]>;
  /** Whether a lease's owner is known to have stopped. */
  isOwnerGone?: (owner: string) => boolean;
  /** Clock ms a lease holds the target; default 5 minutes. */
  leaseMs?: number;
  /** Real ms to wait for another actor's lease to end before answering busy. Default 5 s. */
  waitForLeaseMs?: number;
  onResult?: (result: ActionResult) => void;
  onLedgerError?: (error: unknown, target: string) => void;
  /** Real time and waiting: `Date.now` and timers unless a simulation runs on a virtual clock. */
  realNow?: () => number;
  sleep?: (ms: number) => Promise<void>;
}

interface Item {
  index: number;
  ref: TargetRef;
  action: Action;
  want: TargetState;
  projectId: string;
  record: TargetRecord | undefined;
  ctx: TargetContext & { action: Action; want: TargetState };
  call?: Call;
  sent?: boolean;
}

const LEASE_POLL_MS = 200;

/**
 * An action asked for now (`run`, `POST /v1/actions`, `trigger`), carried out by the protocol every
 * path shares (transition.ts): the record read and any call a stopped process left in flight
 * resolved; the status read, and a target already in the requested state gets `unchanged` and no
 * call (unless `force`); otherwise the call's lease and in-flight record written just before it
 * is sent, the call, a status read to verify, and the outcome recorded in the history. A status
 * read that fails does not stop the call: the result then carries `observed: null`. Another
 * actor's lease on a target is waited out briefly, then answered busy (`ErrorCode.busy`).
 */
export async function carryOut(
  config: Config,
  requests: readonly ActionRequest[],
  options: OnDemandOptions,
): Promise<ActionResult[]> {
  if (options.dryRun) return execute(config, requests, options);
  const results: ActionResult[] = new Array(requests.length);
  const settle = (index: number, result: ActionResult) => {
    results[index] = result;
    options.onResult?.(result);
  };

  // Requests the config refuses never reach upstream: execute() gives their refusal.
  const items: Item[] = [];
  const refused: number[] = [];
  requests.forEach((request, index) => {
    const target = Object.hasOwn(config.targets, request.target) ? config.targets[request.target] : undefined;
    if (
      !target ||
      !kindSupports(target.kind, request.action) ||
      actionProblem(request.target, target.kind, request.action, target as Record<string, unknown>)
    ) {
      refused.push(index);
      return;
    }
    const action = request.action as Action;
    const want = stateAfter(target.kind, action);
    const account = { name: target.account, config: config.accounts[target.account]! };
    items.push({
      index,
      ref: { target: request.target, config: target, account },
      action,
      want,
      projectId: account.config.projectId,
      record: undefined,
      ctx: {
        target: request.target,
        config: target,
        desired: { state: want, since: new Date(options.now()).toISOString(), because: 'request', action },
        policy: policyOf(config, request.target, undefined),
        now: options.now(),
        owner: options.owner,
        trigger: options.trigger,
        maxLatenessMs: 0,
        action,
        want,
        request: {
          ...(options.requestId ? { id: options.requestId } : {}),
          ...(options.reason ? { reason: options.reason } : {}),
          ...(options.force ? { force: true } : {}),
        },
      },
    });
  });
  if (refused.length > 0) {
    const answers = await execute(
      config,
      refused.map((i) => requests[i]!),
      { upstream: options.upstream },
    );
    for (const [i, index] of refused.entries()) settle(index, answers[i]!);
  }
  if (items.length === 0) return results;

  // Hands-off means no request of any kind, a status read included, unless forced.
  if (!options.force && options.overrides) {
    const overrides = await options.overrides();
    const now = options.now();
    for (const item of [...items]) {
      const cover = activeOverride(overrides, item.ctx.target, now);
      if (cover?.state !== 'hands-off') continue;
      items.splice(items.indexOf(item), 1);
      settle(
        item.index,
        handsOffResult(item.ctx.target, item.ref.config.kind, item.action, cover as Override),
      );
    }
    if (items.length === 0) return results;
  }

  const ready = await waitForLeases(items, options);
  for (const item of items.filter((i) => !ready.includes(i))) settle(item.index, busy(item, item.record!));
  if (ready.length === 0) return results;

  const ledger = options.ledger;
  const safely = async <T>(what: () => Promise<T>, target: string): Promise<{ value: T } | undefined> => {
    try {
      return { value: await what() };
    } catch (error) {
      options.onLedgerError?.(error, target);
      return undefined;
    }
  };
  /** A status read goes out unless a hands-off was acknowledged since the start (unless forced). */
  const readWanted = async (item: Item): Promise<boolean> => {
    if (options.force || !options.overrides) return true;
    const overrides = await safely(options.overrides, item.ctx.target);
    const cover = overrides && activeOverride(overrides.value, item.ctx.target, options.now());
    if (cover?.state !== 'hands-off') return overrides !== undefined;
    calledOff.set(item, cover as Override);
    return false;
  };
  const calledOff = new Map<Item, Override>();

  const bounds = {
    ...(options.deadline === undefined ? {} : { deadline: options.deadline }),
    ...(options.signal ? { signal: options.signal } : {}),
  };
  // A call a killed process recorded in flight but never sent is dropped, without an entry.
  const unsent = await Promise.all(
    ready.map((item) => neverSent(options.ledger, item.record, options.isOwnerGone)),
  );
  const seen = ready.map((item, i) => (unsent[i] ? withoutUnsentCall(item.record!) : item.record));
  const recorded = await recordedOutcomes(options.ledger, seen);
  for (const item of ready) {
    const entry = recorded.get(item.ctx.target);
    if (entry) item.ctx = { ...item.ctx, recorded: entry };
  }
  const before = await options.upstream.observe(
    ready.map((i) => i.ref),
    { ...bounds, admit: (i) => readWanted(ready[i]!) },
  );
  const owed: HistoryEntry[] = [];
  const unchanged: { item: Item; entry: HistoryEntry; record: TargetRecord }[] = [];
  const toCall: Item[] = [];
  const looked = new Map<Item, TargetRecord>();
  const decisions = ready.map((item, i) => {
    const cover = calledOff.get(item);
    if (cover && before[i]?.error?.code === ErrorCode.notSent) {
      settle(item.index, handsOffResult(item.ctx.target, item.ref.config.kind, item.action, cover));
      return undefined;
    }
    return onDemand(seen[i], item.ctx, before[i]!, item.projectId);
  });
  // A look resolving a call another actor left in flight (gone, its lease void) reads the
  // record again first: that actor's writes all landed before it was judged gone, and a record
  // that moved on (the call taken back as never sent) must not get an outcome for it.
  const resolving = ready.filter((_item, i) => {
    const flight = seen[i]?.inFlight;
    return flight && flight.owner !== options.owner && decisions[i]?.entries.some((e) => e.id === flight.id);
  });
  if (resolving.length > 0) {
    const stored = await safely(() => ledger.targets(resolving.map((item) => item.ctx.target)), '(records)');
    for (const item of resolving) {
      if (stored && stored.value.get(item.ctx.target)?.version === item.record?.version) continue;
      decisions[ready.indexOf(item)] = undefined;
      settle(item.index, busy(item, stored?.value.get(item.ctx.target) ?? item.record!));
    }
  }
  ready.forEach((item, i) => {
    const decided = decisions[i];
    if (!decided) return;
    owed.push(...decided.entries);
    looked.set(item, decided.record);
    if (decided.unchanged) unchanged.push({ item, entry: decided.unchanged, record: decided.record });
    else {
      item.call = decided.call!;
      toCall.push(item);
    }
  });
  await safely(() => ledger.record([...owed, ...unchanged.map((u) => u.entry)]), '(history)');
  for (const { item, entry, record } of unchanged) {
    settle(item.index, entry.result);
    // Only the look's findings (a resolved call) need keeping.
    if (record.inFlight !== item.record?.inFlight)
      await safely(
        () => ledger.putTarget({ ...record, version: (item.record?.version ?? 0) + 1 }),
        item.ctx.target,
      );
  }
  if (toCall.length === 0) return results;

  const leaseMs = options.leaseMs ?? 5 * 60_000;
  const upstreamItems: UpstreamItem[] = toCall.map((item) => ({ ...item.ref, action: item.action }));
  /** Whether the call may still go out: before the deadline, and no hands-off acknowledged. */
  // The deadline is real epoch ms: judged on the real clock, not the runtime's (a demo clock).
  const realNow = options.realNow ?? Date.now;
  const stillWanted = async (item: Item): Promise<boolean> => {
    if (options.deadline !== undefined && realNow() >= options.deadline) return false;
    if (!options.force && options.overrides) {
      const overrides = await safely(options.overrides, item.ctx.target);
      if (!overrides) return false;
      if (activeOverride(overrides.value, item.ctx.target, options.now())?.state === 'hands-off')
        return false;
    }
    return options.deadline === undefined || realNow() < options.deadline;
  };
  const admit = async (index: number): Promise<boolean> => {
    const item = toCall[index]!;
    if (!(await stillWanted(item))) return false;
    const next = {
      ...withSendingMarked(
        inFlightRecord(looked.get(item)!, item.call!, item.ctx, {
          owner: options.owner,
          until: options.now() + leaseMs,
        }),
        ledger,
      ),
      version: (item.record?.version ?? 0) + 1,
    };
    const written = await safely(() => ledger.putTarget(next), item.ctx.target);
    if (written === undefined) {
      // The write may have landed though it failed: take it back, the call is not sent.
      await safely(() => withdrawInFlight(ledger, next), item.ctx.target);
    }
    if (!written?.value) return false;
    // The write took time: the deadline and hands-off are checked again as it goes out.
    if (!(await stillWanted(item))) {
      await safely(() => withdrawInFlight(ledger, next), item.ctx.target);
      return false;
    }
    item.record = next;
    item.sent = true;
    return true;
  };
  const outcomes = await options.upstream.perform(upstreamItems, undefined, {
    ...bounds,
    admit,
    ...markSending(ledger, (i) => ({
      target: toCall[i]!.ctx.target,
      id: toCall[i]!.call!.id,
      owner: options.owner,
    })),
  });
  const sent = toCall.filter((item) => item.sent);
  const verifies = sent.length
    ? await options.upstream.observe(
        sent.map((i) => i.ref),
        { ...bounds, admit: (i) => readWanted(sent[i]!) },
      )
    : [];
  const entries: HistoryEntry[] = [];
  const records: TargetRecord[] = [];
  toCall.forEach((item, i) => {
    const raw = resultOf(upstreamItems[i]!, outcomes[i]!);
    if (!item.sent) {
      settle(item.index, { ...raw, ...(raw.errorCode ? {} : { errorCode: ErrorCode.notSent }) });
      return;
    }
    const verify = verifies[sent.indexOf(item)];
    const outcome = concluded(item.record!, item.ctx, raw, usableVerify(verify));
    if (outcome === 'in-flight') {
      // Cut off after it may have been sent: the next look resolves it by status.
      settle(item.index, raw);
    } else if (outcome === 'not-sent') {
      settle(item.index, raw);
      records.push({ ...notSent(item.record!), version: item.record!.version + 1 });
    } else {
      settle(item.index, outcome.entries[0]!.result);
      entries.push(...outcome.entries);
      records.push({ ...outcome.record, version: item.record!.version + 1 });
    }
  });
  // History first: if it cannot be written the calls stay in flight and a later look resolves them.
  if (entries.length === 0 || (await safely(() => ledger.record(entries), '(history)')))
    await Promise.all(records.map((record) => safely(() => ledger.putTarget(record), record.target)));
  return results;
}

/**
 * Reads the records and waits (briefly) for other actors' leases to end; the items whose target
 * is free to act on, each with its record.
 */
async function waitForLeases(items: Item[], options: OnDemandOptions): Promise<Item[]> {
  const realNow = options.realNow ?? Date.now;
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  const waitUntil = realNow() + (options.waitForLeaseMs ?? 5_000);
  let pending = items;
  const ready: Item[] = [];
  for (;;) {
    const records = await options.ledger.targets(pending.map((i) => i.ctx.target));
    const still: Item[] = [];
    for (const item of pending) {
      const stored = records.get(item.ctx.target);
      item.record = stored;
      const lease = stored?.lease;
      const gone = lease && options.isOwnerGone?.(lease.owner);
      if (leasedByOther(stored, options.owner, options.now()) && !gone) still.push(item);
      else {
        if (gone && stored) item.record = { ...stored, lease: undefined };
        ready.push(item);
      }
    }
    pending = still;
    const deadline = Math.min(waitUntil, options.deadline ?? Number.POSITIVE_INFINITY);
    if (pending.length === 0 || realNow() + LEASE_POLL_MS >= deadline || options.signal?.aborted) break;
    await sleep(LEASE_POLL_MS);
  }
  return ready;
}

function busy(item: Item, record: TargetRecord): ActionResult {
  return {
    target: item.ctx.target,
    kind: item.ref.config.kind,
    action: item.action,
    ok: false,
    status: 'failed',
    errorCode: ErrorCode.busy,
    errorMessage: `${item.ctx.target}: another process is acting on it (lease held by ${record.lease?.owner} until ${record.lease?.until}); nothing was called, try again shortly`,
    attempts: 0,
    durationMs: 0,
  };
}

/** The targets among `names` under an active hands-off override, with that override. */
export async function handsOffTargets(
  ledger: Ledger,
  names: readonly string[],
  now: number,
): Promise<Map<string, Override>> {
  const found = new Map<string, Override>();
  const active = activeOverrides(await ledger.overrides(now), now).filter((o) => o.state === 'hands-off');
  for (const name of names) {
    const override = active.find((o) => o.targets.includes(name));
    if (override) found.set(name, override);
  }
  return found;
}

/** The results in request order: those carried out, and a refusal without a call for hands-off ones. */
export function withHandsOff(
  names: readonly string[],
  called: readonly ActionResult[],
  handsOff: ReadonlyMap<string, Override>,
  config: Config,
  action: string,
): ActionResult[] {
  let next = 0;
  return names.map((name) => {
    const override = handsOff.get(name);
    if (!override) return called[next++]!;
    return handsOffResult(name, config.targets[name]!.kind, action as Action, override);
  });
}

/** The result of an on-demand action left alone for a hands-off override: nothing was called. */
function handsOffResult(target: string, kind: TargetKind, action: Action, override: Override): ActionResult {
  return {
    target,
    kind,
    action,
    ok: false,
    status: 'skipped',
    errorCode: ErrorCode.handsOff,
    errorMessage: `${target} is hands-off (override ${override.id} until ${override.until}: ${override.reason}); nothing was called`,
    attempts: 0,
    durationMs: 0,
  };
}
