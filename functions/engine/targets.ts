import type { Config } from './config/schema.ts';
import { actionProblem, expandTargetNames } from './config/validate.ts';
import { didYouMean } from './suggest.ts';

/** Why a request names targets Nightshift cannot act on. */
export class TargetSelectionError extends Error {
  override readonly name = 'TargetSelectionError';
  constructor(
    message: string,
    /** `not-found`: unknown target or schedule; `unsupported`: an action a target may not take */
    readonly reason: 'not-found' | 'unsupported',
  ) {
    super(message);
  }
}

/**
 * Resolves an on-demand request (target or group names, or one schedule id) to target names,
 * and checks the action against each target's kind. Shared by `run`, `trigger` and the HTTP API.
 */
export function selectTargets(
  config: Config,
  selection: { targets?: readonly string[]; schedule?: string },
  action: string,
): string[] {
  let names: string[];
  if (selection.schedule !== undefined) {
    const schedule = config.schedules.find((s) => s.id === selection.schedule);
    if (!schedule)
      throw new TargetSelectionError(unknownScheduleMessage(config, selection.schedule), 'not-found');
    names = expandTargetNames(schedule.targets, config.targets, config.groups);
  } else {
    const unknown = (selection.targets ?? []).filter(
      (n) => !Object.hasOwn(config.targets, n) && !Object.hasOwn(config.groups, n),
    );
    if (unknown.length > 0) {
      throw new TargetSelectionError(unknownTargetsMessage(config, unknown), 'not-found');
    }
    names = expandTargetNames(selection.targets ?? [], config.targets, config.groups);
  }
  const problems = names
    .map((name) => {
      const target = config.targets[name]!;
      return actionProblem(name, target.kind, action, target as Record<string, unknown>);
    })
    .filter((p): p is string => p !== undefined);
  if (problems.length > 0) throw new TargetSelectionError(problems.join('; '), 'unsupported');
  return names;
}

/** `unknown target or group "billing-snyc" (did you mean "billing-sync"?)`, for one name or several. */
export function unknownTargetsMessage(
  config: Pick<Config, 'targets' | 'groups'>,
  names: readonly string[],
  what = 'target or group',
): string {
  const known = [...Object.keys(config.targets), ...(what === 'target' ? [] : Object.keys(config.groups))];
  return `unknown ${what} ${names.map((n) => `"${n}"${didYouMean(n, known)}`).join(', ')}`;
}

/** `unknown schedule "office-hour" (did you mean "office-hours"?)`. */
export function unknownScheduleMessage(config: Pick<Config, 'schedules'>, id: string): string {
  return `unknown schedule "${id}"${didYouMean(
    id,
    config.schedules.map((s) => s.id),
  )}`;
}
