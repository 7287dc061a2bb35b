import type { Config } from './config/schema.ts';
import { expandTargetNames } from './config/validate.ts';
import { desiredOf, type OverrideRule } from './decision.ts';
import { edgesOf, latestEdges } from './desired.ts';
import { ErrorCode } from './error-codes.ts';
import type { TargetRef, Upstream } from './executor.ts';
import type { TargetKind } from './kinds.ts';
import type { Ledger, TargetRecord } from './ledger.ts';
import { due } from './planner.ts';
import type { Observation, TargetState } from './states.ts';

/** One target as `status` shows it: what it should be, why, what it is, and what comes next. */
export interface TargetStatus {
  target: string;
  kind: TargetKind;
  /** null: no edge in the last 35 days and no override, so Nightshift holds nothing. */
  desired: TargetState | 'hands-off' | null;
  since: string | null;
  /** The schedule id or override id that set `desired`. */
  because: string | null;
  /** The upstream status text just read; null when not read (hands-off, no status query) or unreadable. */
  observed: string | null;
  /** The observed status mapped to a state (`pending` while a transition is under way). */
  observedState?: Observation['state'];
  inSync: boolean;
  override?: string;
  nextEdge?: { at: string; state: TargetState; schedule: string };
  /** Why `observed` is null, when it is. */
  note?: string;
  /**
   * The account's secret still holds the placeholder the stack created: nothing can be read or
   * done until someone puts the credentials in ("secret not set").
   */
  secretNotSet?: true;
  // ---- from the ledger's record of the target, when it is about the desired state above ----
  /** The desired state was seen reached (or, without a status query, the call succeeded). */
  reached?: boolean;
  /** Looks that did not reach it yet: with `nextCheckAt`, the pending retries. */
  tries?: number;
  /** The state cannot be reached (a DRS job that has ended): no retry until a new edge. */
  final?: boolean;
  /** When the tick last looked (read status, or called). */
  lastCheckAt?: string;
  /** When the tick looks again, while the state is not reached. */
  nextCheckAt?: string;
  /** When the last state-changing call was made. */
  lastAttemptAt?: string;
  /** With `live: false`: `observed` is the record's, as read at this instant. */
  observedAt?: string;
}

const DAY_MS = 86_400_000;
/** How far ahead the next edge is looked for (as far as the look-back behind). */
const LOOKAHEAD_DAYS = 35;

export interface StatusOptions {
  config: Config;
  overrides: readonly OverrideRule[];
  upstream: Upstream;
  ledger: Ledger;
  now: number;
  /** Target names (default: every target of the config, in config order). */
  targets?: readonly string[];
  /**
   * `true` (default): read each target's status upstream now. `false`: no upstream call; what the
   * tick last read and recorded stands in (`observed`, `observedAt`), and a target is in sync when
   * the ledger knows its desired state was reached: what a page viewed every minute shows
   * without sending Huawei a status query per target per view.
   */
  live?: boolean;
}

/**
 * The status of each target: the desired state (latest edge, or the override in force), a live
 * status read, whether the two agree, and the next edge. A hands-off target is not read: hands-off
 * means no upstream call of any kind. Kinds without a status query are in sync when the ledger
 * knows their desired state was reached.
 */
export async function targetStatuses(options: StatusOptions): Promise<TargetStatus[]> {
  const { config, overrides, now } = options;
  const names = options.targets ?? Object.keys(config.targets);
  const edges = latestEdges(config, now);
  const desired = new Map(names.map((name) => [name, desiredOf(name, edges.get(name), overrides, now)]));
  const live = options.live ?? true;
  const toRead = live ? names.filter((name) => desired.get(name)?.state !== 'hands-off') : [];
  const refs: TargetRef[] = toRead.map((name) => {
    const target = config.targets[name]!;
    return {
      target: name,
      config: target,
      account: { name: target.account, config: config.accounts[target.account]! },
    };
  });
  const [reads, records] = await Promise.all([
    refs.length > 0 ? options.upstream.observe(refs) : Promise.resolve([]),
    options.ledger.targets(names),
  ]);
  const readOf = new Map(toRead.map((name, i) => [name, reads[i]]));
  const next = nextEdges(config, names, now);

  return names.map((name) => {
    const kind = config.targets[name]!.kind;
    const want = desired.get(name);
    const read = readOf.get(name);
    const observation = read?.observation ?? null;
    const record = records.get(name);
    let inSync: boolean;
    let note: string | undefined;
    const held = record?.desired === want?.state && record?.since === want?.since;
    if (!live && want && want.state !== 'hands-off') {
      inSync = held && record!.reached;
      if (!record) note = 'not looked at yet';
    } else if (!want || want.state === 'hands-off') {
      inSync = true;
      if (want) note = 'hands-off: not read (no upstream call of any kind)';
    } else if (read === null) {
      note = `a ${kind} has no status query: in sync when the ledger knows the state was reached`;
      inSync = record?.desired === want.state && record.since === want.since && record.reached;
    } else if (!observation && read?.error?.code === ErrorCode.secretNotSet) {
      note = `secret not set: ${read.error.message}`;
      inSync = false;
    } else if (!observation) {
      note = `status read failed (${read?.error?.code ?? 'unknown'})`;
      inSync = false;
    } else {
      inSync =
        observation.state === want.state ||
        // A failed task is not running: it counts as stopped or paused, as the reconciler sees it.
        (observation.state === 'failed' && want.state !== 'running');
    }
    const edge = next.get(name);
    return {
      target: name,
      kind,
      desired: want?.state ?? null,
      since: want?.since ?? null,
      because: want?.because ?? null,
      observed: live ? (observation?.text ?? null) : (record?.observed ?? null),
      ...(observation ? { observedState: observation.state } : {}),
      inSync,
      ...(want?.override ? { override: want.override } : {}),
      ...(edge ? { nextEdge: { at: edge.at, state: edge.state, schedule: edge.schedule } } : {}),
      ...(note ? { note } : {}),
      ...(read?.error?.code === ErrorCode.secretNotSet ? { secretNotSet: true as const } : {}),
      ...(record && want && held ? recordFields(record) : {}),
      ...(!live && record?.lastCheckAt && record.observed !== undefined
        ? { observedAt: record.lastCheckAt }
        : {}),
    };
  });
}

/** What the ledger's record says about reaching the desired state it is about. */
function recordFields(
  record: TargetRecord,
): Pick<TargetStatus, 'reached' | 'tries' | 'final' | 'lastCheckAt' | 'nextCheckAt' | 'lastAttemptAt'> {
  return {
    reached: record.reached,
    tries: record.tries,
    ...(record.final ? { final: true } : {}),
    ...(record.lastCheckAt ? { lastCheckAt: record.lastCheckAt } : {}),
    ...(record.nextCheckAt && !record.reached ? { nextCheckAt: record.nextCheckAt } : {}),
    ...(record.lastAttemptAt ? { lastAttemptAt: record.lastAttemptAt } : {}),
  };
}

/** The first edge after `now` of each named target, looking ahead a day at a time. */
function nextEdges(
  config: Config,
  names: readonly string[],
  now: number,
): Map<string, { at: string; state: TargetState; schedule: string }> {
  const found = new Map<string, { at: string; state: TargetState; schedule: string }>();
  // Only targets an enabled schedule names can have an edge: the others would keep the look
  // ahead going for all of its 35 days, a plan of the whole config per day, on every view.
  const scheduled = new Set<string>();
  for (const schedule of config.schedules)
    if (schedule.enabled)
      for (const name of expandTargetNames(schedule.targets, config.targets, config.groups))
        scheduled.add(name);
  const wanted = new Set(names.filter((name) => scheduled.has(name)));
  for (let day = 0; day < LOOKAHEAD_DAYS && found.size < wanted.size; day++) {
    const from = now + day * DAY_MS;
    for (const [target, edges] of edgesOf(config, due(config, from, from + DAY_MS))) {
      if (!wanted.has(target) || found.has(target)) continue;
      // Edges at one instant resolve to running, as the desired state does.
      const first = edges.filter((e) => e.at === edges[0]!.at);
      const edge = first.find((e) => e.state === 'running') ?? first[0]!;
      found.set(target, { at: edge.at, state: edge.state, schedule: edge.schedule });
    }
  }
  return found;
}

/**
 * Targets not known to hold their desired state, from the ledger alone (no upstream read): the
 * tick's `TargetsOutOfSync` figure. Hands-off targets and those without a desired state count
 * as in sync; a DRS end is never held, so it does not count either.
 */
export async function outOfSyncTargets(
  config: Config,
  ledger: Ledger,
  overrides: readonly OverrideRule[],
  now: number,
): Promise<string[]> {
  const edges = latestEdges(config, now);
  const held = new Map<string, { state: string; since: string }>();
  for (const name of Object.keys(config.targets)) {
    const want = desiredOf(name, edges.get(name), overrides, now);
    if (want && want.state !== 'hands-off' && want.state !== 'ended') held.set(name, want);
  }
  if (held.size === 0) return [];
  const records = await ledger.targets([...held.keys()]);
  return [...held]
    .filter(([name, want]) => {
      const record = records.get(name);
      return !(record?.reached && record.desired === want.state && record.since === want.since);
    })
    .map(([name]) => name);
}
