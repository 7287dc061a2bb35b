import { randomBytes } from 'node:crypto';
import type { Config } from './config/schema.ts';
import { expandTargetNames } from './config/validate.ts';
import type { OverrideRule } from './decision.ts';
import { isoInstantProblem, parseIsoInstant } from './instants.ts';
import type { TargetKind } from './kinds.ts';
import type { DueAction } from './planner.ts';
import { unknownScheduleMessage, unknownTargetsMessage } from './targets.ts';

/** The states an override may hold a target in; `hands-off` means no call of any kind. */
export const OVERRIDE_STATES = ['running', 'stopped', 'paused', 'hands-off'] as const;
export type OverrideState = (typeof OVERRIDE_STATES)[number];

/** An override as stored in the ledger and answered by the API. */
export interface Override extends OverrideRule {
  state: OverrideState;
  reason: string;
  createdBy?: string;
  createdAt: string;
}

/** What a person asks for: the targets (or a schedule's), a state, a span and why. */
export interface OverrideRequest {
  targets?: readonly string[];
  schedule?: string;
  state: string;
  /** ISO 8601 instants. */
  until: string;
  from?: string;
  reason: string;
  createdBy?: string;
}

/**
 * Why a stored override cannot be used, or undefined when it can: a file or item edited by hand
 * or damaged must be set aside, never fail every tick that reads it.
 */
export function storedOverrideProblem(value: unknown): string | undefined {
  const o = value as Partial<Record<keyof Override, unknown>>;
  if (typeof o.id !== 'string' || o.id === '') return 'no id';
  if (!Array.isArray(o.targets) || !o.targets.every((t) => typeof t === 'string'))
    return '"targets" is not a list of names';
  if (!(OVERRIDE_STATES as readonly unknown[]).includes(o.state))
    return `unknown state ${JSON.stringify(o.state)}`;
  for (const field of ['from', 'until'] as const)
    if (typeof o[field] !== 'string' || Number.isNaN(Date.parse(o[field] as string)))
      return `"${field}" is not a date`;
  return undefined;
}

export const DEFAULT_OVERRIDE_MAX_HOURS = 168;
/** Before an override ends, this long ahead, a log line and a metric warn that it is ending. */
export const EXPIRY_NOTICE_MS = 30 * 60_000;
const HOUR_MS = 3600_000;

/**
 * Why an override cannot be created, with the HTTP status class it maps to: `bad-request`
 * (400: fields, times), `not-found` (404: unknown target, group or schedule), `unsupported`
 * (422: a state the target's kind cannot have).
 */
export class OverrideError extends Error {
  override readonly name = 'OverrideError';
  constructor(
    message: string,
    readonly reason: 'bad-request' | 'not-found' | 'unsupported',
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/** The states a kind can be held in: DRS jobs pause, the other kinds stop. */
export function statesOf(kind: TargetKind): OverrideState[] {
  return kind === 'drs-job' ? ['running', 'paused', 'hands-off'] : ['running', 'stopped', 'hands-off'];
}

export { parseIsoInstant };

/** Ids a person can type: `ovr-` and eight hex digits. */
function newOverrideId(): string {
  return `ovr-${randomBytes(4).toString('hex')}`;
}

/**
 * Checks a request against the config and makes the override: every target known, the state one
 * each target's kind can have, `until` in the future and at most `overrides.maxHours` after
 * `from` (default now).
 */
export function makeOverride(config: Config, request: OverrideRequest, now: number): Override {
  if ((request.targets === undefined) === (request.schedule === undefined))
    throw new OverrideError('give exactly one of "targets" and "schedule"', 'bad-request');
  if (!(OVERRIDE_STATES as readonly string[]).includes(request.state))
    throw new OverrideError(`state must be one of ${OVERRIDE_STATES.join(', ')}`, 'bad-request');
  const state = request.state as OverrideState;
  if (request.reason.trim() === '')
    throw new OverrideError('reason is required: say why, for whoever looks next', 'bad-request');

  const untilProblem = isoInstantProblem(request.until);
  if (untilProblem !== undefined)
    throw new OverrideError(`until "${request.until}": ${untilProblem}`, 'bad-request');
  const until = Date.parse(request.until);
  const fromProblem = request.from === undefined ? undefined : isoInstantProblem(request.from);
  if (fromProblem !== undefined)
    throw new OverrideError(`from "${request.from}": ${fromProblem}`, 'bad-request');
  const from = request.from === undefined ? now : Date.parse(request.from);
  if (until <= now)
    throw new OverrideError(`until ${new Date(until).toISOString()} is in the past`, 'bad-request');
  if (until <= from) throw new OverrideError('until must be later than from', 'bad-request');
  const maxHours = config.overrides?.maxHours ?? DEFAULT_OVERRIDE_MAX_HOURS;
  if (until - from > maxHours * HOUR_MS)
    throw new OverrideError(
      `an override may last at most ${maxHours} hours (overrides.maxHours); until is ${((until - from) / HOUR_MS).toFixed(1)} hours after from`,
      'bad-request',
    );

  const targets = resolveTargets(config, request);
  const problems = targets
    .filter((name) => !statesOf(config.targets[name]!.kind).includes(state))
    .map((name) => {
      const kind = config.targets[name]!.kind;
      return `target "${name}" is a ${kind}, which cannot be ${state} (its states: ${statesOf(kind).join(', ')})`;
    });
  if (problems.length > 0) throw new OverrideError(problems.join('; '), 'unsupported');

  return {
    id: newOverrideId(),
    targets,
    state,
    from: new Date(from).toISOString(),
    until: new Date(until).toISOString(),
    reason: request.reason,
    ...(request.createdBy ? { createdBy: request.createdBy } : {}),
    createdAt: new Date(now).toISOString(),
  };
}

function resolveTargets(config: Config, request: OverrideRequest): string[] {
  if (request.schedule !== undefined) {
    const schedule = config.schedules.find((s) => s.id === request.schedule);
    if (!schedule) throw new OverrideError(unknownScheduleMessage(config, request.schedule), 'not-found');
    return expandTargetNames(schedule.targets, config.targets, config.groups);
  }
  const names = request.targets ?? [];
  if (names.length === 0) throw new OverrideError('targets must name at least one target', 'bad-request');
  const unknown = names.filter((n) => !Object.hasOwn(config.targets, n) && !Object.hasOwn(config.groups, n));
  if (unknown.length > 0) throw new OverrideError(unknownTargetsMessage(config, unknown), 'not-found');
  return expandTargetNames(names, config.targets, config.groups);
}

/** Overrides not yet ended at `now` (active and future), earliest start first. */
export function currentOverrides<T extends OverrideRule>(overrides: readonly T[], now: number): T[] {
  // In the order `activeOverride` lets the last one win: the latest start, and of two starting
  // at one instant the one created last (the newest decision), then the id.
  const created = (o: T) => (o as Partial<Override>).createdAt ?? '';
  return overrides
    .filter((o) => Date.parse(o.until) > now)
    .sort(
      (a, b) =>
        Date.parse(a.from) - Date.parse(b.from) ||
        created(a).localeCompare(created(b)) ||
        a.id.localeCompare(b.id),
    );
}

/** Overrides in force at `now`. */
export function activeOverrides<T extends OverrideRule>(overrides: readonly T[], now: number): T[] {
  return overrides.filter((o) => Date.parse(o.from) <= now && Date.parse(o.until) > now);
}

/**
 * Overrides whose end is 30 minutes away at some minute of `(from, to]`: each is announced once,
 * by the tick that evaluates that minute.
 */
export function expiringOverrides<T extends OverrideRule>(
  overrides: readonly T[],
  from: number,
  to: number,
): T[] {
  return overrides.filter((o) => {
    const notice = Date.parse(o.until) - EXPIRY_NOTICE_MS;
    return notice > from && notice <= to && Date.parse(o.from) <= notice;
  });
}

/** An override as a plan row: from its start, the state it holds its targets in until `until`. */
export interface OverrideRow {
  at: string;
  override: string;
  state: OverrideState;
  until: string;
  targets: string[];
  reason: string;
}

/**
 * Plan rows with the overrides that overlap `(from, to]` merged in, in time order (an override
 * that started before the window is listed at its own start, first). Schedule rows keep their
 * place; an override row says which of them it beats.
 */
export function withOverrideRows<R extends DueAction>(
  rows: readonly R[],
  overrides: readonly Override[],
  from: number,
  to: number,
): (R | OverrideRow)[] {
  const overrideRows: OverrideRow[] = overrides
    .filter((o) => Date.parse(o.until) > from && Date.parse(o.from) <= to)
    .map((o) => ({
      at: o.from,
      override: o.id,
      state: o.state,
      until: o.until,
      targets: [...o.targets],
      reason: o.reason,
    }));
  if (overrideRows.length === 0) return [...rows];
  return [...rows, ...overrideRows].sort((a, b) => Date.parse(a.at) - Date.parse(b.at));
}
