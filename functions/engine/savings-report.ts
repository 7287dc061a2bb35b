import { MINUTE_MS, ZoneClock } from './calendar/zone.ts';
import type { Config } from './config/schema.ts';
import { heldOffByTarget } from './held-off.ts';
import type { TargetKind } from './kinds.ts';
import type { Ledger } from './ledger.ts';
import { hoursOf, moneyOf, plannedOffMs } from './savings.ts';

/** One target's savings over the range. */
export interface TargetSavings {
  target: string;
  kind: TargetKind;
  description?: string;
  /** Observed off (stopped or paused), up to `observedUntil`. */
  heldOffHours: number;
  /** Off by the schedules and overrides, over the whole range. */
  plannedOffHours: number;
  /** Only for targets with a `cost` in the config. */
  cost?: { perHour: number; currency: string; avoided: number };
}

export interface CurrencyTotal {
  currency: string;
  /** The targets priced in this currency. */
  targets: number;
  heldOffHours: number;
  plannedOffHours: number;
  avoided: number;
}

export interface SavingsReport {
  /** UTC ISO 8601. */
  from: string;
  to: string;
  /** Held off counts what was seen up to here: `to`, or now when `to` is later. */
  observedUntil: string;
  /** The zone the default range (the month so far) is read in: the config's. */
  zone: string;
  targets: TargetSavings[];
  totals: { heldOffHours: number; plannedOffHours: number; currencies: CurrencyTotal[] };
}

/** The longest range a report covers (as for `plan`): a year and then some. */
export const MAX_SAVINGS_DAYS = 400;

/** A range or target a report cannot be made for; `reason` maps to exit 2 or HTTP 400/404. */
export class SavingsRequestError extends Error {
  override readonly name = 'SavingsRequestError';
  constructor(
    message: string,
    readonly reason: 'bad-request' | 'not-found',
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

export interface SavingsOptions {
  config: Config;
  ledger: Ledger;
  /** Epoch ms; `from` < `to`, at most `MAX_SAVINGS_DAYS` apart. */
  from: number;
  to: number;
  now: number;
  /** Default: every target of the config, in its order; a name given twice counts once. */
  targets?: readonly string[];
}

/** The config's zone: the default range and the CLI's local times are read in it. */
export const zoneOfConfig = (config: Config): string => config.timezone ?? 'UTC';

/**
 * Hours held off, hours planned off and cost avoided per target, with totals, over `[from, to)`:
 * the observations and the overrides from the ledger, the plan from the config.
 */
export async function savingsReport(options: SavingsOptions): Promise<SavingsReport> {
  const { config, ledger, from, to, now } = options;
  if (!(to > from)) throw new SavingsRequestError('to must be later than from', 'bad-request');
  if (to - from > MAX_SAVINGS_DAYS * 86_400_000)
    throw new SavingsRequestError(`a savings range may span at most ${MAX_SAVINGS_DAYS} days`, 'bad-request');
  // A name given twice (`--target a --target a`, `?target=a,a`) is one target: one row, one share.
  const targets = [...new Set(options.targets ?? Object.keys(config.targets))];
  const unknown = targets.filter((t) => !Object.hasOwn(config.targets, t));
  if (unknown.length > 0)
    throw new SavingsRequestError(`unknown target ${unknown.map((t) => `"${t}"`).join(', ')}`, 'not-found');
  const observedUntil = Math.max(from, Math.min(to, now));

  const [heldOff, overrides] = await Promise.all([
    heldOffByTarget({ targets, from, to: observedUntil }, ledger),
    ledger.overridesBetween(from, to),
  ]);
  const planned = plannedOffMs(config, overrides, from, to, targets);

  const rows: TargetSavings[] = [];
  const currencies = new Map<string, CurrencyTotal & { heldMs: number; plannedMs: number; raw: number }>();
  let heldTotal = 0;
  let plannedTotal = 0;
  for (const target of targets) {
    const spec = config.targets[target]!;
    const held = heldOff.get(target) ?? 0;
    const plan = planned.get(target) ?? 0;
    heldTotal += held;
    plannedTotal += plan;
    const row: TargetSavings = {
      target,
      kind: spec.kind,
      ...(spec.description === undefined ? {} : { description: spec.description }),
      heldOffHours: hoursOf(held),
      plannedOffHours: hoursOf(plan),
    };
    if (spec.cost) {
      const raw = (held / 3_600_000) * spec.cost.perHour;
      row.cost = { perHour: spec.cost.perHour, currency: spec.cost.currency, avoided: moneyOf(raw) };
      let total = currencies.get(spec.cost.currency);
      if (!total) {
        total = {
          currency: spec.cost.currency,
          targets: 0,
          heldOffHours: 0,
          plannedOffHours: 0,
          avoided: 0,
          heldMs: 0,
          plannedMs: 0,
          raw: 0,
        };
        currencies.set(spec.cost.currency, total);
      }
      total.targets += 1;
      total.heldMs += held;
      total.plannedMs += plan;
      total.raw += raw;
    }
    rows.push(row);
  }
  return {
    from: new Date(from).toISOString(),
    to: new Date(to).toISOString(),
    observedUntil: new Date(observedUntil).toISOString(),
    zone: zoneOfConfig(config),
    targets: rows,
    totals: {
      heldOffHours: hoursOf(heldTotal),
      plannedOffHours: hoursOf(plannedTotal),
      // Rounded from the exact sums, so a total is never off by the rounding of its parts.
      currencies: [...currencies.values()]
        .sort((a, b) => (a.currency < b.currency ? -1 : 1))
        .map(({ heldMs, plannedMs, raw, ...total }) => ({
          ...total,
          heldOffHours: hoursOf(heldMs),
          plannedOffHours: hoursOf(plannedMs),
          avoided: moneyOf(raw),
        })),
    },
  };
}

/** The start of the month `now` falls in, in `zone` (local midnight of the 1st, as a UTC instant). */
export function monthStart(zone: string, now: number): number {
  const clock = new ZoneClock(zone);
  const local = clock.localMinute(Math.floor(now / MINUTE_MS));
  const d = new Date(local * MINUTE_MS);
  const first = Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1) / MINUTE_MS;
  // The UTC minute showing that local time; where a clock change skips midnight, the first after.
  const candidates = [clock.offsetAt(first - 1440), clock.offsetAt(first + 1440)]
    .map((offset) => first - offset)
    .sort((a, b) => a - b);
  const exact = candidates.find((m) => clock.localMinute(m) === first);
  const after = candidates.find((m) => clock.localMinute(m) > first);
  return (exact ?? after ?? candidates[0]!) * MINUTE_MS;
}

/**
 * The month so far, in the config's zone: what the page shows, and what `nightshift savings`
 * and `GET /v1/savings` answer by default.
 */
export function monthSoFar(config: Config, ledger: Ledger, now: number): Promise<SavingsReport> {
  const from = monthStart(zoneOfConfig(config), now);
  // In the first minute of a month the range would be empty: show at least that minute.
  return savingsReport({ config, ledger, from, to: Math.max(now, from + MINUTE_MS), now });
}
