import { mkdirSync, mkdtempSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { build } from 'esbuild';
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  BUNDLE_TARGET,
  EXTERNAL_MODULES,
  HANDLERS,
  handlerEntry,
  LAMBDA_BUILD_OPTIONS,
  MAIN_FIELDS,
} from '../../functions/handlers/bundle-options.ts';
import { httpApiEvent } from '../helpers/events.ts';

async function bundle(
  name: 'api' | 'validate-config',
): Promise<{ handler: (event: unknown) => Promise<unknown> }> {
  const dir = join(process.cwd(), 'node_modules', '.cache');
  mkdirSync(dir, { recursive: true });
  const outfile = join(mkdtempSync(join(dir, 'nightshift-test-bundle-')), `${name}.mjs`);
  await build({
    entryPoints: [handlerEntry(name)],
    outfile,
    ...LAMBDA_BUILD_OPTIONS,
  });
  return import(pathToFileURL(outfile).href);
}

describe('the bundled handlers, as deployed', () => {
  afterEach(() => vi.unstubAllEnvs());

  it('the api bundle answers GET /v1/health', async () => {
    vi.stubEnv('NIGHTSHIFT_TABLE_NAME', 'ledger');
    vi.stubEnv('NIGHTSHIFT_APPCONFIG_APPLICATION', 'a');
    vi.stubEnv('NIGHTSHIFT_APPCONFIG_ENVIRONMENT', 'e');
    vi.stubEnv('NIGHTSHIFT_APPCONFIG_PROFILE', 'p');
    vi.stubEnv('AWS_REGION', 'eu-central-1');
    const { handler } = await bundle('api');
    await expect(handler(httpApiEvent({ method: 'GET', path: '/v1/health' }))).resolves.toMatchObject({
      statusCode: 200,
      body: '{"ok":true}',
    });
  });

  it('no bundle carries the holiday libraries: calendars travel resolved in the config', async () => {
    for (const name of HANDLERS) {
      const result = await build({
        entryPoints: [handlerEntry(name)],
        bundle: true,
        write: false,
        metafile: true,
        format: 'esm',
        platform: 'node',
        target: BUNDLE_TARGET,
        external: EXTERNAL_MODULES,
        mainFields: MAIN_FIELDS,
        logLevel: 'error',
      });
      const inputs = Object.keys(result.metafile.inputs);
      expect(
        inputs.filter((path) => /date-holidays|chinese-days|holiday-sources|resolve-calendars/.test(path)),
      ).toEqual([]);
      // ...while the engine's side of calendars is there (the events function reads no config)
      if (name !== 'events')
        expect(inputs.some((path) => path.endsWith('engine/calendar/holidays.ts'))).toBe(true);
    }
  }, 60_000);

  it('the validate-config bundle refuses a bad document with its paths', async () => {
    const { handler } = await bundle('validate-config');
    const content = Buffer.from(
      JSON.stringify({ version: 1, accounts: {}, targets: {}, schedules: [{ id: 'x', targets: [] }] }),
    ).toString('base64');
    await expect(handler({ content })).rejects.toThrow(
      /schedules\[0\]\.targets: must name at least one target or group/,
    );
  });
});
