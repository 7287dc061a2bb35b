import { formatLocalMinute, MINUTE_MS, ZoneClock } from '../engine/calendar/zone.ts';
import type { Config } from '../engine/config/schema.ts';
import type { ActionResult } from '../engine/executor.ts';
import type { HistoryEntry } from '../engine/ledger.ts';
import type { Override } from '../engine/overrides.ts';
import type { ReconcileWarning } from '../engine/reconcile.ts';
import type { CloudEvent } from '../events/cloudevent.ts';
import { targetsOfEvent, type UpcomingChange } from '../events/make.ts';
import { redact } from '../observability/redact.ts';

/**
 * What a person reads: a title and one line per event (target, action, result, error, when, the
 * schedule or override behind it), or, for a burst, one line per kind of outcome naming every
 * target; and a link to the page when `notifications.pageUrl` is set. Each sink lays it out in
 * its own format (mrkdwn, markdown, an Adaptive Card, plain text).
 */
export interface Message {
  title: string;
  lines: string[];
  link?: string;
  /** Something went wrong (failures, misses, drift, ledger, unreadable status): sinks may colour it. */
  alert: boolean;
}

export interface MessageContext {
  config: Config;
  /** Messages that hold more events than this are grouped by outcome. Default 10. */
  listUpTo?: number;
}

const MAX_ERROR_TEXT = 300;

const clocks = new Map<string, ZoneClock>();
/** `2027-03-29 20:00 Europe/Berlin`. */
export function localTime(iso: string, zone: string): string {
  const ms = Date.parse(iso);
  if (Number.isNaN(ms)) return iso;
  let clock = clocks.get(zone);
  if (!clock) {
    clock = new ZoneClock(zone);
    clocks.set(zone, clock);
  }
  return `${formatLocalMinute(clock.localMinute(Math.floor(ms / MINUTE_MS)))} ${zone}`;
}

function zoneFor(config: Config, schedule: string | undefined): string {
  const own = schedule ? config.schedules.find((s) => s.id === schedule)?.timezone : undefined;
  return own ?? config.timezone ?? 'UTC';
}

const clip = (text: string, max: number) => (text.length > max ? `${text.slice(0, max - 1)}…` : text);

function errorText(result: ActionResult): string {
  const message = result.errorMessage ? clip(redact(result.errorMessage), MAX_ERROR_TEXT) : '';
  return [result.errorCode, message].filter(Boolean).join(' ');
}

/** Who asked for it: the schedule, the override, or an on-demand request. */
function because(entry: Omit<HistoryEntry, 'id'>): string {
  if (entry.override) return `override ${entry.override}`;
  if (entry.schedule) return `schedule ${entry.schedule}`;
  const how = entry.trigger === 'http' ? 'API request' : entry.trigger === 'cli' ? 'CLI' : entry.trigger;
  return `on demand (${how}${entry.reason ? `: ${clip(entry.reason, 120)}` : ''})`;
}

function outcomeLine(event: CloudEvent, config: Config): string {
  const entry = event.data as unknown as Omit<HistoryEntry, 'id'>;
  const r = entry.result;
  const when = `at ${localTime(entry.recordedAt, zoneFor(config, entry.schedule))}${entry.late ? ' (late)' : ''}`;
  const tail = ` — ${when}, ${because(entry)}`;
  switch (event.type) {
    case 'nightshift.action.failed':
      return `FAILED ${r.action} ${r.target}: ${errorText(r) || r.status}${tail}`;
    case 'nightshift.action.missed':
      return `MISSED ${r.action} ${r.target}: ${errorText(r)}${tail}`;
    case 'nightshift.target.drifted':
      return `DRIFT ${r.target} had left ${r.desired ?? 'its state'}: ${r.action} ${r.ok ? 'ok' : `FAILED ${errorText(r)}`}${tail}`;
    default:
      if (r.status === 'unchanged') return `OK ${r.target} already ${r.desired ?? 'in state'}${tail}`;
      if (r.status === 'skipped')
        return `SKIPPED ${r.action} ${r.target}${entry.reason ? `: ${entry.reason}` : ''}${tail}`;
      return `OK ${r.action} ${r.target}${r.desired ? ` → ${r.desired}` : ''}${r.verified === false ? ' (not yet verified)' : ''}${tail}`;
  }
}

function overrideLine(event: CloudEvent, config: Config): string {
  const o = event.data as unknown as Override;
  const zone = config.timezone ?? 'UTC';
  const who = o.createdBy ? ` by ${o.createdBy}` : '';
  const targets = o.targets.join(', ');
  switch (event.type) {
    case 'nightshift.override.created':
      return `OVERRIDE ${o.id}: ${targets} held ${o.state} from ${localTime(o.from, zone)} until ${localTime(o.until, zone)} — "${clip(o.reason, 200)}"${who}`;
    case 'nightshift.override.ended':
      return `OVERRIDE ENDED ${o.id}: ${targets} back to their schedules at ${localTime(o.until, zone)} (was ${o.state}: "${clip(o.reason, 200)}")`;
    default:
      return `OVERRIDE REMOVED ${o.id}: ${targets} back to their schedules at ${localTime(event.time, zone)} (was ${o.state} until ${localTime(o.until, zone)})`;
  }
}

/** One line for one event. */
export function eventLine(event: CloudEvent, config: Config): string {
  if (event.type.startsWith('nightshift.action.') && event.type !== 'nightshift.action.upcoming')
    return outcomeLine(event, config);
  if (event.type === 'nightshift.target.drifted') return outcomeLine(event, config);
  if (event.type.startsWith('nightshift.override.')) return overrideLine(event, config);
  const data = event.data as Record<string, unknown>;
  switch (event.type) {
    case 'nightshift.action.upcoming': {
      const c = data as unknown as UpcomingChange;
      return `UPCOMING ${c.action} ${c.target} → ${c.state} at ${localTime(c.at, zoneFor(config, c.schedule))} (in ${c.minutesAhead} min), schedule ${c.schedule}: override it now to keep ${c.target} ${c.from ?? 'as it is'}`;
    }
    case 'nightshift.status.unreadable': {
      const w = data as unknown as ReconcileWarning;
      return `STATUS UNREADABLE ${w.target}: ${clip(redact(w.message), MAX_ERROR_TEXT)}${w.permission ? ` (grant ${w.permission})` : ''}`;
    }
    case 'nightshift.ledger.failed': {
      const targets = (data.targets as string[] | undefined) ?? [];
      return `LEDGER FAILED: ${String(data.message)}${targets.length ? `; left alone: ${targets.join(', ')}` : ''}${Array.isArray(data.errors) && data.errors.length ? ` (${clip(redact(String(data.errors[0])), 200)})` : ''}`;
    }
    default:
      return `${event.type.replace(/^nightshift\./, '').toUpperCase()}: ${clip(redact(String(data.message ?? JSON.stringify(data))), 300)}`;
  }
}

const ALERT_TYPES = new Set([
  'nightshift.action.failed',
  'nightshift.action.missed',
  'nightshift.target.drifted',
  'nightshift.status.unreadable',
  'nightshift.ledger.failed',
]);

const LABELS: Record<string, string> = {
  'nightshift.action.failed': 'failed',
  'nightshift.action.missed': 'missed',
  'nightshift.action.succeeded': 'succeeded',
  'nightshift.target.drifted': 'drifted',
  'nightshift.action.upcoming': 'upcoming',
  'nightshift.override.created': 'override created',
  'nightshift.override.ended': 'override ended',
  'nightshift.override.removed': 'override removed',
  'nightshift.status.unreadable': 'status unreadable',
  'nightshift.ledger.failed': 'ledger failed',
  'nightshift.test': 'test',
};

function titleOf(events: readonly CloudEvent[]): string {
  if (events.length === 1) {
    const e = events[0]!;
    const label = LABELS[e.type] ?? e.type;
    const subject = targetsOfEvent(e).join(', ') || e.subject;
    return `Nightshift: ${label}${subject ? ` — ${clip(subject, 120)}` : ''}`;
  }
  const counts = new Map<string, number>();
  for (const e of events)
    counts.set(LABELS[e.type] ?? e.type, (counts.get(LABELS[e.type] ?? e.type) ?? 0) + 1);
  return `Nightshift: ${events.length} events (${[...counts].map(([l, n]) => `${n} ${l}`).join(', ')})`;
}

/**
 * A burst, one line per kind of outcome: `FAILED stop ×97 (NIGHTSHIFT.NETWORK): t1, t2, ...`,
 * naming every target, with the span of time it covers.
 */
function groupedLines(events: readonly CloudEvent[], config: Config): string[] {
  const groups = new Map<string, { head: string; targets: string[]; first: string; last: string }>();
  for (const e of events) {
    let key: string;
    let head: string;
    const data = e.data as Record<string, unknown>;
    const result = data.result as ActionResult | undefined;
    if (result) {
      const label = (LABELS[e.type] ?? e.type).toUpperCase();
      const code = result.errorCode ?? (result.status === 'unchanged' ? 'unchanged' : '');
      key = `${e.type}|${result.action}|${code}`;
      head = `${label} ${result.action}${code ? ` (${code})` : ''}`;
    } else if (e.type.startsWith('nightshift.override.')) {
      key = `${e.type}|${String(data.id)}`;
      head = `${(LABELS[e.type] ?? e.type).toUpperCase()} ${String(data.id)} (${String(data.state)})`;
    } else if (e.type === 'nightshift.action.upcoming') {
      key = `${e.type}|${String(data.action)}|${String(data.at)}`;
      head = `UPCOMING ${String(data.action)} at ${localTime(String(data.at), zoneFor(config, data.schedule as string))}`;
    } else {
      key = e.type;
      head = (LABELS[e.type] ?? e.type).toUpperCase();
    }
    const group = groups.get(key) ?? { head, targets: [], first: e.time, last: e.time };
    for (const t of targetsOfEvent(e)) if (!group.targets.includes(t)) group.targets.push(t);
    if (e.time < group.first) group.first = e.time;
    if (e.time > group.last) group.last = e.time;
    groups.set(key, group);
  }
  const zone = config.timezone ?? 'UTC';
  return [...groups.values()].map((g) => {
    const span =
      g.first === g.last
        ? localTime(g.first, zone)
        : `${localTime(g.first, zone)} – ${localTime(g.last, zone).replace(/^\d{4}-\d{2}-\d{2} /, '')}`;
    return `${g.head} ×${g.targets.length || 1}: ${g.targets.join(', ')} — ${span}`;
  });
}

/** The message for the events of one delivery (oldest first). */
export function messageOf(events: readonly CloudEvent[], context: MessageContext): Message {
  const { config } = context;
  const listUpTo = context.listUpTo ?? 10;
  const lines =
    events.length <= listUpTo ? events.map((e) => eventLine(e, config)) : groupedLines(events, config);
  const link = config.notifications?.pageUrl;
  return {
    title: titleOf(events),
    lines,
    ...(link ? { link } : {}),
    alert: events.some((e) => ALERT_TYPES.has(e.type)),
  };
}

/**
 * The message cut to fit a sink's size limit (WeCom takes 4096 bytes of markdown): long lists of
 * targets are shortened to "…and N more" first, then whole lines go, with a note saying how many.
 * A burst still names every target whenever the limit allows it.
 */
export function fitMessage(message: Message, maxBytes: number, size: (m: Message) => number): Message {
  if (size(message) <= maxBytes) return message;
  let lines = message.lines.map((line) => line);
  for (let keep = 40; keep >= 3; keep = Math.floor(keep / 2)) {
    lines = message.lines.map((line) => shortenList(line, keep));
    if (size({ ...message, lines }) <= maxBytes) return { ...message, lines };
  }
  const dropped: string[] = [];
  while (lines.length > 1 && size({ ...message, lines: [...lines, note(dropped.length + 1)] }) > maxBytes)
    dropped.push(lines.pop()!);
  const fitted = dropped.length > 0 ? [...lines, note(dropped.length)] : lines;
  const first = fitted[0] ?? '';
  if (size({ ...message, lines: fitted }) > maxBytes) fitted[0] = clip(first, Math.max(40, maxBytes / 4));
  return { ...message, lines: fitted };
}

const note = (n: number) => `…and ${n} more line${n === 1 ? '' : 's'}: see the history`;

/** `FAILED stop ×97 (X): a, b, c, ... — span` with at most `keep` names listed. */
function shortenList(line: string, keep: number): string {
  const match = /^(.*? ×\d+: )(.*?)( — .*)$/.exec(line);
  if (!match) return line;
  const names = match[2]!.split(', ');
  if (names.length <= keep) return line;
  return `${match[1]}${names.slice(0, keep).join(', ')} …and ${names.length - keep} more${match[3]}`;
}
