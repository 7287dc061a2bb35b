import { createHash } from 'node:crypto';
import {
  appendFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { heldOffByTarget } from '../../functions/engine/held-off.ts';
import type { ObservedMark } from '../../functions/engine/savings.ts';
import { DynamoLedger } from '../../functions/stores/dynamodb-ledger.ts';
import { FileLedger } from '../../functions/stores/local-ledger.ts';
import { summariesFromText, summaryText } from '../../functions/stores/observed-summaries.ts';
import { startDynalite } from '../helpers/dynalite.ts';

const HOUR = 3_600_000;
const at = (iso: string) => Date.parse(iso);
const mark = (target: string, iso: string, state: ObservedMark['state']): ObservedMark => ({
  target,
  at: at(iso),
  state,
});
const now = at('2027-04-10T12:00:00Z');
const dirs: string[] = [];
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

/** Two targets observed over March 2027 (over at `now`) and April so far. */
const OBSERVED = [
  mark('a', '2027-02-27T20:00:00Z', 'stopped'),
  mark('a', '2027-03-01T08:00:00Z', 'running'),
  mark('a', '2027-03-01T20:00:00Z', 'stopped'),
  mark('b', '2027-03-05T20:00:00Z', 'paused'),
  mark('a', '2027-03-31T08:00:00Z', 'running'),
  mark('b', '2027-04-02T08:00:00Z', 'running'),
];

/** A ledger holding `OBSERVED`. */
async function ledgerWithMarch() {
  const dir = mkdtempSync(join(tmpdir(), 'nightshift-summaries-'));
  dirs.push(dir);
  const ledger = new FileLedger(dir, () => now);
  await ledger.recordObservations(OBSERVED);
  const march = { from: at('2027-03-01T00:00:00Z'), to: at('2027-04-01T00:00:00Z') };
  const held = () => heldOffByTarget({ targets: ['a', 'b'], ...march }, ledger);
  const summary = join(dir, 'savings', 'observed-2027-03.summary');
  return { dir, ledger, held, summary };
}

// a: stopped until 03-01 08:00, then 03-01 20:00 to 03-31 08:00; b: paused from 03-05 20:00 on.
const MARCH = new Map([
  ['a', 8 * HOUR + (29 * 24 + 12) * HOUR],
  ['b', (26 * 24 + 4) * HOUR],
]);

describe('the local ledger keeps a summary of each month that is over', () => {
  it('writes it on the first report over the month, and answers the same from it', async () => {
    const { held, summary, dir, ledger } = await ledgerWithMarch();
    expect(existsSync(summary)).toBe(false);
    expect(await held()).toEqual(MARCH);
    expect(existsSync(summary)).toBe(true);
    expect(await held()).toEqual(MARCH);
    // April is not over: whoever asks for its summary gets one made from its log, never kept.
    expect(await ledger.observedMonthSummary('2027-04', new Set(['b']))).toEqual(
      new Map([
        [
          'b',
          {
            firstAt: at('2027-04-02T08:00:00Z'),
            lastAt: at('2027-04-02T08:00:00Z'),
            lastState: 'running',
            offMs: 0,
          },
        ],
      ]),
    );
    expect(existsSync(join(dir, 'savings', 'observed-2027-04.summary'))).toBe(false);
  });

  it('believes a current summary: the log is not read again', async () => {
    const { dir, held, summary } = await ledgerWithMarch();
    await held();
    const { size, mtimeMs } = statSync(join(dir, 'savings', 'observed-2027-03.log'));
    const first = at('2027-03-02T00:00:00Z');
    const planted = new Map([
      ['a', { firstAt: first, lastAt: first + HOUR, lastState: 'running' as const, offMs: HOUR }],
    ]);
    writeFileSync(summary, summaryText('2027-03', { size, mtimeMs }, planted));
    // a: stopped before March (February's log), so off until the first mark, then the hour kept.
    expect(await held()).toEqual(
      new Map([
        ['a', 25 * HOUR],
        ['b', 0],
      ]),
    );
  });

  it('counts an observation landing late in a month already summarised', async () => {
    const { ledger, held, summary } = await ledgerWithMarch();
    expect(await held()).toEqual(MARCH);
    const kept = readFileSync(summary, 'utf8');
    // A tick of March 31 recorded only now: b was seen running at 12:00.
    await ledger.recordObservations([mark('b', '2027-03-31T12:00:00Z', 'running')]);
    expect((await held()).get('b')).toBe(MARCH.get('b')! - 12 * HOUR);
    expect(readFileSync(summary, 'utf8')).not.toBe(kept);
    expect((await held()).get('b')).toBe(MARCH.get('b')! - 12 * HOUR);
  });

  it.each([
    ['torn by a crash mid-write', (text: string) => text.slice(0, Math.floor(text.length / 2))],
    ['empty', () => ''],
    ['not a summary at all', () => 'hello\n'],
    // A digit changed on disk: still JSON, still the right shape, but not what was written.
    [
      'with a figure changed',
      (text: string) =>
        text.replace(/("a":\[\d+,\d+,"\w+",\d*)(\d)\]/, (_, head, d) => `${head}${(Number(d) + 1) % 10}]`),
    ],
    ['of another month', (text: string) => text.replaceAll('2027-03', '2027-02')],
  ])('makes it again from the log when the kept one is %s', async (_, damage) => {
    const { held, summary } = await ledgerWithMarch();
    await held();
    const good = readFileSync(summary, 'utf8');
    const damaged = damage(good);
    expect(damaged).not.toBe(good);
    writeFileSync(summary, damaged);
    expect(await held()).toEqual(MARCH);
    // And keeps a good one again.
    expect(readFileSync(summary, 'utf8')).toBe(good);
  });

  it('still answers when no summary can be kept', async () => {
    const { held, summary } = await ledgerWithMarch();
    mkdirSync(summary); // a folder where the file would go: neither read nor written
    expect(await held()).toEqual(MARCH);
    expect(await held()).toEqual(MARCH);
  });

  it('answers a report over whole months as over every mark, from both', async () => {
    const { ledger } = await ledgerWithMarch();
    const range = { targets: ['a', 'b'], from: at('2027-03-01T00:00:00Z'), to: at('2027-04-05T00:00:00Z') };
    const first = await heldOffByTarget(range, ledger);
    const again = await heldOffByTarget(range, ledger); // March from its summary now
    expect(again).toEqual(first);
    expect(first.get('b')).toBe(MARCH.get('b')! + 32 * HOUR);
  });
});

describe('a summary file', () => {
  const log = { size: 120, mtimeMs: 1_790_000_000_123.456 };
  const summaries = new Map([
    [
      'a',
      {
        firstAt: at('2027-03-01T08:00:00Z'),
        lastAt: at('2027-03-31T08:00:00Z'),
        lastState: 'running' as const,
        offMs: HOUR,
      },
    ],
  ]);
  const text = summaryText('2027-03', log, summaries);

  it('reads back what was written, for the log it was made from only', () => {
    expect(summariesFromText(text, '2027-03', log)).toEqual(summaries);
    expect(summariesFromText(text, '2027-03', { ...log, size: 121 })).toBeUndefined();
    expect(summariesFromText(text, '2027-03', { ...log, mtimeMs: log.mtimeMs + 1 })).toBeUndefined();
    expect(summariesFromText(text, '2027-04', log)).toBeUndefined();
  });

  it('is not believed when it does not make sense, even with a checksum that holds', () => {
    const forged = (targets: unknown) => {
      const good = summaryText('2027-03', log, new Map());
      return good.replace('"targets":{}', `"targets":${JSON.stringify(targets)}`);
    };
    // The checksum no longer matches the body: refused before anything else.
    expect(summariesFromText(forged({ a: [1, 2, 'running', 0] }), '2027-03', log)).toBeUndefined();
    const signed = (targets: unknown) =>
      summaryText('2027-03', log, new Map()).replace(/^.*\n(.*)"targets":\{\}(.*)$/s, (_, head, tail) => {
        const body = `${head}"targets":${JSON.stringify(targets)}${tail}`;
        return `${createHash('sha256').update(body).digest('hex')}\n${body}`;
      });
    const march = at('2027-03-10T00:00:00Z');
    expect(summariesFromText(signed({ a: [march, march + HOUR, 'running', 0] }), '2027-03', log)).toEqual(
      new Map([['a', { firstAt: march, lastAt: march + HOUR, lastState: 'running', offMs: 0 }]]),
    );
    for (const bad of [
      [march, march + HOUR, 'asleep', 0], // no such state
      [march, march + HOUR, 'running', 2 * HOUR], // more off than the time between
      [march + HOUR, march, 'running', 0], // last before first
      [at('2027-04-01T00:00:00Z'), at('2027-04-01T00:00:00Z'), 'running', 0], // outside the month
      [march, march + HOUR, 'running'],
      [march, 'soon', 'running', 0],
    ])
      expect(summariesFromText(signed({ a: bad }), '2027-03', log)).toBeUndefined();
  });
});

describe('lines of a summarised month out of time order (two processes appending at once)', () => {
  it('are summarised as the report read mark by mark counts them', async () => {
    const { ledger, held } = await ledgerWithMarch();
    await ledger.recordObservations([mark('a', '2027-03-15T08:00:00Z', 'running')]);
    await ledger.recordObservations([mark('a', '2027-03-10T08:00:00Z', 'failed')]);
    // a: off from 03-01 20:00 to 03-10 08:00, running from 03-15 08:00: 8 h + 8.5 days.
    const expected = new Map([...MARCH, ['a', 8 * HOUR + 204 * HOUR]]);
    expect(await held()).toEqual(expected);
    expect(await held()).toEqual(expected);
  });
});

describe('a torn line in a summarised month', () => {
  it('is left out from the summary as from the report read mark by mark', async () => {
    const { dir, held } = await ledgerWithMarch();
    appendFileSync(join(dir, 'savings', 'observed-2027-03.log'), '\n2027-03-20T08:00:00.000Z runn');
    expect(await held()).toEqual(MARCH);
  });
});

describe('a month log saved with CRLF line ends (opened and saved in an editor on Windows)', () => {
  it('still counts every line, summarised or read mark by mark', async () => {
    const { dir, held, ledger } = await ledgerWithMarch();
    for (const month of ['2027-02', '2027-03', '2027-04']) {
      const log = join(dir, 'savings', `observed-${month}.log`);
      writeFileSync(log, readFileSync(log, 'utf8').replaceAll('\n', '\r\n'));
    }
    expect(await held()).toEqual(MARCH);
    // A range cut inside the months: read mark by mark.
    const cut = { from: at('2027-03-01T06:00:00Z'), to: at('2027-04-02T09:00:00Z') };
    expect(await heldOffByTarget({ targets: ['a', 'b'], ...cut }, ledger)).toEqual(
      new Map([
        ['a', 2 * HOUR + (29 * 24 + 12) * HOUR],
        ['b', (27 * 24 + 12) * HOUR],
      ]),
    );
  });
});

describe('both ledgers', () => {
  it('give the same summaries and hours, kept or made on each read', async () => {
    const dynamo = await startDynalite();
    try {
      await dynamo.createTable('summaries');
      const table = new DynamoLedger(dynamo.client, { tableName: 'summaries', now: () => now });
      const { ledger: file } = await ledgerWithMarch();
      await table.recordObservations(OBSERVED);
      const wanted = new Set(['a', 'b']);
      expect(await table.observedMonthSummary('2027-03', wanted)).toEqual(
        await file.observedMonthSummary('2027-03', wanted),
      );
      const range = { targets: ['a', 'b'], from: at('2027-02-15T00:00:00Z'), to: at('2027-04-05T00:00:00Z') };
      for (let i = 0; i < 2; i++)
        expect(await heldOffByTarget(range, table)).toEqual(await heldOffByTarget(range, file));
    } finally {
      await dynamo.stop();
    }
  });
});
