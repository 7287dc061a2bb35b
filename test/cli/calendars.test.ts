import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.ts';
import { rawConfig } from '../helpers/config.ts';

function writeConfig(content: unknown): string {
  const file = join(mkdtempSync(join(tmpdir(), 'nightshift-cal-')), 'schedule.json');
  writeFileSync(file, JSON.stringify(content));
  return file;
}

const office = (calendar: string, timezone: string) => ({
  id: `office-${calendar}`,
  targets: ['face-search'],
  timezone,
  window: 'workdays 09:00-19:00',
  calendar,
});

const file = writeConfig(
  rawConfig([office('cn', 'Asia/Shanghai'), office('by', 'Europe/Berlin')], {
    calendars: { cn: { country: 'CN' }, by: { country: 'DE', state: 'BY' } },
  }),
);

/** The last day of the CN data in the installed chinese-days, as `validate --json` would say. */
const cnUntil = async (): Promise<string> => {
  const { resolveCalendarData } = await import('../../functions/engine/calendar/holiday-sources.ts');
  return resolveCalendarData({ country: 'CN' }, 2025, 2100).until;
};

describe('calendars in the CLI', () => {
  it('validate warns (exit 0) when a calendar has no data for part of the next 60 days', async () => {
    // Prepare: 30 days before the CN data ends; DE data never ends
    const until = await cnUntil();
    const now = () => new Date(Date.parse(`${until}T00:00:00Z`) - 30 * 86_400_000);
    // Act
    const text = await runCli(['validate', '--config', file], { now });
    const json = await runCli(['validate', '--config', file, '--json'], { now });
    // Assess
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(
      new RegExp(
        `1 warning:\\n {2}calendars\\.cn: holiday data ends on ${until} \\(chinese-days [\\d.]+\\), within 60 days`,
      ),
    );
    expect(text.stdout).not.toMatch(/calendars\.by/);
    expect((await runCli(['validate', '--config', file, '--strict'], { now })).code).toBe(1);
    expect(json.code).toBe(0);
    expect(JSON.parse(json.stdout)).toEqual({
      ok: true,
      issues: [],
      warnings: [{ path: 'calendars.cn', message: expect.stringMatching(/^holiday data ends on /) }],
    });
  });

  it('validate is quiet with more than 60 days of data', async () => {
    const run = await runCli(['validate', '--config', file, '--json'], {
      now: () => new Date('2026-01-15T00:00:00Z'),
    });
    expect(JSON.parse(run.stdout)).toEqual({ ok: true, issues: [], warnings: [] });
  });

  it('plan warns on stderr, keeping stdout one JSON document', async () => {
    const until = await cnUntil();
    const now = () => new Date(Date.parse(`${until}T00:00:00Z`) - 10 * 86_400_000);
    const run = await runCli(['plan', '--config', file, '--json'], { now });
    expect(run.code).toBe(0);
    expect(Array.isArray(JSON.parse(run.stdout))).toBe(true);
    expect(run.stderr).toMatch(/^warning: calendars\.cn: holiday data ends on /m);
  });

  it('plan --json leaves out what a calendar skipped; --explain lists it and why', async () => {
    // Prepare: Thursday 2026-10-01, National Day in China, a working day in Bavaria
    const args = ['plan', '--config', file, '--from', '2026-09-30T16:00:00Z', '--to', '2026-10-01T16:00:00Z'];
    const now = () => new Date('2026-09-01T00:00:00Z');
    // Act
    const plain = JSON.parse((await runCli([...args, '--json'], { now })).stdout);
    const explained = JSON.parse((await runCli([...args, '--json', '--explain'], { now })).stdout);
    const table = await runCli([...args, '--explain'], { now });
    // Assess
    const closeBy = {
      at: '2026-09-30T17:00:00Z',
      schedule: 'office-by',
      action: 'stop',
      targets: ['face-search'],
    };
    const openBy = {
      at: '2026-10-01T07:00:00Z',
      schedule: 'office-by',
      action: 'start',
      targets: ['face-search'],
    };
    expect(plain).toEqual([closeBy, openBy]);
    expect(explained).toEqual([
      { ...closeBy, desired: { 'face-search': 'stopped' } },
      {
        at: '2026-10-01T01:00:00Z',
        schedule: 'office-cn',
        action: 'start',
        targets: ['face-search'],
        skipped: 'holiday 国庆节 (cn)',
      },
      { ...openBy, desired: { 'face-search': 'running' } },
      {
        at: '2026-10-01T11:00:00Z',
        schedule: 'office-cn',
        action: 'stop',
        targets: ['face-search'],
        skipped: 'holiday 国庆节 (cn)',
      },
    ]);
    expect(table.stdout).toMatch(/2 action\(s\), 2 skipped \(skip dates, holidays\)/);
    expect(table.stdout).toMatch(/office-cn +start +face-search +nothing: skipped, holiday 国庆节 \(cn\)/);
  });

  it('an unknown country fails validate with its JSON path', async () => {
    const bad = writeConfig(rawConfig([office('xx', 'UTC')], { calendars: { xx: { country: 'XX' } } }));
    const run = await runCli(['validate', '--config', bad]);
    expect(run.code).toBe(1);
    expect(run.stdout).toMatch(/calendars\.xx\.country: unknown country "XX"/);
  });
});

/**
 * Finding 6 (issue 20): the CN data ends with the last published year, and the warning said
 * "Update chinese-days" when no newer release existed; a plan over next year's Spring Festival
 * showed every weekday running without a word.
 */
describe('when the CN holiday data ends', () => {
  const cnOnly = (extra: Record<string, unknown> = {}) =>
    writeConfig(
      rawConfig([office('cn', 'Asia/Shanghai')], { calendars: { cn: { country: 'CN', ...extra } } }),
    );

  it('the warning says exactly what to add, with an example from the last published year', async () => {
    const until = await cnUntil();
    const year = Number(until.slice(0, 4));
    const now = () => new Date(Date.parse(`${until}T00:00:00Z`) - 30 * 86_400_000);
    const run = await runCli(['validate', '--config', cnOnly(), '--json'], { now });
    const [warning] = JSON.parse(run.stdout).warnings as { path: string; message: string }[];
    expect(warning!.message).toContain(
      `Add the dates of the official ${year + 1} holiday notice to calendars.cn: the days off to "extraHolidays", the make-up working days to "extraWorkdays" (as the ${year} notice gave`,
    );
    expect(warning!.message).toMatch(
      /"extraHolidays": \["\d{4}-\d{2}-\d{2}", .*\], "extraWorkdays": \["\d{4}-/,
    );
    expect(warning!.message).toContain(`once extraHolidays names ${year + 1} dates this warning stops`);
    expect(warning!.message).toContain(`nightshift calendar show cn --year ${year + 1}`);
  });

  it('plan warns when its window goes past the data, however far ahead that is', async () => {
    const until = await cnUntil();
    const next = Number(until.slice(0, 4)) + 1;
    // Half a year before the data ends: nothing within 60 days, but the plan looks past it.
    const now = () => new Date(Date.parse(`${until}T00:00:00Z`) - 180 * 86_400_000);
    const args = [
      'plan',
      '--config',
      cnOnly(),
      '--json',
      '--from',
      `${next}-02-01T00:00:00Z`,
      '--to',
      `${next}-02-20T00:00:00Z`,
    ];
    const run = await runCli(args, { now });
    expect(run.code).toBe(0);
    expect(run.stderr).toMatch(
      new RegExp(
        `^warning: calendars\\.cn: holiday data ends on ${until} \\(chinese-days [\\d.]+\\), before the end of the plan \\(${next}-02-20\\)`,
        'm',
      ),
    );
    const quiet = await runCli(['plan', '--config', cnOnly(), '--json'], { now });
    expect(quiet.stderr).toBe('');
  });

  it('stops warning once extraHolidays names dates of the next year, and calendar show lists them', async () => {
    const until = await cnUntil();
    const next = Number(until.slice(0, 4)) + 1;
    const now = () => new Date(Date.parse(`${until}T00:00:00Z`) - 30 * 86_400_000);
    const bridged = cnOnly({
      extraHolidays: [`${next}-02-08`, `${next}-02-09`],
      extraWorkdays: [`${next}-02-06`],
    });
    const validate = await runCli(['validate', '--config', bridged, '--json'], { now });
    expect(JSON.parse(validate.stdout).warnings).toEqual([]);
    const show = await runCli(['calendar', 'show', 'cn', '--year', String(next), '--config', bridged], {
      now,
    });
    expect(show.code).toBe(0);
    expect(show.stdout).toMatch(new RegExp(`^${next}: chinese-days [\\d.]+ has no data for ${next}\\.`, 'm'));
    expect(show.stdout).toMatch(new RegExp(`^${next}-02-08 +Mon +extraHolidays$`, 'm'));
    expect(show.stdout).toMatch(new RegExp(`^${next}-02-06 +Sat +extraWorkdays$`, 'm'));
    expect(show.stdout).toMatch(/known until \d{4}-12-31 with the config's extra dates/);
  });

  it('calendar show lists the official days off and make-up working days of a published year', async () => {
    const run = await runCli(['calendar', 'show', 'cn', '--year', '2026', '--config', cnOnly(), '--json']);
    const shown = JSON.parse(run.stdout);
    expect(shown).toMatchObject({ calendar: 'cn', country: 'CN', year: 2026, covered: true });
    expect(shown.daysOff).toContainEqual({
      date: '2026-10-01',
      name: '国庆节',
      from: expect.stringMatching(/^chinese-days /),
    });
    expect(shown.workdays).toContainEqual({
      date: '2026-10-10',
      why: '国庆节',
      from: expect.stringMatching(/^chinese-days /),
    });
    const unknown = await runCli(['calendar', 'show', 'cm', '--config', cnOnly()]);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/unknown calendar "cm" \(did you mean "cn"\?\)/);
  });
});
