import type { TargetState } from '../engine/states.ts';
import { type Html, html, raw } from './html.ts';
import type { Band, TargetRow, WeekView } from './week.ts';
import { dateTimeIn, dayIn, dayLabel, timeIn } from './zone-time.ts';

/**
 * The week as HTML: a row per target with an SVG track whose x axis is time. Positions are
 * percentages (SVG attributes, which the Content-Security-Policy does not touch, unlike style
 * attributes), so a 23-hour day is drawn 23/24 as wide as the others and every band, edge and
 * override sits at its true instant. Day lines and the now line are drawn once, over all rows.
 * Each band's title says its span and what set it; each row's label says its edges in words.
 */

/** Links keep the view's zone and filters; `link` builds one with changed parameters. */
export type QueryLink = (changes: Record<string, string | undefined>, hash?: string) => string;

const STATE_WORDS: Record<TargetState, string> = {
  running: 'running',
  paused: 'paused',
  stopped: 'stopped',
  ended: 'ended (DRS stop)',
};

export function renderWeek(week: WeekView, link: QueryLink): Html {
  const span = week.to - week.from;
  const zone = week.zone;
  // Every row meets the same few instants (08:00 each weekday...): each is worked out once.
  const instants = new Map<number, Instant>();
  const at = (t: number): Instant => {
    let found = instants.get(t);
    if (!found) {
      found = {
        x: raw(`${(((t - week.from) / span) * 100).toFixed(3)}%`),
        iso: iso(t),
        day: dayIn(zone, t),
        time: timeIn(zone, t),
      };
      instants.set(t, found);
    }
    return found;
  };
  const x = (t: number) => at(t).x;
  const w = (from: number, to: number) => raw(`${(((to - from) / span) * 100).toFixed(3)}%`);
  const dateTime = (t: number) => `${at(t).day} ${at(t).time}`;
  // A time within the day of `from` is said without its day again.
  const until = (from: number, to: number) =>
    at(to).day === at(from).day || at(to).time === '00:00' ? at(to).time : dateTime(to);
  const holidayDays = week.days.filter((d) => d.notes.some((n) => n.kind === 'holiday'));
  const notedDays = week.days.filter((d) => d.notes.length > 0);

  const band = (b: Band) =>
    html`<rect data-state="${b.state ?? 'none'}" data-from="${at(b.from).iso}" data-to="${at(b.to).iso}" x="${x(b.from)}" width="${w(b.from, b.to)}" y="4" height="20"><title>${b.state ? STATE_WORDS[b.state] : 'nothing held'} ${dateTime(b.from)}–${until(b.from, b.to)}${b.edge ? ` · ${b.edge.schedule}` : ' · no edge in the last 35 days'}</title></rect>`;

  const row = (r: TargetRow) => html`<div class="row" data-target="${r.target}">
<div class="label"><a href="${link({ target: r.target, hpage: undefined }, 'history')}" title="History of ${r.target}">${r.target}</a> <small>${r.kind}</small></div>
<svg class="track" role="img" aria-label="${r.target}: ${edgeWords(r, dateTime)}">${r.skips.map((s) =>
    s.to > s.from
      ? html`<rect class="skip" x="${x(s.from)}" width="${w(s.from, s.to)}" y="24" height="4"><title>${s.text}</title></rect>`
      : html`<rect class="holiday-mark" x="${x(s.from)}" width="0.25%" y="0" height="28"><title>${dateTimeIn(zone, s.from)} ${s.text}</title></rect>`,
  )}${r.bands.map(band)}${r.overrides.map(
    (o) =>
      html`<g class="ovr" data-override="${o.id}" data-state="${o.state}" data-from="${iso(o.from)}" data-to="${iso(o.to)}"><rect class="s-${o.state}" x="${x(o.from)}" width="${w(o.from, o.to)}" y="1" height="26"/><rect class="hatch" x="${x(o.from)}" width="${w(o.from, o.to)}" y="1" height="26"><title>${o.id}: ${o.state} from ${dateTimeIn(zone, Date.parse(o.starts))} until ${dateTimeIn(zone, Date.parse(o.until))}: ${o.reason}${o.createdBy ? ` (${o.createdBy})` : ''}</title></rect></g>`,
  )}${r.edges.map((e) => {
    const t = x(Date.parse(e.at));
    return html`<line class="edge" x1="${t}" x2="${t}" y1="0" y2="28"/>`;
  })}</svg>
</div>`;

  return html`<svg class="defs" aria-hidden="true" focusable="false"><defs><pattern id="hatch" patternUnits="userSpaceOnUse" width="7" height="7" patternTransform="rotate(45)"><rect width="3" height="7" fill="#ffffff" fill-opacity="0.6"/></pattern></defs></svg>
<nav class="week-nav" aria-label="Weeks">
<a href="${link({ week: week.previous })}#week" rel="prev">← Previous week</a>
<a href="${link({ week: undefined })}#week">This week</a>
<a href="${link({ week: week.next })}#week" rel="next">Next week →</a>
</nav>
${legend()}
<div class="week" data-from="${iso(week.from)}" data-to="${iso(week.to)}" data-zone="${zone}">
<div class="row head"><div class="label">${zone}</div><svg class="track days" aria-hidden="true">${holidayDays.map(
    (d) => html`<rect class="holiday-day" x="${x(d.from)}" width="${w(d.from, d.to)}" y="0" height="100%"/>`,
  )}${week.days.map((d) => {
    const middle = x(d.from + (d.to - d.from) / 2);
    return html`<g class="day" data-date="${d.date}" data-hours="${d.hours}" data-x="${x(d.from)}" data-width="${w(d.from, d.to)}"><text x="${middle}" y="13" text-anchor="middle">${dayLabel(d.date)}${d.notes.length > 0 ? ' ⚑' : ''}</text>${d.hours === 24 ? '' : html`<text class="hours" x="${middle}" y="26" text-anchor="middle">${d.hours} h day</text>`}</g>`;
  })}</svg></div>
<div class="rows">
${week.groups.map(
  (g) => html`<div class="group" role="group" aria-label="${g.name ?? 'Targets in no group'}">
<h3>${g.name ?? 'Not in a group'}</h3>
${g.rows.map(row)}
</div>`,
)}
<svg class="overlay" aria-hidden="true">${week.days.slice(1).map((d) => html`<line class="day-line" x1="${x(d.from)}" x2="${x(d.from)}" y1="0" y2="100%"/>`)}${
    week.now === undefined
      ? ''
      : html`<line class="now" data-at="${iso(week.now)}" x1="${x(week.now)}" x2="${x(week.now)}" y1="0" y2="100%"><title>now, ${dateTimeIn(zone, week.now)}</title></line>`
  }</svg>
</div>
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
          (d) => `${dayLabel(d.date)} has ${d.hours} hours in ${zone} (the clocks change); `,
        )}edges keep their local times in each schedule's own zone.</p>`
    : ''
}`;
}

function legend(): Html {
  const swatch = (state: string, text: string) =>
    html`<li><svg class="swatch track" aria-hidden="true"><rect data-state="${state}" x="0" y="0" width="100%" height="100%"/></svg>${text}</li>`;
  return html`<ul class="legend" aria-label="Legend">
${swatch('running', 'running')}${swatch('paused', 'paused')}${swatch('stopped', 'stopped')}${swatch('none', 'no desired state (nothing held)')}
<li><svg class="swatch ovr" aria-hidden="true"><rect class="s-running" x="0" y="0" width="100%" height="100%"/><rect class="hatch" x="0" y="0" width="100%" height="100%"/></svg>override (beats every schedule)</li>
<li><svg class="swatch" aria-hidden="true"><line class="edge" x1="50%" x2="50%" y1="0" y2="100%"/></svg>edge</li>
<li><svg class="swatch" aria-hidden="true"><rect class="holiday-day" x="0" y="0" width="100%" height="100%"/></svg>holiday ⚑, skip date</li>
<li><svg class="swatch" aria-hidden="true"><line class="now" x1="50%" x2="50%" y1="0" y2="100%"/></svg>now</li>
</ul>`;
}

/** A row in words, for screen readers: the state at the week's start, then each edge. */
function edgeWords(r: TargetRow, dateTime: (t: number) => string): string {
  const first = r.bands[0];
  if (!first) return 'no schedule';
  const start = first.state
    ? `${STATE_WORDS[first.state]} at the start of the week`
    : 'nothing held at first';
  const edges = r.edges.map((e) => `${e.state} from ${dateTime(Date.parse(e.at))}`);
  const overrides = r.overrides.map(
    (o) => `override ${o.id}: ${o.state} until ${dateTime(Date.parse(o.until))}`,
  );
  return [start, ...edges, ...overrides].join('; ');
}

interface Instant {
  x: Html;
  iso: string;
  day: string;
  time: string;
}

/** `2027-03-22T07:00Z`: minutes are the engine's grain. */
const iso = (ms: number) => `${new Date(ms).toISOString().slice(0, 16)}Z`;
