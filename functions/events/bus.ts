import {
  type EventBridgeClient,
  PutEventsCommand,
  type PutEventsRequestEntry,
} from '@aws-sdk/client-eventbridge';
import { type CloudEvent, EVENT_SOURCE } from './cloudevent.ts';

/** PutEvents takes 10 entries and 256 KB a call. */
const ENTRIES_PER_CALL = 10;
const BYTES_PER_CALL = 240 * 1024;
const ATTEMPTS = 4;

export function busEntry(event: CloudEvent, busName: string): PutEventsRequestEntry {
  return {
    EventBusName: busName,
    Source: EVENT_SOURCE,
    DetailType: event.type,
    // The whole CloudEvent: rules match on detail.subject, detail.data.result.errorCode, ...
    Detail: JSON.stringify(event),
    Time: new Date(event.time),
  };
}

/**
 * Puts events on the bus (source `nightshift`, detail-type = the event type, detail = the
 * CloudEvent), in calls of at most 10 entries, trying entries EventBridge failed again with
 * backoff. Returns the events that still failed (empty: all are on the bus).
 */
export async function putOnBus(
  client: EventBridgeClient,
  busName: string,
  events: readonly CloudEvent[],
  sleep: (ms: number) => Promise<void> = (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
): Promise<CloudEvent[]> {
  const failed: CloudEvent[] = [];
  for (const chunk of chunks(events)) {
    let todo = chunk;
    for (let attempt = 1; todo.length > 0 && attempt <= ATTEMPTS; attempt++) {
      if (attempt > 1) await sleep(50 * 2 ** attempt);
      try {
        const answer = await client.send(
          new PutEventsCommand({ Entries: todo.map((event) => busEntry(event, busName)) }),
        );
        if (!answer.FailedEntryCount) todo = [];
        else todo = todo.filter((_, i) => answer.Entries?.[i]?.ErrorCode !== undefined);
      } catch (error) {
        if (attempt === ATTEMPTS) throw error;
      }
    }
    failed.push(...todo);
  }
  return failed;
}

function chunks(events: readonly CloudEvent[]): CloudEvent[][] {
  const out: CloudEvent[][] = [];
  let current: CloudEvent[] = [];
  let bytes = 0;
  for (const event of events) {
    const size = Buffer.byteLength(JSON.stringify(event)) + 100;
    if (current.length === ENTRIES_PER_CALL || (current.length > 0 && bytes + size > BYTES_PER_CALL)) {
      out.push(current);
      current = [];
      bytes = 0;
    }
    current.push(event);
    bytes += size;
  }
  if (current.length > 0) out.push(current);
  return out;
}
