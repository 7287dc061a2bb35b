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
    expect(table.stdout).toMatch(/2 action\(s\), 2 skipped by a calendar/);
    expect(table.stdout).toMatch(/office-cn +start +face-search +nothing: skipped, holiday 国庆节 \(cn\)/);
  });

  it('an unknown country fails validate with its JSON path', async () => {
    const bad = writeConfig(rawConfig([office('xx', 'UTC')], { calendars: { xx: { country: 'XX' } } }));
    const run = await runCli(['validate', '--config', bad]);
    expect(run.code).toBe(1);
    expect(run.stdout).toMatch(/calendars\.xx\.country: unknown country "XX"/);
  });
});
