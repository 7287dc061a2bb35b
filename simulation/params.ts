import fc from 'fast-check';
import type { Action } from '../functions/engine/kinds.ts';
import type { Held, WorldFaults } from './world.ts';

/** Something that happens to the world during a run, at a minute (before the healthy stretch). */
export type SimEvent =
  | {
      kind: 'override';
      at: number;
      targets: string[];
      state: 'running' | 'stopped' | 'paused' | 'hands-off';
      fromMinutes: number;
      minutes: number;
    }
  | { kind: 'removeOverride'; at: number; index: number }
  | { kind: 'behind'; at: number; target: string; state: Held }
  | { kind: 'crash'; at: number; engine: number; afterSteps: number }
  | { kind: 'config'; at: number; target: string; state: Held }
  | { kind: 'onDemand'; at: number; engine: number; target: string; action: Action };

export type LedgerFault = 'enospc-before' | 'enospc-after' | 'torn' | undefined;

export interface SimParams {
  seed: number;
  /** The config as a user writes it. */
  config: Record<string, unknown>;
  initial: Record<string, Held>;
  unreadable: string[];
  faults: WorldFaults;
  /** Chance that a ledger write fails (before or after it lands, or torn) while unhealthy. */
  ledgerFaultRate: number;
  minutes: number;
  /** The last minutes: no faults, crashes or events; every new desired state must be reached. */
  healthyMinutes: number;
  engines: string[];
  events: SimEvent[];
}

const PROJECT = '054ba152d480d55b2f5dc0069e7ddef0';
/** Targets of every kind, with ids in the seed pages' formats (a DRS job id ends in `jb…`). */
const TARGETS = {
  vias: { account: 'sim', kind: 'vias-task', taskId: '3f1c8a2e5b7d4e0f9a6b1c2d3e4f5a6b' },
  drs: { account: 'sim', kind: 'drs-job', jobId: 'c7debc9c-8e09-4a5d-8dd6-cc44f78jb20r', allowStop: true },
  cpts: { account: 'sim', kind: 'cpts-task', testSuiteId: 1, taskId: 1 },
  batch: { account: 'sim', kind: 'vias-batch-task', batchTaskId: '0d47bbf52962414bb7ae27fb6ea24230' },
} as const;
type Name = keyof typeof TARGETS;
const NAMES = Object.keys(TARGETS) as Name[];
const STATES: Record<Name, Held[]> = {
  vias: ['running', 'stopped'],
  drs: ['running', 'paused'],
  cpts: ['running', 'stopped'],
  batch: ['running', 'stopped'],
};
const ACTIONS: Record<Name, Action[]> = {
  vias: ['start', 'stop'],
  drs: ['pause', 'resume'],
  cpts: ['start', 'stop'],
  batch: ['start', 'stop'],
};

const hhmm = (minuteOfDay: number): string =>
  `${String(Math.floor(minuteOfDay / 60)).padStart(2, '0')}:${String(minuteOfDay % 60).padStart(2, '0')}`;

/** Simulated runs start at 06:00 UTC on a Monday; windows fall in the run's span. */
const DAY_START = 6 * 60;

/** The seed's world: which targets, their schedules, faults and events. */
export function simParams(
  options: { minutes?: number; healthyMinutes?: number } = {},
): fc.Arbitrary<SimParams> {
  const minutes = options.minutes ?? 180;
  // The healthy stretch must outlast every backoff and lease so each desired state is reached.
  const healthyMinutes = options.healthyMinutes ?? Math.max(60, Math.round(minutes / 3));
  const busy = minutes - healthyMinutes;
  const names = fc.subarray(NAMES, { minLength: 2, maxLength: 4 });
  return names.chain((chosen) => {
    const window = fc
      .tuple(fc.integer({ min: 0, max: minutes - 5 }), fc.integer({ min: 3, max: 70 }))
      .map(
        ([open, length]) =>
          `Mon-Fri ${hhmm(DAY_START + open)}-${hhmm(DAY_START + Math.min(open + length, minutes + 30))}`,
      );
    const schedule = (name: Name, i: number) =>
      fc.record({
        windows: fc.array(window, { minLength: 1, maxLength: 3 }),
        reconcile: fc.constantFrom('transitions', 'enforce'),
        enforceEveryMinutes: fc.integer({ min: 3, max: 15 }),
        end:
          name === 'drs'
            ? fc.option(fc.integer({ min: 1, max: minutes - 2 }), { freq: 3 })
            : fc.constant(null),
        i: fc.constant(i),
      });
    const event: fc.Arbitrary<SimEvent> = fc.oneof(
      fc.record({
        kind: fc.constant('override' as const),
        at: fc.integer({ min: 0, max: busy - 1 }),
        targets: fc.subarray(chosen, { minLength: 1 }),
        state: fc.constantFrom('running' as const, 'hands-off' as const),
        fromMinutes: fc.integer({ min: -30, max: 20 }),
        minutes: fc.integer({ min: 5, max: 120 }),
      }),
      fc.record({
        kind: fc.constant('removeOverride' as const),
        at: fc.integer({ min: 0, max: busy - 1 }),
        index: fc.nat(5),
      }),
      fc.constantFrom(...chosen).chain((target) =>
        fc.record({
          kind: fc.constant('behind' as const),
          at: fc.integer({ min: 0, max: busy - 1 }),
          target: fc.constant(target),
          state: fc.constantFrom(...STATES[target]),
        }),
      ),
      fc.record({
        kind: fc.constant('crash' as const),
        at: fc.integer({ min: 0, max: busy - 1 }),
        engine: fc.nat(1),
        afterSteps: fc.nat(80),
      }),
      fc
        .constantFrom(
          ...chosen.filter((n) => n === 'vias' || n === 'cpts'),
          ...(chosen.includes('vias') ? [] : ['vias' as const]),
        )
        .chain((target) =>
          fc.record({
            kind: fc.constant('config' as const),
            at: fc.integer({ min: 0, max: busy - 1 }),
            target: fc.constant(target),
            state: fc.constantFrom(...STATES[target]),
          }),
        ),
      fc.constantFrom(...chosen).chain((target) =>
        fc.record({
          kind: fc.constant('onDemand' as const),
          at: fc.integer({ min: 0, max: busy - 1 }),
          engine: fc.nat(1),
          target: fc.constant(target),
          action: fc.constantFrom(...ACTIONS[target]),
        }),
      ),
    );
    return fc
      .record({
        seed: fc.integer(),
        schedules: fc.tuple(...chosen.map((name, i) => schedule(name, i))),
        initial: fc.tuple(...chosen.map((name) => fc.constantFrom(...STATES[name]))),
        unreadable: fc.subarray(
          chosen.filter((n) => n !== 'batch'),
          { maxLength: 1 },
        ),
        faults: fc.record({
          latencyMs: fc.tuple(fc.integer({ min: 5, max: 200 }), fc.integer({ min: 200, max: 60_000 })),
          errorRate: fc.double({ min: 0, max: 0.5, noNaN: true }),
          lostRate: fc.double({ min: 0, max: 0.3, noNaN: true }),
          readErrorRate: fc.double({ min: 0, max: 0.3, noNaN: true }),
          settleMs: fc.tuple(fc.constant(0), fc.integer({ min: 0, max: 90_000 })),
        }),
        ledgerFaultRate: fc.double({ min: 0, max: 0.05, noNaN: true }),
        events: fc.array(event, { maxLength: 14 }).map((es) => [...es].sort((a, b) => a.at - b.at)),
      })
      .map((drawn): SimParams => {
        const targets: Record<string, unknown> = {};
        for (const name of chosen) targets[name] = TARGETS[name];
        const schedules: Record<string, unknown>[] = [];
        drawn.schedules.forEach((s, i) => {
          const name = chosen[i]!;
          s.windows.forEach((window, w) => {
            schedules.push({
              id: `${name}-${w}`,
              targets: [name],
              timezone: 'UTC',
              window,
              reconcile: s.reconcile,
              enforceEveryMinutes: s.enforceEveryMinutes,
            });
          });
          if (s.end !== null)
            schedules.push({
              id: `${name}-end`,
              targets: [name],
              timezone: 'UTC',
              actions: [
                {
                  do: 'stop',
                  cron: `${(DAY_START + s.end) % 60} ${Math.floor((DAY_START + s.end) / 60)} * * *`,
                },
              ],
            });
        });
        return {
          seed: drawn.seed,
          config: {
            version: 1,
            accounts: { sim: { region: 'cn-north-4', projectId: PROJECT, secret: 'nightshift/sim' } },
            targets,
            schedules,
          },
          initial: Object.fromEntries(chosen.map((name, i) => [name, drawn.initial[i]!])),
          unreadable: drawn.unreadable,
          faults: drawn.faults,
          ledgerFaultRate: drawn.ledgerFaultRate,
          minutes,
          healthyMinutes,
          engines: ['a', 'b'],
          events: drawn.events,
        };
      });
  });
}
