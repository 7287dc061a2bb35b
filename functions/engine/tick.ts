import type { Config } from './config/schema.ts';
import { type ActionResult, execute, type Upstream } from './executor.ts';
import type { HistoryEntry, Ledger, OccurrenceKey, Trigger } from './ledger.ts';
import { due } from './planner.ts';

export const MISSED_CODE = 'NIGHTSHIFT.MISSED';
const LATE_AFTER_MS = 60_000;

export interface TickOptions {
  config: Config;
  /** Evaluate `(from, to]`. */
  from: number;
  to: number;
  /** Wall-clock time of this evaluation. */
  now: number;
  ledger: Ledger;
  upstream: Upstream;
  /** An occurrence due longer ago than this is recorded as missed, not fired. */
  maxLatenessMs: number;
  trigger?: Trigger;
  onEntry?: (entry: HistoryEntry) => void;
}

export interface TickSummary {
  from: string;
  to: string;
  /** Target occurrences due in the window. */
  due: number;
  fired: number;
  succeeded: number;
  failed: number;
  late: number;
  missed: number;
  /** Occurrences another delivery or process had already claimed. */
  alreadyClaimed: number;
  entries: HistoryEntry[];
}

/**
 * Evaluates one window of the schedule and carries out what is due, each occurrence at most
 * once: every (schedule, action, instant, target) is claimed in the ledger first, and only the
 * winner acts. Too-late occurrences are claimed and recorded as missed. Upstream failures are
 * results, never throws; a ledger failure throws.
 */
export async function runTick(options: TickOptions): Promise<TickSummary> {
  const { config, from, to, now, ledger, upstream, maxLatenessMs } = options;
  const trigger = options.trigger ?? 'tick';
  const occurrences: { key: OccurrenceKey; lateness: number }[] = [];
  for (const row of due(config, from, to)) {
    const lateness = now - Date.parse(row.at);
    for (const target of row.targets) {
      occurrences.push({ key: { schedule: row.schedule, action: row.action, at: row.at, target }, lateness });
    }
  }
  const claimed = await Promise.all(occurrences.map((o) => ledger.claim(o.key)));
  const won = occurrences.filter((_, i) => claimed[i]);
  const missed = won.filter((o) => o.lateness > maxLatenessMs);
  const toFire = won.filter((o) => o.lateness <= maxLatenessMs);

  // One call per target and action, even when two schedules want the same thing at once.
  const calls = new Map<string, { target: string; action: string }>();
  for (const { key } of toFire)
    calls.set(`${key.target}\u0000${key.action}`, { target: key.target, action: key.action });
  const requests = [...calls.values()];
  const results = requests.length > 0 ? await execute(config, requests, { upstream }) : [];
  const resultOf = new Map(results.map((r, i) => [`${requests[i]!.target}\u0000${requests[i]!.action}`, r]));

  const recordedAt = new Date(now).toISOString();
  const entries: HistoryEntry[] = [
    ...missed.map(({ key }) => ({
      recordedAt,
      trigger,
      schedule: key.schedule,
      scheduledAt: key.at,
      late: true,
      result: missedResult(config, key, now),
    })),
    ...toFire.map(({ key, lateness }) => ({
      recordedAt,
      trigger,
      schedule: key.schedule,
      scheduledAt: key.at,
      ...(lateness > LATE_AFTER_MS ? { late: true } : {}),
      result: resultOf.get(`${key.target}\u0000${key.action}`)!,
    })),
  ];
  if (entries.length > 0) await ledger.record(entries);
  for (const entry of entries) options.onEntry?.(entry);

  const fired = entries.filter((e) => e.result.errorCode !== MISSED_CODE);
  return {
    from: new Date(from).toISOString(),
    to: new Date(to).toISOString(),
    due: occurrences.length,
    fired: fired.length,
    succeeded: fired.filter((e) => e.result.ok).length,
    failed: fired.filter((e) => !e.result.ok).length,
    late: fired.filter((e) => e.late).length,
    missed: missed.length,
    alreadyClaimed: occurrences.length - won.length,
    entries,
  };
}

function missedResult(config: Config, key: OccurrenceKey, now: number): ActionResult {
  const minutes = Math.round((now - Date.parse(key.at)) / 60_000);
  return {
    target: key.target,
    kind: config.targets[key.target]?.kind ?? 'vias-task',
    action: key.action,
    ok: false,
    status: 'skipped',
    errorCode: MISSED_CODE,
    errorMessage: `missed: due at ${key.at}, ${minutes} min before it could run, beyond the lateness bound`,
    attempts: 0,
    durationMs: 0,
  };
}
