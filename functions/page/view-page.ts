import type { Config } from '../engine/config/schema.ts';
import { ErrorCode } from '../engine/error-codes.ts';
import type { HistoryEntry, PageSession } from '../engine/ledger.ts';
import { OVERRIDE_STATES, type Override } from '../engine/overrides.ts';
import type { TargetStatus } from '../engine/status.ts';
import { PAGE_SCRIPT, PAGE_STYLE } from './assets.ts';
import { type Html, html, raw } from './html.ts';
import { type QueryLink, renderWeek } from './view-week.ts';
import type { WeekView } from './week.ts';
import { dateTimeIn, dayLabel, fullDateTimeIn, offsetLabel, timeIn } from './zone-time.ts';

/** What the page shows; gathered by routes.ts from the engine and the ledger. */
export interface PageModel {
  /** The path prefix the page is served under ('' or an API Gateway stage such as `/prod`). */
  base: string;
  config: Config;
  /** The zone times are shown in, and the config's own. */
  zone: string;
  configZone: string;
  now: number;
  session: PageSession;
  csrf: string;
  /** A fresh value per form shown: a repeated submission creates nothing twice. */
  nonce: string;
  link: QueryLink;
  /** The view's parameters, carried by every form as hidden fields. */
  view: Record<string, string | undefined>;
  week: WeekView;
  statuses: TargetStatus[];
  /** Whether the statuses were read upstream now (else they are what the tick last recorded). */
  live: boolean;
  overrides: Override[];
  history: HistoryView;
  warnings: { path: string; message: string }[];
  notice?: string;
  form?: OverrideForm;
}

export interface HistoryView {
  entries: HistoryEntry[];
  target?: string;
  result?: string;
  page: number;
  more: boolean;
  /** The result filter looked at only the newest entries this many. */
  scanned?: number;
}

export interface OverrideForm {
  targets: string[];
  state: string;
  until: string;
  reason: string;
  error?: string;
  /** The field the error is about. */
  field?: 'targets' | 'state' | 'until' | 'reason';
}

export const HISTORY_RESULTS = ['succeeded', 'failed', 'missed', 'unchanged', 'skipped', 'dry-run'] as const;

/** One HTML document: the head with the inline style, the body, the inline script. */
export function documentOf(title: string, body: Html, options: { script?: boolean } = {}): string {
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="same-origin">
<title>${title}</title>
<link rel="icon" href="data:,">
<style>${raw(PAGE_STYLE)}</style>
</head>
<body>
${body}
${options.script === false ? '' : html`<script>${raw(PAGE_SCRIPT)}</script>`}
</body>
</html>
`.text;
}

export function renderPage(m: PageModel): string {
  const canWrite = m.session.scope === 'write';
  const hidden = (values: Record<string, string | undefined>) =>
    Object.entries(values).map(([name, value]) =>
      value === undefined ? '' : html`<input type="hidden" name="${name}" value="${value}">`,
    );
  const formBase = hidden({ csrf: m.csrf, tz: m.view.tz, week: m.view.week });
  const zones = [...new Set([m.configZone, 'UTC', m.zone])];

  const body = html`<header class="top">
<nav aria-label="Sections" class="sections"><strong class="brand">Nightshift</strong>
<a href="#week">Week</a> <a href="#status">Status</a> <a href="#overrides">Overrides</a> <a href="#history">History</a></nav>
<div class="session">
<form method="get" action="${m.base}/" class="zone" data-zone-switch>
<label for="tz">Times in</label>
<select id="tz" name="tz">${zones.map(
    (z) =>
      html`<option value="${z === m.configZone ? '' : z}" data-zone="${z}"${z === m.zone ? raw(' selected') : ''}>${z}${z === m.configZone ? ' (config)' : ''}</option>`,
  )}</select>
${hidden({ week: m.view.week, target: m.view.target, result: m.view.result })}
<button type="submit">Show</button>
</form>
<span class="who">${m.session.name} · ${canWrite ? 'can change overrides' : 'read-only'}</span>
<form method="post" action="${m.base}/signout" class="inline">${hidden({ csrf: m.csrf })}<button type="submit">Sign out</button></form>
</div>
<p class="clock" id="clock">Now ${fullDateTimeIn(m.zone, m.now)} <span class="muted">${m.zone} (${offsetLabel(m.zone, m.now)}) · ${new Date(m.now).toISOString().slice(11, 16)} UTC</span></p>
</header>
<main>
${m.notice ? html`<p class="notice" role="status">${m.notice}</p>` : ''}
${warnings(m)}
<section id="week" aria-labelledby="week-h" data-refresh>
<h2 id="week-h">Week of ${dayLabel(m.week.monday)} ${m.week.monday.slice(0, 4)}</h2>
${renderWeek(m.week, m.link)}
</section>
<section id="status" aria-labelledby="status-h" data-refresh>
<h2 id="status-h">Status</h2>
${statusTable(m)}
</section>
<section id="overrides" aria-labelledby="overrides-h">
<h2 id="overrides-h">Overrides</h2>
${canWrite ? overrideForm(m, formBase) : html`<p class="notice">This session is read-only: sign in with a link made without <code>--read-only</code> to create or remove overrides.</p>`}
<div id="override-list" data-refresh>${overrideList(m, formBase, canWrite)}</div>
</section>
<section id="history" aria-labelledby="history-h" data-refresh>
<h2 id="history-h">History</h2>
${historySection(m, hidden)}
</section>
</main>`;
  return documentOf('Nightshift', body);
}

function warnings(m: PageModel): Html | string {
  if (m.warnings.length === 0) return '';
  return html`<section id="warnings" aria-labelledby="warnings-h" class="warnings" data-refresh>
<h2 id="warnings-h">Config warnings</h2>
<ul>${m.warnings.map((w) => html`<li><code>${w.path}</code>: ${w.message}</li>`)}</ul>
</section>`;
}

function statusTable(m: PageModel): Html {
  const t = (iso: string | null | undefined) => (iso ? dateTimeIn(m.zone, Date.parse(iso)) : '–');
  const rows = m.statuses.map((s) => {
    const observed =
      s.desired === 'hands-off'
        ? 'not read (hands-off)'
        : s.observed === null
          ? (s.note ?? '–')
          : `${s.observed}${s.observedAt ? ` (${timeIn(m.zone, Date.parse(s.observedAt))})` : ''}`;
    return html`<tr data-target="${s.target}" class="${s.inSync ? 'in-sync' : 'out-of-sync'}">
<th scope="row">${s.target} <small>${s.kind}</small></th>
<td><span class="state s-${s.desired ?? 'none'}">${s.desired ?? 'nothing held'}</span></td>
<td>${observed}</td>
<td>${s.inSync ? 'yes' : html`<strong>no</strong>`}</td>
<td>${t(s.since)}</td>
<td>${s.override ? html`<a href="#override-${s.override}">${s.override}</a>` : (s.because ?? '–')}</td>
<td>${lastOutcome(s, m.zone)}</td>
<td>${s.nextEdge ? `${s.nextEdge.state} ${t(s.nextEdge.at)} (${s.nextEdge.schedule})` : '–'}</td>
<td>${s.nextCheckAt ? `${s.tries ?? 0} look(s) so far; next ${t(s.nextCheckAt)}` : '–'}</td>
</tr>`;
  });
  return html`<p class="hint">${
    m.live
      ? 'Observed: read upstream just now.'
      : html`Observed: as the tick last read it (time in brackets). <a href="${m.link({ live: '1' }, 'status')}">Read every status upstream now</a>`
  }</p>
<div class="scroll"><table class="status">
<thead><tr><th scope="col">Target</th><th scope="col">Desired</th><th scope="col">Observed</th><th scope="col">In sync</th><th scope="col">Since</th><th scope="col">Because</th><th scope="col">Last outcome</th><th scope="col">Next edge</th><th scope="col">Pending retries</th></tr></thead>
<tbody>${rows}</tbody>
</table></div>`;
}

function lastOutcome(s: TargetStatus, zone: string): string {
  if (s.desired === null) return 'nothing held';
  if (s.desired === 'hands-off') return 'hands-off: no calls';
  const at = s.lastCheckAt ? ` (${dateTimeIn(zone, Date.parse(s.lastCheckAt))})` : '';
  if (s.final) return `cannot be reached${at}`;
  if (s.reached === true) return `reached${at}`;
  if (s.reached === false) return `not reached yet${s.tries ? ` after ${s.tries} look(s)` : ''}${at}`;
  return 'not looked at yet';
}

function overrideForm(m: PageModel, formBase: (Html | string)[]): Html {
  const f = m.form ?? { targets: [], state: 'running', until: '', reason: '' };
  const invalid = (field: OverrideForm['field']) =>
    f.field === field ? raw(' aria-invalid="true" aria-describedby="override-error"') : '';
  const selected = (value: string) => (f.targets.includes(value) ? raw(' selected') : '');
  const groups = Object.keys(m.config.groups ?? {});
  const schedules = m.config.schedules.filter((s) => s.enabled);
  return html`<form method="post" action="${m.base}/overrides" class="override-form" id="override-form">
${formBase}<input type="hidden" name="nonce" value="${m.nonce}">
${f.error ? html`<p class="error" id="override-error" role="alert">${f.error}</p>` : ''}
<div class="field">
<label for="ov-targets">Targets</label>
<select id="ov-targets" name="targets" multiple size="${Math.min(8, Object.keys(m.config.targets).length + groups.length + schedules.length + 3)}" required aria-describedby="ov-targets-hint"${invalid('targets')}>
${groups.length > 0 ? html`<optgroup label="Groups">${groups.map((g) => html`<option value="${g}"${selected(g)}>${g}</option>`)}</optgroup>` : ''}
<optgroup label="Targets">${Object.keys(m.config.targets).map((t) => html`<option value="${t}"${selected(t)}>${t}</option>`)}</optgroup>
${schedules.length > 0 ? html`<optgroup label="Schedules (all their targets)">${schedules.map((s) => html`<option value="schedule:${s.id}"${selected(`schedule:${s.id}`)}>schedule ${s.id}</option>`)}</optgroup>` : ''}
</select>
<small id="ov-targets-hint">Targets and groups (Ctrl, ⌘ or Shift for several), or one schedule.</small>
</div>
<div class="field">
<label for="ov-state">State</label>
<select id="ov-state" name="state" aria-describedby="ov-state-hint"${invalid('state')}>${OVERRIDE_STATES.map(
    (s) => html`<option value="${s}"${f.state === s ? raw(' selected') : ''}>${s}</option>`,
  )}</select>
<small id="ov-state-hint">paused is for DRS jobs, stopped for the other kinds; hands-off: Nightshift makes no call at all.</small>
</div>
<div class="field">
<label for="ov-until">Until</label>
<input id="ov-until" name="until" type="text" required value="${f.until}" placeholder="23:00" autocomplete="off" aria-describedby="ov-until-hint"${invalid('until')}>
<small id="ov-until-hint">A time in ${m.zone}: 23:00 (the next one), tomorrow 08:00, 2027-03-29 23:00; or ISO 8601 with a zone. At most ${m.config.overrides?.maxHours ?? 168} hours from now.</small>
</div>
<div class="field">
<label for="ov-reason">Reason</label>
<input id="ov-reason" name="reason" type="text" required maxlength="1000" value="${f.reason}" autocomplete="off" aria-describedby="ov-reason-hint"${invalid('reason')}>
<small id="ov-reason-hint">Why, for whoever looks next.</small>
</div>
<div class="field"><button type="submit" class="primary">Create override</button></div>
</form>`;
}

function overrideList(m: PageModel, formBase: (Html | string)[], canWrite: boolean): Html {
  if (m.overrides.length === 0) return html`<p>No active or future overrides: the schedules decide.</p>`;
  const t = (iso: string) => dateTimeIn(m.zone, Date.parse(iso));
  return html`<div class="scroll"><table class="overrides">
<thead><tr><th scope="col">Override</th><th scope="col">Targets</th><th scope="col">State</th><th scope="col">From</th><th scope="col">Until</th><th scope="col">Reason</th><th scope="col">By</th>${canWrite ? html`<th scope="col"><span class="sr-only">Remove</span></th>` : ''}</tr></thead>
<tbody>${m.overrides.map(
    (o) => html`<tr id="override-${o.id}" data-override="${o.id}">
<th scope="row">${o.id}${Date.parse(o.from) > m.now ? html` <small>(starts later)</small>` : ''}</th>
<td>${o.targets.join(', ')}</td>
<td><span class="state s-${o.state}">${o.state}</span></td>
<td>${t(o.from)}</td>
<td>${t(o.until)}</td>
<td>${o.reason}</td>
<td>${o.createdBy ?? '–'}</td>
${canWrite ? html`<td><form method="post" action="${m.base}/overrides/remove" class="inline">${formBase}<input type="hidden" name="id" value="${o.id}"><button type="submit" aria-label="Remove ${o.id}">Remove</button></form></td>` : ''}
</tr>`,
  )}</tbody>
</table></div>`;
}

function historySection(
  m: PageModel,
  hidden: (values: Record<string, string | undefined>) => (Html | string)[],
): Html {
  const h = m.history;
  const rows = h.entries.map((e) => {
    const r = e.result;
    const outcome = resultWord(e);
    const because = e.override ?? e.schedule ?? e.trigger;
    const details = [
      r.errorCode,
      r.errorMessage,
      r.observed === undefined ? undefined : `observed ${r.observed ?? 'unreadable'}`,
      r.verified === false ? 'not verified' : undefined,
      e.late ? 'late' : undefined,
      e.drift ? 'drift corrected' : undefined,
      e.reason,
    ].filter((d): d is string => typeof d === 'string' && d !== '');
    return html`<tr data-result="${outcome}">
<td>${dateTimeIn(m.zone, Date.parse(e.recordedAt))}</td>
<td>${r.target}</td>
<td>${r.action}</td>
<td><span class="result r-${outcome}">${outcome}</span></td>
<td>${because}${e.scheduledAt ? html` <small>(due ${timeIn(m.zone, Date.parse(e.scheduledAt))})</small>` : ''}</td>
<td>${details.join(' · ')}</td>
</tr>`;
  });
  const targets = Object.keys(m.config.targets);
  return html`<form method="get" action="${m.base}/" class="filters">
${hidden({ tz: m.view.tz, week: m.view.week })}
<label for="h-target">Target</label>
<select id="h-target" name="target"><option value="">all</option>${targets.map(
    (t) => html`<option value="${t}"${h.target === t ? raw(' selected') : ''}>${t}</option>`,
  )}</select>
<label for="h-result">Result</label>
<select id="h-result" name="result"><option value="">any</option>${HISTORY_RESULTS.map(
    (r) => html`<option value="${r}"${h.result === r ? raw(' selected') : ''}>${r}</option>`,
  )}</select>
<button type="submit">Filter</button>
</form>
${
  rows.length === 0
    ? html`<p>Nothing recorded${h.target || h.result ? ' that matches' : ' yet'}.</p>`
    : html`<div class="scroll"><table class="history">
<thead><tr><th scope="col">Recorded</th><th scope="col">Target</th><th scope="col">Action</th><th scope="col">Result</th><th scope="col">Because</th><th scope="col">Details</th></tr></thead>
<tbody>${rows}</tbody>
</table></div>`
}
<nav class="pages" aria-label="History pages">
${h.page > 0 ? html`<a href="${m.link({ hpage: h.page === 1 ? undefined : String(h.page - 1) }, 'history')}" rel="prev">← Newer</a>` : ''}
<span>Page ${h.page + 1}</span>
${h.more ? html`<a href="${m.link({ hpage: String(h.page + 1) }, 'history')}" rel="next">Older →</a>` : ''}
</nav>
${h.scanned ? html`<p class="hint">The result filter looked at the newest ${h.scanned} entries; <code>nightshift history --json</code> reads further back.</p>` : ''}`;
}

/** The word the history shows for an entry: its status, or `missed`. */
export function resultWord(e: HistoryEntry): string {
  return e.result.errorCode === ErrorCode.missed ? 'missed' : e.result.status;
}

/** A page of its own: signing in, a refusal, an error. */
export function renderMessage(
  title: string,
  message: Html | string,
  options: { base: string; action?: Html; signInHelp?: boolean } = { base: '' },
): string {
  return documentOf(
    `${title} · Nightshift`,
    html`<main class="message">
<h1>${title}</h1>
<p>${message}</p>
${options.action ?? ''}
${
  options.signInHelp
    ? html`<div class="help"><p>To get a sign-in link, on the machine that runs <code>nightshift serve</code> (or anywhere with the webhook key in <code>NIGHTSHIFT_WEBHOOK_KEY</code>):</p>
<pre><code>npx nightshift open${options.base ? ' --url <this page’s address>' : ''}</code></pre>
<p><code>serve</code> also prints a link when it starts. A link works once and expires (15 minutes by default); add <code>--read-only</code> for one that can only look.</p></div>`
    : ''
}
</main>`,
    { script: false },
  );
}
