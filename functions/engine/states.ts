import type { Action, TargetKind } from './kinds.ts';

/**
 * The states Nightshift holds targets in. `ended` is a DRS job after `stop`: final, never held
 * by reconciliation (a DRS stop happens once, at its edge).
 */
export type TargetState = 'running' | 'stopped' | 'paused' | 'ended';

/**
 * What a status read says, mapped from the service's own status text: one of the states, or
 * `pending` (a transition under way: STARTING, STOPPING, ...), `failed`, or `unknown` (a status
 * the mapping does not know).
 */
export type ObservedState = TargetState | 'pending' | 'failed' | 'unknown';

export interface Observation {
  state: ObservedState;
  /** The upstream status as the service spells it, e.g. `PAUSING`, `RUNNING`, `run_status 0`. */
  text: string;
}

/**
 * One status read: an observation, or why there is none (`observation: null` with `error` when
 * the read failed). Kinds without a status query answer `undefined` instead of a read.
 */
export interface StatusRead {
  observation: Observation | null;
  error?: { code: string; message: string };
}

/** The state an action leads to. */
export function stateAfter(kind: TargetKind, action: Action): TargetState {
  switch (action) {
    case 'start':
    case 'resume':
      return 'running';
    case 'pause':
      return 'paused';
    case 'stop':
      return kind === 'drs-job' ? 'ended' : 'stopped';
  }
}

/** The one action that brings a target of this kind to `state`; none for `ended` (never held). */
export function actionToward(kind: TargetKind, state: TargetState): Action | undefined {
  switch (state) {
    case 'running':
      return kind === 'drs-job' ? 'resume' : 'start';
    case 'paused':
      return kind === 'drs-job' ? 'pause' : undefined;
    case 'stopped':
      return kind === 'drs-job' ? undefined : 'stop';
    case 'ended':
      return undefined;
  }
}
