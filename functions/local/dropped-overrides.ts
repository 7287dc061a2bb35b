import { wallClock } from '../engine/calendar/zone.ts';
import type { Override } from '../engine/overrides.ts';
import type { Log } from '../observability/log.ts';

export const DROPPED_MESSAGE =
  'override dropped: it was already over by this runtime clock when it was written (was it made on another clock? see NIGHTSHIFT_CLOCK_START)';

/** What the watch needs of the ledger: every override it holds, ended ones included. */
interface OverrideSource {
  overrides(now: number): Promise<Override[]>;
}

/**
 * Says so when an override shows up in the state folder already over by the runtime's clock: it
 * was written on another clock (a `nightshift override add` on the real clock beside a `serve`
 * on a demo clock, say) and would otherwise be dropped without a word. Overrides present when the
 * runtime starts are taken as known: one that ended while it was down ended, it was not dropped.
 */
export class DroppedOverrides {
  private known: Set<string> | undefined;

  constructor(
    private readonly log: Log,
    private readonly print: (line: string) => void,
    private readonly zone: string,
  ) {}

  /** Call before the overrides are read for the tick: that read removes long-ended ones. */
  async check(ledger: OverrideSource, now: number): Promise<void> {
    // -Infinity: every override on file, however long ago it ended (the read then removes none).
    const all = await ledger.overrides(Number.NEGATIVE_INFINITY);
    if (this.known === undefined) {
      this.known = new Set(all.map((o) => o.id));
      return;
    }
    for (const o of all) {
      if (this.known.has(o.id)) continue;
      this.known.add(o.id);
      if (Date.parse(o.until) > now) continue;
      const fields = {
        override: o.id,
        targets: o.targets,
        state: o.state,
        until: o.until,
        createdAt: o.createdAt,
        runtimeNow: new Date(now).toISOString(),
      };
      this.log.warn(DROPPED_MESSAGE, fields);
      this.print(
        `override ${o.id} (${o.state} ${o.targets.join(', ')}) dropped: it ended at ${wallClock(Date.parse(o.until), this.zone)}, ` +
          `before this runtime's ${wallClock(now, this.zone)}; was it made on another clock? (NIGHTSHIFT_CLOCK_START/_SPEED)`,
      );
    }
  }
}
