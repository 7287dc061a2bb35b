import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { configJsonSchemaText } from '../../../functions/engine/config/json-schema.ts';

describe('config/schedule.schema.json', () => {
  it('is up to date with the zod schema (run `npm run schema` after changing it)', () => {
    expect(readFileSync('config/schedule.schema.json', 'utf8')).toBe(configJsonSchemaText());
  });

  it('is referenced by the example config for editor support', () => {
    const example = JSON.parse(readFileSync('config/schedule.json', 'utf8'));
    expect(example.$schema).toBe('./schedule.schema.json');
  });
});
