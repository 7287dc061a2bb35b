import { ErrorCode } from '../engine/error-codes.ts';
import type { HistoryEntry } from '../engine/ledger.ts';
import type { Override } from '../engine/overrides.ts';
import type { ReconcileWarning } from '../engine/reconcile.ts';
import { type CloudEvent, cloudEvent, derivedId, type EventType, TEST_EVENT_TYPE } from './cloudevent.ts';

/**
 * The type of the event an outcome makes: a miss, a drift correction, a failure or a success
 * (`unchanged`, `skipped` and verified calls alike; `data.result.status` tells them apart).
 */
export function typeOfEntry(entry: HistoryEntry): EventType {
  if (entry.result.errorCode === ErrorCode.missed) return 'nightshift.action.missed';
  if (entry.drift) return 'nightshift.target.drifted';
  return entry.result.ok ? 'nightshift.action.succeeded' : 'nightshift.action.failed';
}

/** The event of one history entry: its id is the entry's id, its data the entry itself. */
export function eventOfEntry(entry: HistoryEntry): CloudEvent {
  const { id, ...data } = entry;
  return cloudEvent({
    id,
    type: typeOfEntry(entry),
    time: entry.recordedAt,
    subject: entry.result.target,
    data: data as unknown as Record<string, unknown>,
  });
}

export type OverrideEventType =
  | 'nightshift.override.created'
  | 'nightshift.override.ended'
  | 'nightshift.override.removed';

/**
 * An override's event. Its subject is the override's id (it may cover many targets, listed in
 * `data.targets`); there is one event of each type per override, whoever notices it.
 */
export function overrideEvent(type: OverrideEventType, override: Override, time: string): CloudEvent {
  return cloudEvent({
    id: derivedId(type, override.id),
    type,
    time,
    subject: override.id,
    data: { ...override } as unknown as Record<string, unknown>,
  });
}

/** A desired-state change coming up, announced ahead so that someone can override it in time. */
export interface UpcomingChange {
  target: string;
  kind: string;
  /** When the change happens (UTC ISO 8601). */
  at: string;
  /** The state the schedules will then ask for. */
  state: string;
  /** The state they ask for now, when there is one. */
  from?: string;
  action: string;
  schedule: string;
  minutesAhead: number;
}

export function upcomingEvent(change: UpcomingChange, time: string): CloudEvent {
  return cloudEvent({
    id: derivedId('nightshift.action.upcoming', change.target, change.at, change.state),
    type: 'nightshift.action.upcoming',
    time,
    subject: change.target,
    data: { ...change },
  });
}

/**
 * A condition found while reconciling (a status query refused: grant a permission). One event
 * per target, condition and UTC day, so an unfixed permission is not announced every minute.
 */
export function warningEvent(warning: ReconcileWarning, time: string): CloudEvent {
  const type = `nightshift.${warning.code}`;
  return cloudEvent({
    id: derivedId(type, warning.target, warning.permission ?? warning.message, time.slice(0, 10)),
    type,
    time,
    subject: warning.target,
    data: { ...warning },
  });
}

/** Ledger writes that failed in one tick: those targets were left alone. */
export function ledgerFailedEvent(
  failures: readonly { target: string; error: string }[],
  time: string,
): CloudEvent {
  const targets = [...new Set(failures.map((f) => f.target))].sort();
  return cloudEvent({
    id: derivedId('nightshift.ledger.failed', time, ...targets),
    type: 'nightshift.ledger.failed',
    time,
    data: {
      message: `${failures.length} ledger write(s) failed: nothing is done on those targets until the ledger can record`,
      targets: targets.filter((t) => t !== '(history)'),
      errors: [...new Set(failures.map((f) => f.error))].slice(0, 10),
    },
  });
}

/** What `nightshift notify test` sends through a sink. */
export function testEvent(sink: string, type: string, time: string): CloudEvent {
  return cloudEvent({
    id: derivedId(TEST_EVENT_TYPE, sink, time),
    type: TEST_EVENT_TYPE,
    time,
    data: { sink, sinkType: type, message: `Test message from Nightshift through sink "${sink}" (${type})` },
  });
}

/** The targets an event is about: its subject, or an override's (or a failed tick's) targets. */
export function targetsOfEvent(event: CloudEvent): string[] {
  const listed = (event.data as { targets?: unknown }).targets;
  if (Array.isArray(listed)) return listed.filter((t): t is string => typeof t === 'string');
  return event.subject === undefined ? [] : [event.subject];
}
