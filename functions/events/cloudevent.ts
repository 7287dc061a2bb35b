import { createHash } from 'node:crypto';

/**
 * Nightshift's events, as CloudEvents 1.0 in the JSON format: every outcome in the history, every
 * override change, every state change coming up, every condition a person should fix. Receivers
 * (EventBridge rules, the generic webhook, chat sinks) deduplicate by `id`, which is stable: an
 * outcome's event carries its history entry's id, and every other event an id derived from what
 * it is about, so two processes (or a redelivered tick) announcing the same thing give one id.
 */
export const EVENT_TYPES = [
  'nightshift.action.succeeded',
  'nightshift.action.failed',
  'nightshift.action.missed',
  'nightshift.target.drifted',
  'nightshift.override.created',
  'nightshift.override.ended',
  'nightshift.override.removed',
  'nightshift.action.upcoming',
  'nightshift.status.unreadable',
  'nightshift.ledger.failed',
] as const;

export type EventType = (typeof EVENT_TYPES)[number];

/** Sent by `nightshift notify test` only: never recorded, never routed. */
export const TEST_EVENT_TYPE = 'nightshift.test';

/** The CloudEvents `source` and the EventBridge `Source` of every event. */
export const EVENT_SOURCE = 'nightshift';

/** What a route without `events` takes: failures, misses, drift and overrides. */
export const DEFAULT_ROUTE_EVENTS: readonly string[] = [
  'nightshift.action.failed',
  'nightshift.action.missed',
  'nightshift.target.drifted',
  'nightshift.override.*',
];

export interface CloudEvent<T = Record<string, unknown>> {
  specversion: '1.0';
  id: string;
  source: string;
  type: string;
  /** RFC 3339 */
  time: string;
  /** The target the event is about; an override's id for override events; absent for the ledger. */
  subject?: string;
  datacontenttype: 'application/json';
  data: T;
}

export function cloudEvent<T extends Record<string, unknown>>(fields: {
  id: string;
  type: string;
  time: string;
  subject?: string | undefined;
  data: T;
}): CloudEvent<T> {
  return {
    specversion: '1.0',
    id: fields.id,
    source: EVENT_SOURCE,
    type: fields.type,
    time: fields.time,
    ...(fields.subject === undefined ? {} : { subject: fields.subject }),
    datacontenttype: 'application/json',
    data: fields.data,
  };
}

/** A stable id for an event that is not a history entry: the same parts give the same id. */
export function derivedId(...parts: string[]): string {
  return `ev-${createHash('sha256').update(parts.join('\u0000')).digest('base64url').slice(0, 22)}`;
}

/**
 * Whether an event type matches a route's pattern: the exact type, a prefix ending in `.*`
 * (`nightshift.override.*`), or `*` for everything.
 */
export function typeMatches(pattern: string, type: string): boolean {
  if (pattern === '*') return true;
  if (pattern.endsWith('.*')) return type.startsWith(pattern.slice(0, -1));
  return pattern === type;
}

/** The known event types a pattern matches (none: the pattern is a mistake). */
export function typesMatching(pattern: string): EventType[] {
  return EVENT_TYPES.filter((type) => typeMatches(pattern, type));
}

/** Whether a parsed value looks like one of our CloudEvents (from a journal line, a queue message). */
export function isCloudEvent(value: unknown): value is CloudEvent {
  if (typeof value !== 'object' || value === null) return false;
  const e = value as Record<string, unknown>;
  return (
    e.specversion === '1.0' &&
    typeof e.id === 'string' &&
    typeof e.type === 'string' &&
    typeof e.time === 'string' &&
    typeof e.data === 'object' &&
    e.data !== null
  );
}
