import { checkCalendarSource, resolveCalendarData } from '../calendar/holiday-sources.ts';
import type { Config } from './schema.ts';
import { type ConfigIssue, formatPath } from './validate.ts';

/**
 * Calendars, as the CLI, `cdk synth` and `config push` handle them: the libraries check the
 * country and state, and resolve the dates into the document, which is what the engine (and on
 * AWS the Lambdas) read. Loads the holiday libraries: never import this from a Lambda handler.
 */

export interface CalendarSpan {
  /** The clock: dates are resolved from the year before it to two years after it. */
  now?: Date | number | undefined;
  /** Instants the caller will plan for (e.g. `plan --from/--to`): their years are resolved too. */
  from?: Date | number | undefined;
  to?: Date | number | undefined;
}

/** Validation check of the raw document: every calendar's country and state are known. */
export function checkCalendarSources(input: unknown): ConfigIssue[] {
  const calendars = (input as { calendars?: unknown } | null)?.calendars;
  if (typeof calendars !== 'object' || calendars === null || Array.isArray(calendars)) return [];
  const issues: ConfigIssue[] = [];
  for (const [name, raw] of Object.entries(calendars)) {
    const { country, state } = (raw ?? {}) as { country?: unknown; state?: unknown };
    if (typeof country !== 'string' || !/^[A-Z]{2}$/.test(country)) continue; // the schema says why
    if (state !== undefined && typeof state !== 'string') continue;
    const problem = checkCalendarSource({ country, state });
    if (problem)
      issues.push({ path: formatPath(['calendars', name, problem.field]), message: problem.message });
  }
  return issues;
}

/** The years to resolve: from the year before `now` to two years after, and any planned year. */
export function spanYears(span: CalendarSpan = {}): [number, number] {
  const year = (t: Date | number) => new Date(+t).getUTCFullYear();
  const now = span.now ?? Date.now();
  let first = year(now) - 1;
  let last = year(now) + 2;
  // A day's margin on both sides: local dates run up to 14 hours from UTC.
  if (span.from !== undefined) first = Math.min(first, year(+span.from - 86_400_000));
  if (span.to !== undefined) last = Math.max(last, year(+span.to + 86_400_000));
  return [first, last];
}

/** A validated config with every calendar's dates resolved from the libraries for the span. */
export function withCalendarData(config: Config, span: CalendarSpan = {}): Config {
  if (!config.calendars || Object.keys(config.calendars).length === 0) return config;
  const [first, last] = spanYears(span);
  const calendars = Object.fromEntries(
    Object.entries(config.calendars).map(([name, calendar]) => [
      name,
      { ...calendar, resolved: resolveCalendarData(calendar, first, last) },
    ]),
  );
  return { ...config, calendars };
}

/**
 * The document to deploy: the user's JSON with each calendar's dates resolved for the span (the
 * runtime has no holiday library). A document without calendars is deployed byte for byte.
 */
export function deployableText(text: string, config: Config, span: CalendarSpan = {}): string {
  if (!config.calendars || Object.keys(config.calendars).length === 0) return text;
  const document = JSON.parse(text) as { calendars: Record<string, Record<string, unknown>> };
  const resolved = withCalendarData(config, span).calendars!;
  for (const [name, calendar] of Object.entries(document.calendars)) {
    calendar.resolved = resolved[name]!.resolved;
  }
  return `${JSON.stringify(document, null, 2)}\n`;
}
