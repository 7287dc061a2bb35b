import type { TargetKind } from '../engine/kinds.ts';
import type { Observation, ObservedState } from '../engine/states.ts';

/**
 * How each service's status text maps to Nightshift's states (upstream-apis.md, "Status values,
 * mapped to Nightshift states"). Transitional statuses are `pending`: waited for, never drift.
 */
const VIAS_TASK: Record<string, ObservedState> = {
  RUNNING: 'running',
  STOPPED: 'stopped',
  DELETING: 'ended',
  PENDING: 'pending',
  RECOVERING: 'pending',
  STARTING: 'pending',
  UPGRADING: 'pending',
  STOPPING: 'pending',
  FREEZING: 'pending',
  CREATE_FAILED: 'failed',
  START_FAILED: 'failed',
  ABNORMAL: 'failed',
  FAILED: 'failed',
  FROZEN: 'failed',
};

const DRS_JOB: Record<string, ObservedState> = {
  INCRE_TRANSFER_STARTED: 'running',
  FULL_TRANSFER_STARTED: 'running',
  FULL_TRANSFER_COMPLETE: 'running',
  // DRS reports a paused job as PAUSING: it means paused, not "being paused".
  PAUSING: 'paused',
  RELEASE_RESOURCE_STARTED: 'ended',
  RELEASE_RESOURCE_COMPLETE: 'ended',
  DELETED: 'ended',
  CREATING: 'pending',
  CONFIGURATION: 'pending',
  STARTJOBING: 'pending',
  WAITING_FOR_START: 'pending',
  CHANGE_JOB_STARTED: 'pending',
  REBUILD_NODE_STARTED: 'pending',
};

/** CPTS `run_status`: 9 waiting, 0 running, 1 paused, 2 ended, 3 aborted, 4/5 terminated by user. */
const CPTS_RUN_STATUS: Record<number, { state: ObservedState; name: string }> = {
  0: { state: 'running', name: 'running' },
  1: { state: 'pending', name: 'paused' },
  2: { state: 'stopped', name: 'ended' },
  3: { state: 'stopped', name: 'aborted' },
  4: { state: 'stopped', name: 'terminated by user' },
  5: { state: 'stopped', name: 'terminated by user' },
  9: { state: 'pending', name: 'waiting' },
};

export function viasTaskObservation(state: string): Observation {
  return { state: VIAS_TASK[state] ?? 'unknown', text: state };
}

export function drsJobObservation(status: string): Observation {
  const state = DRS_JOB[status] ?? (status.endsWith('_FAILED') ? 'failed' : 'unknown');
  return { state, text: status };
}

export function cptsTaskObservation(runStatus: number): Observation {
  const known = CPTS_RUN_STATUS[runStatus];
  return {
    state: known?.state ?? 'unknown',
    text: `run_status ${runStatus}${known ? ` (${known.name})` : ''}`,
  };
}

/** The tables, as docs/model.md shows them. */
export const STATUS_TABLES = { VIAS_TASK, DRS_JOB, CPTS_RUN_STATUS };

/**
 * The state a recorded status text stands for (the history keeps texts as `observe` returned
 * them: `PAUSING`, `RUNNING`, `run_status 0 (running)`); for savings, which read the history.
 */
export function stateOfStatusText(kind: TargetKind, text: string): ObservedState {
  switch (kind) {
    case 'vias-task':
      return viasTaskObservation(text).state;
    case 'drs-job':
      return drsJobObservation(text).state;
    case 'cpts-task': {
      const match = /^run_status (-?\d+)\b/.exec(text);
      return match ? cptsTaskObservation(Number(match[1])).state : 'unknown';
    }
    default:
      // A kind without a status query has no texts to map.
      return 'unknown';
  }
}
