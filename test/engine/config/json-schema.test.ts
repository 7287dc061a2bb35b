import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { configJsonSchemaText } from '../../../functions/engine/config/json-schema.ts';

describe('config/schedule.schema.json', () => {
  it('is up to date with the zod schema (run `npm run schema` after changing it)', () => {
    expect(readFileSync('config/schedule.schema.json', 'utf8')).toBe(configJsonSchemaText());
  });

  it('knows calendars, calendar on a schedule and the workdays day word', async () => {
    // Prepare
    const { default: Ajv } = await import('ajv/dist/2020.js');
    const schema = JSON.parse(readFileSync('config/schedule.schema.json', 'utf8'));
    const validate = new Ajv({ strict: false }).compile(schema);
    const example = JSON.parse(readFileSync('config/schedule.json', 'utf8'));
    const withCalendar = {
      ...example,
      calendars: { cn: { country: 'CN', extraHolidays: ['2027-02-15'], extraWorkdays: [] } },
      schedules: [{ ...example.schedules[0], window: 'workdays 09:00-19:00', calendar: 'cn' }],
    };
    // Act / Assess
    expect(validate(withCalendar)).toBe(true);
    expect(validate({ ...withCalendar, calendars: { cn: { country: 'China' } } })).toBe(false);
    expect(validate({ ...withCalendar, calendars: { cn: { country: 'CN', holidays: [] } } })).toBe(false);
    const calendar = schema.properties.calendars.additionalProperties;
    expect(Object.keys(calendar.properties)).toEqual([
      'country',
      'state',
      'extraHolidays',
      'extraWorkdays',
      'resolved',
    ]);
    expect(schema.properties.schedules.items.properties.calendar.description).toMatch(/workdays/);
    expect(schema.properties.schedules.items.properties.window.description).toMatch(/workdays 09:00-19:00/);
  });

  it('is referenced by the example config for editor support', () => {
    const example = JSON.parse(readFileSync('config/schedule.json', 'utf8'));
    expect(example.$schema).toBe('./schedule.schema.json');
  });
});

describe('the draft-04 schema for AppConfig', () => {
  it('accepts the example config and refuses a structurally broken one', async () => {
    // Prepare
    const { default: Ajv } = await import('ajv-draft-04');
    const { configJsonSchemaDraft4Text } = await import('../../../functions/engine/config/json-schema.ts');
    const validate = new Ajv({ strict: false }).compile(JSON.parse(configJsonSchemaDraft4Text()));
    const example = JSON.parse(readFileSync('config/schedule.json', 'utf8'));
    // Act / Assess
    expect(validate(example)).toBe(true);
    expect(validate({ ...example, version: 2 })).toBe(false);
    expect(validate({ ...example, accounts: { prod: { region: 'cn-north-4' } } })).toBe(false);
    expect(validate({ ...example, extra: true })).toBe(false);
  });
});
