import type { DynamoDBRecord } from 'aws-lambda';
import { type HistoryEntry, legacyEntryId } from '../engine/ledger.ts';
import type { Override } from '../engine/overrides.ts';
import { type CloudEvent, isCloudEvent } from './cloudevent.ts';
import { eventOfEntry, overrideEvent } from './make.ts';

/**
 * On AWS the ledger table is the outbox: its stream carries every history item (an outcome),
 * every `EVT#` item (the tick's other events) and every override put or deleted, and each becomes
 * a CloudEvent. Nothing is written twice to get an event out, so nothing can be recorded without
 * being announced. An override deleted by TTL (a day after it ended) is not a removal: its end was
 * announced by the tick at `until`.
 */
export function eventsOfRecord(record: DynamoDBRecord): CloudEvent[] {
  const pk = record.dynamodb?.Keys?.pk?.S ?? '';
  const image = record.dynamodb?.NewImage;
  if (record.eventName === 'INSERT' && pk.startsWith('HIST#')) {
    const text = image?.entry?.S;
    if (!text) return [];
    const entry = JSON.parse(text) as HistoryEntry;
    entry.id ??= legacyEntryId(text);
    return [eventOfEntry(entry)];
  }
  if (record.eventName === 'INSERT' && pk.startsWith('EVT#')) {
    const event = JSON.parse(image?.event?.S ?? 'null') as unknown;
    return isCloudEvent(event) ? [event] : [];
  }
  if (pk === 'OVERRIDE') {
    if (record.eventName === 'INSERT' && image?.doc?.S) {
      const override = JSON.parse(image.doc.S) as Override;
      return [overrideEvent('nightshift.override.created', override, override.createdAt)];
    }
    const old = record.dynamodb?.OldImage?.doc?.S;
    const byTtl = (record as { userIdentity?: { type?: string } }).userIdentity?.type === 'Service';
    if (record.eventName === 'REMOVE' && old && !byTtl) {
      const at = record.dynamodb?.ApproximateCreationDateTime;
      const time = at ? new Date(at * 1000).toISOString() : new Date().toISOString();
      const override = JSON.parse(old) as Override;
      // Deleting one that had ended already removes nothing: its end was announced.
      if (Date.parse(override.until) <= Date.parse(time)) return [];
      return [overrideEvent('nightshift.override.removed', override, time)];
    }
  }
  return [];
}
