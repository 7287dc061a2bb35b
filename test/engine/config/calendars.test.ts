import { describe, expect, it } from 'vitest';
import { checkCalendarsCarryData } from '../../../functions/engine/calendar/holidays.ts';
import { parseConfigText } from '../../../functions/engine/config/parse-text.ts';
import { deployableText } from '../../../functions/engine/config/resolve-calendars.ts';
import { validateConfig } from '../../../functions/engine/config/validate.ts';
import { parseLocalConfigText } from '../../../functions/stores/local-config.ts';
import { rawConfig } from '../../helpers/config.ts';

const issuesOf = (document: unknown) => {
  const result = validateConfig(document);
  return result.ok ? [] : result.issues;
};

/** The problems as the CLI reports them, without their line and column (tested elsewhere). */
const localIssuesOf = (document: unknown) => {
  try {
    parseLocalConfigText(JSON.stringify(document), 'test');
    return [];
  } catch (error) {
    return (error as { issues: { path: string; message: string }[] }).issues.map(({ path, message }) => ({
      path,
      message,
    }));
  }
};

describe('calendar validation', () => {
  it('accepts calendars, a calendar on a schedule and workdays in windows and cron', () => {
    const document = rawConfig(
      [
        { id: 'a', targets: ['face-search'], calendar: 'cn', window: 'workdays 09:00-19:00' },
        {
          id: 'b',
          targets: ['load-test'],
          calendar: 'by',
          actions: [{ do: 'start', cron: '0 9 * * workdays' }],
        },
      ],
      {
        calendars: {
          cn: { country: 'CN', extraHolidays: ['2027-02-15'], extraWorkdays: [] },
          by: { country: 'DE', state: 'BY', extraHolidays: ['12-24'] },
        },
      },
    );
    expect(issuesOf(document)).toEqual([]);
    expect(localIssuesOf(document)).toEqual([]);
  });

  it('reports every calendar problem at once, each with its JSON path', () => {
    // Prepare
    const document = rawConfig(
      [
        { id: 'a', targets: ['face-search'], calendar: 'cm', window: 'Mon-Fri 09:00-19:00' },
        { id: 'b', targets: ['face-search'], window: 'workdays 09:00-19:00' },
        { id: 'c', targets: ['face-search'], actions: [{ do: 'start', cron: '0 9 * * workdays' }] },
      ],
      {
        calendars: {
          cn: {
            country: 'CN',
            extraHolidays: ['2027-02-15', '10-08'],
            extraWorkdays: ['2027-02-15', '2027-10-08'],
          },
          xx: { country: 'XX' },
          by: { country: 'DE', state: 'ZZ' },
          low: { country: 'de', holidays: [] },
          bad: { country: 'US', extraHolidays: ['2027-02-30'] },
        },
      },
    );
    // Act
    const issues = localIssuesOf(document);
    // Assess
    expect(issues).toEqual([
      // in document order: rawConfig lists schedules before calendars
      { path: 'schedules[0].calendar', message: 'unknown calendar "cm" (did you mean "cn"?)' },
      { path: 'schedules[1].window', message: expect.stringMatching(/^"workdays" needs a calendar/) },
      {
        path: 'schedules[2].actions[0].cron',
        message: expect.stringMatching(/^"workdays" needs a calendar/),
      },
      {
        path: 'calendars.cn.extraWorkdays[0]',
        message:
          '"2027-02-15" is also in extraHolidays ("2027-02-15"); a day is either a holiday or a working day',
      },
      {
        path: 'calendars.cn.extraWorkdays[1]',
        message:
          '"2027-10-08" is also in extraHolidays ("10-08"); a day is either a holiday or a working day',
      },
      { path: 'calendars.xx.country', message: expect.stringMatching(/^unknown country "XX"/) },
      { path: 'calendars.by.state', message: expect.stringMatching(/^unknown state "ZZ" of DE/) },
      { path: 'calendars.low.country', message: expect.stringMatching(/ISO 3166-1 alpha-2/) },
      { path: 'calendars.low.holidays', message: 'unknown field "holidays"' },
      { path: 'calendars.bad.extraHolidays[0]', message: '"2027-02-30" is not a calendar date' },
    ]);
  });

  it('rejects workdays mixed into a day list', () => {
    const issues = issuesOf(
      rawConfig([{ id: 'a', targets: ['face-search'], calendar: 'cn', window: 'workdays,Sat 09:00-19:00' }], {
        calendars: { cn: { country: 'CN' } },
      }),
    );
    expect(issues).toEqual([
      { path: 'schedules[0].window', message: expect.stringMatching(/"workdays" alone/) },
    ]);
  });
});

describe('the deployed document', () => {
  const text = `${JSON.stringify(
    rawConfig([{ id: 'a', targets: ['face-search'], calendar: 'cn', window: 'workdays 09:00-19:00' }], {
      calendars: { cn: { country: 'CN' } },
    }),
    null,
    2,
  )}\n`;

  it('carries each calendar resolved; the runtime refuses one without its dates', () => {
    // Prepare
    const deployed = deployableText(text, parseLocalConfigText(text, 'test'), {
      now: new Date('2026-06-01T00:00:00Z'),
    });
    // Act
    const config = parseConfigText(deployed, 'AppConfig', { extraChecks: checkCalendarsCarryData });
    // Assess
    expect(config.calendars?.cn?.resolved).toMatchObject({
      source: expect.stringMatching(/^chinese-days /),
      from: '2025-01-01',
      workdays: expect.objectContaining({ '2026-02-14': '春节', '2026-02-28': '春节' }),
    });
    expect(config.calendars?.cn?.resolved?.holidays['2026-10-01']).toBe('国庆节');
    expect(() => parseConfigText(text, 'AppConfig', { extraChecks: checkCalendarsCarryData })).toThrow(
      /calendars\.cn: carries no resolved holiday dates; deploy the config with "cdk deploy" or "nightshift config push"/,
    );
  });

  it("passes AppConfig's draft-04 JSON Schema check", async () => {
    const { default: Ajv } = await import('ajv-draft-04');
    const { configJsonSchemaDraft4Text } = await import('../../../functions/engine/config/json-schema.ts');
    const validate = new Ajv({ strict: false }).compile(JSON.parse(configJsonSchemaDraft4Text()));
    const deployed = deployableText(text, parseLocalConfigText(text, 'test'));
    expect(validate(JSON.parse(deployed))).toBe(true);
  });

  it('a document without calendars is deployed byte for byte', () => {
    const plain = JSON.stringify(
      rawConfig([{ id: 'a', targets: ['face-search'], window: 'Mon 08:00-09:00' }]),
    );
    expect(deployableText(plain, parseLocalConfigText(plain, 'test'))).toBe(plain);
  });

  it('is small: a few kilobytes for a calendar over four years', () => {
    const deployed = deployableText(text, parseLocalConfigText(text, 'test'), {
      now: new Date('2026-06-01T00:00:00Z'),
    });
    expect(deployed.length - text.length).toBeLessThan(8_000);
  });
});
