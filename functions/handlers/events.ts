import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import type { DynamoDBBatchResponse, DynamoDBStreamEvent } from 'aws-lambda';
import { putOnBus } from '../events/bus.ts';
import type { CloudEvent } from '../events/cloudevent.ts';
import { eventsOfRecord } from '../events/stream.ts';
import { createLog } from '../observability/powertools-log.ts';

let client: EventBridgeClient | undefined;
let log: ReturnType<typeof createLog> | undefined;

/**
 * The ledger table's stream to the event bus: each new history item, `EVT#` item and override
 * change becomes a CloudEvent on the bus the stack created (source `nightshift`, detail-type the
 * event type). Entries the bus refused are tried again; if they still fail, the batch is reported
 * from the first such record on, and Lambda delivers it again (the stream keeps it 24 hours;
 * receivers deduplicate by id). A damaged item is logged and passed over.
 */
export const handler = async (event: DynamoDBStreamEvent): Promise<DynamoDBBatchResponse> => {
  const bus = process.env.NIGHTSHIFT_EVENT_BUS;
  if (!bus) throw new Error('missing environment variable NIGHTSHIFT_EVENT_BUS');
  client ??= new EventBridgeClient({});
  log ??= createLog();
  const perRecord: { sequence: string; events: CloudEvent[] }[] = [];
  for (const record of event.Records ?? []) {
    let events: CloudEvent[] = [];
    try {
      events = eventsOfRecord(record);
    } catch (error) {
      log.error('events: a ledger item could not be read, passed over', {
        pk: record.dynamodb?.Keys?.pk?.S,
        sk: record.dynamodb?.Keys?.sk?.S,
        error: String(error),
      });
    }
    perRecord.push({ sequence: record.dynamodb?.SequenceNumber ?? '', events });
  }
  const all = perRecord.flatMap((r) => r.events);
  const failed = new Set((await putOnBus(client, bus, all)).map((e) => e.id));
  const first = perRecord.find((r) => r.events.some((e) => failed.has(e.id)));
  if (first) {
    log.error('events: the bus refused some events; the stream delivers them again', {
      failed: failed.size,
      from: first.sequence,
    });
    return { batchItemFailures: [{ itemIdentifier: first.sequence }] };
  }
  if (all.length > 0)
    log.info('events published', { events: all.length, types: [...new Set(all.map((e) => e.type))] });
  return { batchItemFailures: [] };
};

/** Forgets the container's clients: for tests. */
export function resetEventsHandler(): void {
  client = undefined;
  log = undefined;
}
