import type { TargetState } from '../engine/states.ts';
import { type Html, html } from './html.ts';
import type { Band, TargetRow, WeekView } from './week.ts';
import { dateTimeIn, dayIn, dayLabel, fullDateTimeIn, timeIn } from './zone-time.ts';

/**
 * The week as HTML: a row per target with an SVG track whose x axis is time. Positions are
 * percentages (SVG attributes, which the Content-Security-Policy does not touch, unlike style
 * attributes), so a 23-hour day is drawn 23/24 as wide as the others and every band, edge and
 * override sits at its true instant. Each row also says its bands in words, for screen readers.
 */

/** Links keep the view's zone and filters; `query` builds one with changed parameters. */
export type QueryLink = (changes: Record<string, string | undefined>, hash?: string) => string;

const STATE_WORDS: Record<TargetState, string> = {
  running: 'running',
  paused: 'paused',
  stopped: 'stopped',
  ended: 'ended (DRS stop)',
};

export function renderWeek(week: WeekView, link: QueryLink): Html {
  const x = (t: number) => `${(((t - week.from) / (week.to - week.from)) * 100).toFixed(3)}%`;
  const w = (from: number, to: number) => `${(((to - from) / (week.to - week.from)) * 100).toFixed(3)}%`;
  const zone = week.zone;
  const separators = week.days
    .slice(1)
    .map((d) => html`<line class="day-line" x1="${x(d.from)}" x2="${x(d.from)}" y1="0" y2="100%"/>`);
  const nowLine =
    week.now === undefined
      ? ''
      : html`<line class="now" x1="${x(week.now)}" x2="${x(week.now)}" y1="0" y2="100%"/>`;
  const notedDays = week.days.filter((d) => d.notes.length > 0);

  const row = (r: TargetRow) => html`<div class="row" data-target="${r.target}">
<div class="label"><a href="${link({ target: r.target, hpage: undefined }, 'history')}" title="History of ${r.target}">${r.target}</a> <small>${r.kind}</small></div>
<svg class="track" aria-hidden="true">${week.days.map((d) => (d.notes.some((n) => n.kind === 'holiday') ? html`<rect class="holiday-day" x="${x(d.from)}" width="${w(d.from, d.to)}" y="0" height="100%"/>` : ''))}${r.bands.map((b) => band(b))}${r.skips.map(
    (s) =>
      s.to > s.from
        ? html`<rect class="skip" data-kind="${s.kind}" x="${x(s.from)}" width="${w(s.from, s.to)}" y="24" height="4"><title>${s.text}</title></rect>`
        : html`<rect class="holiday-mark" x="${x(s.from)}" width="0.25%" y="0" height="100%"><title>${dateTimeIn(zone, s.from)} ${s.text}</title></rect>`,
  )}${r.overrides.map(
    (o) =>
      html`<g class="ovr" data-override="${o.id}" data-state="${o.state}" data-from="${iso(o.from)}" data-to="${iso(o.to)}"><rect class="s-${o.state}" x="${x(o.from)}" width="${w(o.from, o.to)}" y="1" height="26"/><rect class="hatch" x="${x(o.from)}" width="${w(o.from, o.to)}" y="1" height="26"><title>${o.id}: ${o.state} from ${dateTimeIn(zone, Date.parse(o.starts))} until ${dateTimeIn(zone, Date.parse(o.until))}: ${o.reason}${o.createdBy ? ` (${o.createdBy})` : ''}</title></rect></g>`,
  )}${r.edges.map((e) => {
    const t = Date.parse(e.at);
    return html`<line class="edge" data-at="${e.at}" x1="${x(t)}" x2="${x(t)}" y1="0" y2="100%"><title>${dateTimeIn(zone, t)} ${e.schedule}: ${e.action}, then ${e.state}</title></line>`;
  })}${separators}${nowLine}</svg>
<p class="sr-only">${r.target}: ${describeBands(r.bands, zone)}${r.overrides.map((o) => ` Override ${o.id} holds it ${o.state} until ${fullDateTimeIn(zone, Date.parse(o.until))}: ${o.reason}.`)}${r.skips.map((s) => ` ${s.text}.`)}</p>
</div>`;

  const band = (b: Band) =>
    html`<rect class="band s-${b.state ?? 'none'}" data-state="${b.state ?? 'none'}" data-from="${iso(b.from)}" data-to="${iso(b.to)}" x="${x(b.from)}" width="${w(b.from, b.to)}" y="4" height="20"><title>${bandTitle(b, zone)}</title></rect>`;

  return html`<svg class="defs" aria-hidden="true" focusable="false"><defs><pattern id="hatch" patternUnits="userSpaceOnUse" width="7" height="7" patternTransform="rotate(45)"><rect width="3" height="7" fill="#ffffff" fill-opacity="0.6"/></pattern></defs></svg>
<nav class="week-nav" aria-label="Weeks">
<a href="${link({ week: week.previous })}#week" rel="prev">← Previous week</a>
<a href="${link({ week: undefined })}#week">This week</a>
<a href="${link({ week: week.next })}#week" rel="next">Next week →</a>
</nav>
${legend()}
<div class="week" data-from="${iso(week.from)}" data-to="${iso(week.to)}" data-zone="${zone}">
<div class="row head"><div class="label">${zone}</div><svg class="track days" aria-hidden="true">${week.days.map(
    (d) =>
      html`<g class="day" data-date="${d.date}" data-hours="${d.hours}" data-x="${x(d.from)}" data-width="${w(d.from, d.to)}"><text x="${x(d.from + (d.to - d.from) / 2)}" y="13" text-anchor="middle">${dayLabel(d.date)}${d.notes.length > 0 ? ' ⚑' : ''}</text>${d.hours === 24 ? '' : html`<text class="hours" x="${x(d.from + (d.to - d.from) / 2)}" y="26" text-anchor="middle">${d.hours} h day</text>`}</g>`,
  )}${separators}</svg></div>
${week.groups.map(
  (g) => html`<div class="group" role="group" aria-label="${g.name ?? 'Targets in no group'}">
<h3>${g.name ?? 'Not in a group'}</h3>
${g.rows.map(row)}
</div>`,
)}
</div>
${
  notedDays.length === 0
    ? ''
    : html`<h3>Holidays and skip dates</h3><ul class="day-notes">${notedDays.map(
        (d) =>
          html`<li><strong>${dayLabel(d.date)}</strong>: ${d.notes.map(
            (n, i) => html`${i > 0 ? '; ' : ''}${n.text} (${n.schedules.join(', ')} fired nothing then)`,
          )}</li>`,
      )}</ul>`
}
${
  week.days.some((d) => d.hours !== 24)
    ? html`<p class="hint">${week.days
        .filter((d) => d.hours !== 24)
        .map(
          (d) => `${dayLabel(d.date)} has ${d.hours} hours in ${zone} (clocks changed); `,
        )}edges keep their local times in each schedule's own zone.</p>`
    : ''
}`;
}

function legend(): Html {
  const swatch = (cls: string, text: string) =>
    html`<li><svg class="swatch" aria-hidden="true"><rect class="band ${cls}" x="0" y="0" width="100%" height="100%"/></svg>${text}</li>`;
  return html`<ul class="legend" aria-label="Legend">
${swatch('s-running', 'running')}${swatch('s-paused', 'paused')}${swatch('s-stopped', 'stopped')}${swatch('s-none', 'no desired state (nothing held)')}
<li><svg class="swatch ovr" aria-hidden="true"><rect class="s-running" x="0" y="0" width="100%" height="100%"/><rect class="hatch" x="0" y="0" width="100%" height="100%"/></svg>override (beats every schedule)</li>
<li><svg class="swatch" aria-hidden="true"><line class="edge" x1="50%" x2="50%" y1="0" y2="100%"/></svg>edge</li>
<li><svg class="swatch" aria-hidden="true"><rect class="holiday-day" x="0" y="0" width="100%" height="100%"/></svg>holiday ⚑ / skip date</li>
<li><svg class="swatch" aria-hidden="true"><line class="now" x1="50%" x2="50%" y1="0" y2="100%"/></svg>now</li>
</ul>`;
}

function bandTitle(b: Band, zone: string): string {
  const span = `${dateTimeIn(zone, b.from)} – ${dateTimeIn(zone, b.to)}`;
  if (!b.state) return `${span}: no desired state (no edge in the last 35 days): nothing is held`;
  return `${span}: ${STATE_WORDS[b.state]}, set by ${b.edge!.schedule} (${b.edge!.action} at ${dateTimeIn(zone, Date.parse(b.edge!.at))})`;
}

function describeBands(bands: readonly Band[], zone: string): string {
  if (bands.length === 0) return 'no schedule.';
  return `${bands
    .map(
      (b) =>
        `${b.state ? STATE_WORDS[b.state] : 'nothing held'} from ${dateTimeIn(zone, b.from)} to ${
          dayIn(zone, b.to) === dayIn(zone, b.from) ? timeIn(zone, b.to) : dateTimeIn(zone, b.to)
        }`,
    )
    .join('; ')}.`;
}

const iso = (ms: number) => new Date(ms).toISOString();
