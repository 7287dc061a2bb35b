import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { handler, InvalidConfigError } from '../../functions/handlers/validate-config.ts';

const event = (text: string) => ({
  applicationId: 'abc1234',
  configurationProfileId: 'def5678',
  configurationVersion: '7',
  content: Buffer.from(text).toString('base64'),
  uri: 'hosted',
});

describe('AppConfig validator Lambda', () => {
  it('accepts the example config', async () => {
    await expect(handler(event(readFileSync('config/schedule.json', 'utf8')))).resolves.toBeUndefined();
  });

  it('refuses an invalid config with every problem and its path', async () => {
    const config = JSON.parse(readFileSync('config/schedule.json', 'utf8'));
    config.schedules[0].window = 'weekdays';
    config.schedules[1].actions[0].cron = '0 25 * * *';
    const attempt = handler(event(JSON.stringify(config)));
    await expect(attempt).rejects.toThrow(InvalidConfigError);
    await expect(handler(event(JSON.stringify(config)))).rejects.toThrow(
      /2 problems in configuration version 7:\n {2}schedules\[0\]\.window: .*\n {2}schedules\[1\]\.actions\[0\]\.cron: /,
    );
  });

  it('refuses calendars without their resolved dates (the Lambdas have no holiday library)', async () => {
    const config = JSON.parse(readFileSync('config/schedule.json', 'utf8'));
    config.calendars = { cn: { country: 'CN' } };
    config.schedules[0].calendar = 'cn';
    await expect(handler(event(JSON.stringify(config)))).rejects.toThrow(
      /calendars\.cn: carries no resolved holiday dates/,
    );
    config.calendars.cn.resolved = {
      source: 'chinese-days 1.5.7',
      from: '2026-01-01',
      until: '2026-12-31',
      holidays: { '2026-10-01': '国庆节' },
      workdays: { '2026-10-10': '国庆节' },
    };
    await expect(handler(event(JSON.stringify(config)))).resolves.toBeUndefined();
  });

  it('refuses a document that is not JSON', async () => {
    await expect(handler(event('version: 1'))).rejects.toThrow(/not valid JSON/);
  });
});
