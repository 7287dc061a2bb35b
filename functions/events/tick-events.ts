import type { Config } from '../engine/config/schema.ts';
import type { Ledger } from '../engine/ledger.ts';
import type { Override } from '../engine/overrides.ts';
import type { ReconcileWarning } from '../engine/reconcile.ts';
import type { Log } from '../observability/log.ts';
import type { CloudEvent } from './cloudevent.ts';
import { ledgerFailedEvent, overrideEvent, upcomingEvent, warningEvent } from './make.ts';
import { upcomingChanges } from './upcoming.ts';

/**
 * The events' outbox beside the history: events that are not outcomes (an upcoming change, an
 * override that ended, a warning) are written here, in the same ledger the history lives in, and
 * delivered from it exactly like outcomes. Appending an event whose id is already there changes
 * nothing that is delivered (ids are deduplicated).
 */
export interface EventJournal {
  appendEvents(events: readonly CloudEvent[]): Promise<void>;
}

/** Default `notifications.upcomingMinutes`. */
export const DEFAULT_UPCOMING_MINUTES = 15;

export interface TickEventsInput {
  config: Config;
  /** The minutes the tick evaluated: `(from, to]`. */
  from: number;
  to: number;
  now: number;
  /** Overrides current at `now` (active and future). */
  overrides: readonly Override[];
  /** Overrides as they stood at `from` (so those that ended since are among them). */
  overridesAtFrom: readonly Override[];
  warnings: readonly ReconcileWarning[];
  ledgerFailures: readonly { target: string; error: string }[];
}

/**
 * What a tick announces besides its outcomes (those are history entries, announced from the
 * history): changes coming up in `upcomingMinutes`, overrides whose `until` fell in the evaluated
 * minutes, the warnings found, and ledger writes that failed. Pure: the same tick gives the same
 * events, with the same ids.
 */
export function tickEvents(input: TickEventsInput): CloudEvent[] {
  const time = new Date(input.now).toISOString();
  const events: CloudEvent[] = [];
  const minutesAhead = input.config.notifications?.upcomingMinutes ?? DEFAULT_UPCOMING_MINUTES;
  for (const change of upcomingChanges({
    config: input.config,
    overrides: input.overrides,
    from: input.from,
    to: input.to,
    now: input.now,
    minutesAhead,
  }))
    events.push(upcomingEvent(change, time));
  for (const o of input.overridesAtFrom) {
    const until = Date.parse(o.until);
    if (until > input.from && until <= input.to)
      events.push(overrideEvent('nightshift.override.ended', o, o.until));
  }
  for (const warning of input.warnings) events.push(warningEvent(warning, time));
  if (input.ledgerFailures.length > 0) events.push(ledgerFailedEvent(input.ledgerFailures, time));
  return events;
}

export interface PublishTickEventsDeps {
  ledger: Pick<Ledger, 'overrides'> & EventJournal;
  log: Log;
  /**
   * Where events go when the journal cannot take them (the ledger is failing, which is itself
   * worth an event): the bus on AWS, the notifier's memory locally. Best effort.
   */
  fallback?: (events: CloudEvent[]) => Promise<void> | void;
}

/**
 * The tick's hook: works out the tick's events and writes them to the journal. Never throws: an
 * announcement must not fail (or delay) the tick that carried the actions out.
 */
export async function publishTickEvents(
  deps: PublishTickEventsDeps,
  input: Omit<TickEventsInput, 'overridesAtFrom'>,
): Promise<CloudEvent[]> {
  let events: CloudEvent[] = [];
  try {
    const overridesAtFrom = await deps.ledger.overrides(input.from).catch((error: unknown) => {
      deps.log.warn('events: overrides unreadable, the ones ending now are announced by a later tick', {
        error: String(error),
      });
      return [] as Override[];
    });
    events = tickEvents({ ...input, overridesAtFrom });
    if (events.length === 0) return events;
    await deps.ledger.appendEvents(events);
  } catch (error) {
    deps.log.error('events: could not write the tick’s events to the journal', {
      error: String(error),
      events: events.map((e) => ({ id: e.id, type: e.type, subject: e.subject })),
    });
    if (deps.fallback && events.length > 0) {
      try {
        await deps.fallback(events);
      } catch (fallbackError) {
        deps.log.error('events: the fallback failed too; these events are lost', {
          error: String(fallbackError),
        });
      }
    }
  }
  return events;
}
