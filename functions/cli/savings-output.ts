import { ZoneClock } from '../engine/calendar/zone.ts';
import type { SavingsReport } from '../engine/savings-report.ts';
import { csv } from './csv.ts';
import { renderTable } from './table.ts';

/** The CSV columns, one record per target, then a total for all and one per currency. */
export const SAVINGS_CSV_HEADER = [
  'from',
  'to',
  'target',
  'kind',
  'description',
  'held_off_hours',
  'planned_off_hours',
  'cost_per_hour',
  'currency',
  'cost_avoided',
] as const;

/**
 * The report as CSV (RFC 4180). Totals are records whose target is `(total)` or
 * `(total CNY)`: parentheses and spaces never occur in target names.
 */
export function savingsCsv(report: SavingsReport): string {
  const { from, to } = report;
  return csv([
    SAVINGS_CSV_HEADER,
    ...report.targets.map((t) => [
      from,
      to,
      t.target,
      t.kind,
      t.description,
      t.heldOffHours,
      t.plannedOffHours,
      t.cost?.perHour,
      t.cost?.currency,
      t.cost?.avoided,
    ]),
    [
      from,
      to,
      '(total)',
      undefined,
      `${report.targets.length} target(s)`,
      report.totals.heldOffHours,
      report.totals.plannedOffHours,
      undefined,
      undefined,
      undefined,
    ],
    ...report.totals.currencies.map((c) => [
      from,
      to,
      `(total ${c.currency})`,
      undefined,
      `${c.targets} target(s) priced in ${c.currency}`,
      c.heldOffHours,
      c.plannedOffHours,
      undefined,
      c.currency,
      c.avoided,
    ]),
  ]);
}

const hours = (value: number) => `${value.toFixed(2)} h`;
const money = (value: number, currency: string) => `${value.toFixed(2)} ${currency}`;

/** `2027-03-01 00:00` in the report's zone. */
function localTime(iso: string, zone: string): string {
  const clock = new ZoneClock(zone);
  const local = clock.localMinute(Math.floor(Date.parse(iso) / 60_000));
  return new Date(local * 60_000).toISOString().slice(0, 16).replace('T', ' ');
}

/** The report for people: the range, a table of targets, the totals. */
export function savingsText(report: SavingsReport): string {
  const { zone } = report;
  const observed =
    report.observedUntil === report.to
      ? ''
      : `; held off as observed until ${localTime(report.observedUntil, zone)}`;
  const head = `Savings from ${localTime(report.from, zone)} to ${localTime(report.to, zone)} ${zone}${observed}\n\n`;
  const rows = report.targets.map((t) => [
    t.target,
    t.kind,
    hours(t.heldOffHours),
    hours(t.plannedOffHours),
    t.cost ? money(t.cost.perHour, t.cost.currency) : '-',
    t.cost ? money(t.cost.avoided, t.cost.currency) : '-',
  ]);
  const avoided = report.totals.currencies.map((c) => money(c.avoided, c.currency)).join(', ');
  rows.push([
    'Total',
    '',
    hours(report.totals.heldOffHours),
    hours(report.totals.plannedOffHours),
    '',
    avoided || '-',
  ]);
  const table = renderTable(['Target', 'Kind', 'Held off', 'Planned off', 'Cost/hour', 'Avoided'], rows);
  return `${head}${table}\nHeld off: observed stopped or paused (history). Planned off: what the schedules and overrides asked for.\n`;
}
