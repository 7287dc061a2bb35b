import type { CloudEvent } from '../events/cloudevent.ts';
import type { DeliveryStore, PendingEvent, SinkGate, Turn } from './dispatch.ts';

/**
 * The delivery store in memory: for events that cannot be written anywhere else (the state folder
 * itself failing, which is worth telling someone about), and for tests. Lost when the process
 * stops; used only where nothing better is possible.
 */
export class MemoryDeliveryStore implements DeliveryStore {
  private readonly sinks = new Map<string, { pending: PendingEvent[]; sent: Set<string>; gate: SinkGate }>();
  readonly dead: { sink: string; event: CloudEvent; reason: string }[] = [];

  private of(sink: string) {
    let state = this.sinks.get(sink);
    if (!state) {
      state = { pending: [], sent: new Set(), gate: { failures: 0 } };
      this.sinks.set(sink, state);
    }
    return state;
  }

  async enqueue(sink: string, events: readonly CloudEvent[], now: number): Promise<string[]> {
    const state = this.of(sink);
    const added: string[] = [];
    for (const event of events) {
      if (state.sent.has(event.id) || state.pending.some((p) => p.event.id === event.id)) continue;
      state.pending.push({ event, enqueuedAt: now });
      added.push(event.id);
    }
    return added;
  }

  async pending(sink: string, limit: number): Promise<PendingEvent[]> {
    return this.of(sink).pending.slice(0, limit);
  }

  async claimTurn(sink: string, _owner: string, now: number): Promise<Turn> {
    const { gate } = this.of(sink);
    if (gate.notBefore !== undefined && gate.notBefore > now) return { ok: false, notBefore: gate.notBefore };
    return { ok: true, gate: { ...gate } };
  }

  async endTurn(sink: string, _owner: string, sent: readonly string[], gate: SinkGate): Promise<void> {
    const state = this.of(sink);
    for (const id of sent) state.sent.add(id);
    state.pending = state.pending.filter((p) => !state.sent.has(p.event.id));
    state.gate = { ...gate };
  }

  async giveUp(sink: string, events: readonly PendingEvent[], reason: string): Promise<void> {
    const state = this.of(sink);
    const gone = new Set(events.map((p) => p.event.id));
    state.pending = state.pending.filter((p) => !gone.has(p.event.id));
    for (const id of gone) state.sent.add(id);
    for (const p of events) this.dead.push({ sink, event: p.event, reason });
  }

  sinksWithPending(): string[] {
    return [...this.sinks].filter(([, s]) => s.pending.length > 0).map(([name]) => name);
  }
}
