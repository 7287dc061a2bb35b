import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  heldOffByTarget,
  MonthSummarizer,
  type MonthSummary,
  type ObservedMonths,
  summarizeMonth,
} from '../../functions/engine/held-off.ts';
import {
  heldOffMs,
  monthOf,
  OBSERVED_STATES,
  type ObservedMark,
  readObservations,
} from '../../functions/engine/savings.ts';

const at = (iso: string) => Date.parse(iso);
const HOUR = 3_600_000;

/** Marks kept in memory as a ledger keeps them: by month, in the order written. */
function months(marks: readonly ObservedMark[]): ObservedMonths & { summaries: string[] } {
  const summaries: string[] = [];
  const observedMonth = async (month: string, targets: ReadonlySet<string>) =>
    marks.filter((m) => monthOf(m.at) === month && targets.has(m.target));
  return {
    summaries,
    observedMonth,
    async observedMonthSummary(
      month: string,
      targets: ReadonlySet<string>,
    ): Promise<Map<string, MonthSummary>> {
      summaries.push(month);
      return summarizeMonth(month, await observedMonth(month, targets));
    },
  };
}

/** What the figures were before months were summarised: `heldOffMs` over every mark read. */
async function markByMark(marks: readonly ObservedMark[], targets: string[], from: number, to: number) {
  const source = months(marks);
  const read = await readObservations({ targets, from, to }, (m, w) => source.observedMonth(m, w));
  return new Map(
    targets.map((t) => [
      t,
      heldOffMs(
        read.filter((m) => m.target === t),
        from,
        to,
      ),
    ]),
  );
}

describe('a month summarised', () => {
  it('keeps the first and last marks and the off time between, the last of one instant deciding', () => {
    const mark = (target: string, iso: string, state: ObservedMark['state']): ObservedMark => ({
      target,
      at: at(iso),
      state,
    });
    const summaries = summarizeMonth('2027-03', [
      mark('a', '2027-03-10T20:00:00Z', 'stopped'),
      mark('a', '2027-03-02T20:00:00Z', 'paused'), // written late: an earlier instant
      mark('a', '2027-03-11T08:00:00Z', 'running'),
      mark('a', '2027-03-11T08:00:00Z', 'stopped'), // the same instant, written after: decides
      mark('b', '2027-03-31T23:59:59.999Z', 'failed'),
      mark('c', '2027-04-01T00:00:00Z', 'stopped'), // not of this month: a line in the wrong file
    ]);
    expect(summaries).toEqual(
      new Map([
        [
          'a',
          {
            firstAt: at('2027-03-02T20:00:00Z'),
            lastAt: at('2027-03-11T08:00:00Z'),
            lastState: 'stopped',
            // Paused from the 2nd 20:00 on, stopped from the 10th: off throughout, 8.5 days.
            offMs: 204 * HOUR,
          },
        ],
        [
          'b',
          {
            firstAt: at('2027-03-31T23:59:59.999Z'),
            lastAt: at('2027-03-31T23:59:59.999Z'),
            lastState: 'failed',
            offMs: 0,
          },
        ],
      ]),
    );
  });
});

describe('a month summarised as its marks are read', () => {
  it('equals the month summarised from all its marks, in any order written', () => {
    const start = at('2027-03-01T00:00:00Z');
    const markArb = fc.record({
      target: fc.constantFrom('a', 'b', 'c'),
      // A few instants outside the month too (a line in the wrong file), and many shared ones.
      at: fc.integer({ min: -5, max: 100 }).map((i) => start + i * 8 * HOUR),
      state: fc.constantFrom(...OBSERVED_STATES),
    });
    fc.assert(
      fc.property(fc.array(markArb, { maxLength: 60 }), (marks) => {
        const summarizer = new MonthSummarizer('2027-03');
        for (const m of marks) summarizer.add(m.target, m.at, m.state);
        const streamed = summarizer.finish((targets) => marks.filter((m) => targets.has(m.target)));
        expect(streamed).toEqual(summarizeMonth('2027-03', marks));
      }),
      { numRuns: 500 },
    );
  });
});

describe('hours held off, a month at a time', () => {
  it('reads the months a range covers whole as summaries, and its ends and the months before as needed', async () => {
    const marks: ObservedMark[] = [
      { target: 'a', at: at('2026-11-20T20:00:00Z'), state: 'paused' }, // the state at the start
      { target: 'a', at: at('2027-01-15T08:00:00Z'), state: 'running' },
      { target: 'a', at: at('2027-02-10T20:00:00Z'), state: 'stopped' },
      { target: 'a', at: at('2027-03-01T08:00:00Z'), state: 'running' },
    ];
    const source = months(marks);
    const held = await heldOffByTarget(
      { targets: ['a'], from: at('2026-12-15T00:00:00Z'), to: at('2027-03-15T00:00:00Z') },
      source,
    );
    // Paused from before the range until 2027-01-15 08:00, stopped from 2027-02-10 20:00 to 03-01 08:00.
    expect(held.get('a')).toBe(at('2027-01-15T08:00:00Z') - at('2026-12-15T00:00:00Z') + 18.5 * 24 * HOUR);
    // January and February whole; December and March read mark by mark; then back to November.
    expect(source.summaries).toEqual(['2027-01', '2027-02', '2026-11']);
  });

  it('gives the figures of every mark read one by one, for any marks and range', async () => {
    const start = at('2026-10-01T00:00:00Z');
    const span = at('2027-04-01T00:00:00Z') - start;
    const markArb = fc.record({
      target: fc.constantFrom('a', 'b', 'c'),
      // Coarse instants, so that several marks share one.
      at: fc.integer({ min: 0, max: 300 }).map((i) => start + Math.floor((i * span) / 300)),
      state: fc.constantFrom(...OBSERVED_STATES),
    });
    const instant = fc.oneof(
      fc.integer({ min: start - 40 * 24 * HOUR, max: start + span + 40 * 24 * HOUR }),
      // Month starts: ranges that cover months whole.
      fc.constantFrom(
        ...['2026-10', '2026-11', '2027-01', '2027-03', '2027-05'].map((m) => at(`${m}-01T00:00:00Z`)),
      ),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(markArb, { maxLength: 80 }), instant, instant, async (marks, x, y) => {
        const [from, to] = x <= y ? [x, y] : [y, x];
        const targets = ['a', 'b', 'c', 'never-seen'];
        const expected = await markByMark(marks, targets, from, to);
        expect(await heldOffByTarget({ targets, from, to }, months(marks))).toEqual(expected);
      }),
      { numRuns: 300 },
    );
  });
});
