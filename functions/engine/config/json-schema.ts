import * as z from 'zod';
import { configSchema } from './schema.ts';

/** The JSON Schema of the config for editors; generated from the zod schema, never by hand. */
export function configJsonSchema(): Record<string, unknown> {
  const schema = z.toJSONSchema(configSchema, { io: 'input', unrepresentable: 'any' }) as Record<
    string,
    unknown
  >;
  return {
    ...schema,
    $id: 'https://nightshift.dev/schedule.schema.json',
    title: 'Nightshift schedule config',
  };
}

export function configJsonSchemaText(): string {
  return `${JSON.stringify(configJsonSchema(), null, 2)}\n`;
}

/**
 * The same schema in JSON Schema draft 4, the dialect AppConfig's JSON Schema validator speaks:
 * a structural first check before the validator Lambda runs the full validation.
 */
export function configJsonSchemaDraft4Text(): string {
  return JSON.stringify(
    z.toJSONSchema(configSchema, { io: 'input', unrepresentable: 'any', target: 'draft-04' }),
  );
}
