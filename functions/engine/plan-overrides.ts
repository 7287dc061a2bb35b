import { activeOverride } from './decision.ts';
import type { Override, OverrideRow } from './overrides.ts';
import type { DueAction } from './planner.ts';

/** A schedule row an override beats, as `plan --explain` lists it on the override's row. */
export interface Overruled {
  at: string;
  schedule: string;
  action: string;
  targets: string[];
}

/**
 * `plan --explain`: which schedule rows the overrides beat. A schedule row gets `overriddenBy`
 * (target → the override holding it at that instant, the one started last when several do), and
 * each override row `overrules`, the schedule rows it beats in the window. Skipped rows set
 * nothing and are left alone.
 */
export function explainOverrides<R extends DueAction>(
  rows: readonly (R | OverrideRow)[],
  overrides: readonly Override[],
): ((R & { overriddenBy?: Record<string, string> }) | (OverrideRow & { overrules: Overruled[] }))[] {
  const overrules = new Map<string, Overruled[]>(overrides.map((o) => [o.id, []]));
  const marked = rows.map((row) => {
    if ('override' in row || 'skipped' in row) return row;
    const t = Date.parse(row.at);
    const overriddenBy: Record<string, string> = {};
    const beaten = new Map<string, string[]>();
    for (const target of row.targets) {
      const override = activeOverride(overrides, target, t);
      if (!override) continue;
      overriddenBy[target] = override.id;
      beaten.set(override.id, [...(beaten.get(override.id) ?? []), target]);
    }
    for (const [id, targets] of beaten)
      overrules.get(id)?.push({ at: row.at, schedule: row.schedule, action: row.action, targets });
    return Object.keys(overriddenBy).length > 0 ? { ...row, overriddenBy } : row;
  });
  return marked.map((row) =>
    'override' in row ? { ...row, overrules: overrules.get(row.override) ?? [] } : row,
  ) as never;
}
