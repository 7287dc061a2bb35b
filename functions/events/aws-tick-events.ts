import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import type { Log } from '../observability/log.ts';
import { putOnBus } from './bus.ts';
import { type PublishTickEventsDeps, publishTickEvents, type TickEventsInput } from './tick-events.ts';

let bus: EventBridgeClient | undefined;

/**
 * The tick Lambda's events into the ledger's journal (`EVT#` items, carried to the bus by the
 * table's stream). When the ledger cannot take them (it is failing: that is news), straight onto
 * the bus named by `NIGHTSHIFT_EVENT_BUS`.
 */
export function announceTick(
  ledger: PublishTickEventsDeps['ledger'],
  log: Log,
  input: Omit<TickEventsInput, 'overridesAtFrom'>,
): Promise<unknown> {
  const busName = process.env.NIGHTSHIFT_EVENT_BUS;
  return publishTickEvents(
    {
      ledger,
      log,
      ...(busName
        ? {
            fallback: async (events) => {
              bus ??= new EventBridgeClient({});
              const failed = await putOnBus(bus, busName, events);
              if (failed.length > 0) throw new Error(`the bus refused ${failed.length} event(s)`);
            },
          }
        : {}),
    },
    input,
  );
}
