import { describe, expect, it } from 'vitest';
import { notificationWarnings } from '../../../functions/engine/config/notifications.ts';
import { validateConfig } from '../../../functions/engine/config/validate.ts';
import { parseSinkSecret } from '../../../functions/notify/secrets.ts';
import { configWith, rawConfig } from '../../helpers/config.ts';

const issuesOf = (notifications: unknown) => {
  const result = validateConfig(rawConfig([], { notifications }));
  return result.ok ? [] : result.issues;
};

describe('the notifications block', () => {
  it('takes the design’s example, with defaults', () => {
    const config = configWith([], {
      notifications: {
        upcomingMinutes: 15,
        sinks: {
          oncall: { type: 'slack', secret: 'nightshift/slack' },
          team: { type: 'dingtalk', secret: 'nightshift/dingtalk' },
          ops: { type: 'feishu', secret: 'nightshift/feishu' },
          wx: { type: 'wecom', secret: 'nightshift/wecom' },
          ms: { type: 'teams', secret: 'nightshift/teams' },
          hook: { type: 'webhook', secret: 'nightshift/hook' },
        },
        routes: [
          {
            sink: 'oncall',
            events: ['nightshift.action.failed', 'nightshift.override.*'],
            targets: ['replication'],
          },
          { sink: 'team' },
          { sink: 'ops' },
          { sink: 'wx' },
          { sink: 'ms' },
          { sink: 'hook', events: ['*'] },
        ],
      },
    });
    expect(config.notifications?.sinks.oncall).toEqual({ type: 'slack', secret: 'nightshift/slack' });
    expect(configWith([], { notifications: {} }).notifications).toEqual({
      upcomingMinutes: 15,
      sinks: {},
      routes: [],
    });
  });

  it('reports every mistake with its JSON path', () => {
    expect(
      issuesOf({
        upcomingMinutes: 2000,
        sinks: {
          oncall: { type: 'slak', secret: '' },
          team: { type: 'dingtalk', secret: 's', signSecret: 'x' },
        },
        routes: [
          {
            sink: 'oncal',
            targets: ['replicaton'],
            events: ['nightshift.action.faild', 'nightshift.override.*'],
          },
          { sink: 'team', events: [] },
        ],
      }),
    ).toEqual([
      { path: 'notifications.upcomingMinutes', message: expect.stringMatching(/1440/) },
      {
        path: 'notifications.sinks.oncall.type',
        message: expect.stringMatching(/^type must be one of slack, teams/),
      },
      { path: 'notifications.sinks.oncall.secret', message: expect.any(String) },
      { path: 'notifications.sinks.team.signSecret', message: 'unknown field "signSecret"' },
      { path: 'notifications.routes[0].sink', message: 'unknown sink "oncal" (did you mean "oncall"?)' },
      {
        path: 'notifications.routes[0].targets[0]',
        message: 'unknown target or group "replicaton" (did you mean "replication"?)',
      },
      {
        path: 'notifications.routes[0].events[0]',
        message: expect.stringMatching(/^"nightshift.action.faild" matches no event type/),
      },
      { path: 'notifications.routes[1].events', message: expect.stringMatching(/at least one event type/) },
    ]);
  });

  it('the JSON Schemas (for editors, and draft-04 for AppConfig) know the block', async () => {
    const { default: Ajv } = await import('ajv-draft-04');
    const { configJsonSchemaDraft4Text } = await import('../../../functions/engine/config/json-schema.ts');
    const validate = new Ajv({ strict: false }).compile(JSON.parse(configJsonSchemaDraft4Text()));
    const document = rawConfig([], {
      notifications: {
        pageUrl: 'https://nightshift.example.com/',
        sinks: { oncall: { type: 'slack', secret: 'nightshift/slack' } },
        routes: [{ sink: 'oncall', events: ['nightshift.override.*'], targets: ['replication'] }],
      },
    });
    expect(validate(document)).toBe(true);
    expect(
      validate({ ...document, notifications: { sinks: { x: { type: 'telegram', secret: 's' } } } }),
    ).toBe(false);
    expect(validate({ ...document, notifications: { routes: [{ sink: 'x', channel: '#ops' }] } })).toBe(
      false,
    );
  });

  it('warns about a sink no route uses', () => {
    const config = configWith([], { notifications: { sinks: { idle: { type: 'slack', secret: 's' } } } });
    expect(notificationWarnings(config)).toEqual([
      {
        path: 'notifications.sinks.idle',
        message: 'no route sends anything to sink "idle" (add {"sink": "idle"} to notifications.routes)',
      },
    ]);
  });
});

describe('sink secrets', () => {
  const parse = (type: Parameters<typeof parseSinkSecret>[1], value: unknown) => () =>
    parseSinkSecret(
      'oncall',
      type,
      'nightshift/x',
      typeof value === 'string' ? value : JSON.stringify(value),
    );

  it.each([
    ['slack', 'https://hooks.slack.com/services/T/B/SENTINEL-slack'],
    ['wecom', 'https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=SENTINEL-wecom'],
  ] as const)('%s takes {"url"}', (type, url) => {
    expect(parse(type, { url })().url.href).toBe(url);
  });

  it.each([
    ['slack', 'not json{', 'not JSON'],
    ['slack', { url: 'http://hooks.slack.com/services/SENTINEL' }, 'must be an https URL'],
    ['slack', { url: ' https://hooks.slack.com/services/SENTINEL' }, 'spaces or a line break around it'],
    [
      'dingtalk',
      { url: 'https://oapi.dingtalk.com/robot/send?access_token=SENTINEL', signsecret: 'SENTINEL' },
      'unknown field "signsecret"',
    ],
    ['webhook', { url: 'https://example.com/hook' }, '"key" is missing'],
    [
      'feishu',
      { url: 'https://open.feishu.cn/open-apis/bot/v2/hook/SENTINEL', signSecret: '' },
      '"signSecret" must be a non-empty string',
    ],
  ] as const)('%s refuses %j: %s, naming the secret and the shape, never a value', (type, value, why) => {
    let message = '';
    try {
      parse(type, value)();
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toContain(why);
    expect(message).toContain('secret "nightshift/x" is malformed');
    expect(message).toMatch(/it must hold \{"url"/);
    expect(message).not.toContain('SENTINEL');
  });

  it('http only to this machine (local relays, the tests’ receivers)', () => {
    expect(parse('slack', { url: 'http://127.0.0.1:9/x' })().url.port).toBe('9');
    expect(parse('slack', { url: 'http://localhost:9/x' })().url.hostname).toBe('localhost');
  });
});
