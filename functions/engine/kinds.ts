/** The target kinds Nightshift drives and the actions each kind supports. */
export const KIND_ACTIONS = {
  'vias-task': ['start', 'stop'],
  'vias-batch-task': ['start', 'stop'],
  'drs-job': ['pause', 'resume', 'stop'],
  'cpts-task': ['start', 'stop'],
} as const;

export type TargetKind = keyof typeof KIND_ACTIONS;
export type Action = 'start' | 'stop' | 'pause' | 'resume';

export const TARGET_KINDS = Object.keys(KIND_ACTIONS) as TargetKind[];
export const ACTIONS: readonly Action[] = ['start', 'stop', 'pause', 'resume'];

export function kindSupports(kind: TargetKind, action: string): action is Action {
  return (KIND_ACTIONS[kind] as readonly string[]).includes(action);
}

/** A window opens with `start` and closes with `stop`, except DRS jobs, which resume and pause. */
export function defaultWindowActions(kind: TargetKind): { open: Action; closed: Action } {
  return kind === 'drs-job' ? { open: 'resume', closed: 'pause' } : { open: 'start', closed: 'stop' };
}

export function isAction(value: unknown): value is Action {
  return typeof value === 'string' && (ACTIONS as readonly string[]).includes(value);
}
