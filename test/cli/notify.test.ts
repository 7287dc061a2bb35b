import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.ts';
import { rawConfig } from '../helpers/config.ts';
import { notificationsFor, SINK_KINDS, startReceivers } from '../helpers/sink-receivers.ts';

describe('nightshift notify test and validate --secrets', () => {
  let receivers: Awaited<ReturnType<typeof startReceivers>>;
  let dir: string;
  let config: string;
  let secretsFile: string;
  let secrets: Record<string, { url: string; signSecret?: string; key?: string }>;
  beforeAll(async () => {
    receivers = await startReceivers({ sentinel: 'SENTINEL' });
    dir = mkdtempSync(join(tmpdir(), 'nightshift-notify-cli-'));
    const block = notificationsFor(receivers);
    secrets = block.secrets;
    config = join(dir, 'schedule.json');
    writeFileSync(config, JSON.stringify(rawConfig([], { notifications: block.notifications })));
    secretsFile = join(dir, 'secrets.json');
    writeFileSync(secretsFile, JSON.stringify(secrets));
  });
  afterAll(async () => {
    await receivers.stop();
  });

  it.each(SINK_KINDS)('sends one test message through %s and says it was taken', async (kind) => {
    const result = await runCli([
      'notify',
      'test',
      '--sink',
      kind,
      '--config',
      config,
      '--secrets',
      secretsFile,
    ]);
    expect(result).toMatchObject({
      code: 0,
      stdout: expect.stringMatching(new RegExp(`^${kind} \\(${kind}\\) took the test message`)),
    });
    const got = receivers[kind].accepted.at(-1)!;
    if (kind === 'webhook')
      expect(got.body).toMatchObject({ type: 'nightshift.test', data: { sink: 'webhook' } });
    else expect(got.text).toContain(`Test message from Nightshift through sink "${kind}" (${kind})`);
  });

  it('a sink that refuses the message: exit 1, with the service’s own words and no secret', async () => {
    const broken = join(dir, 'wrong-sign.json');
    writeFileSync(
      broken,
      JSON.stringify({
        ...secrets,
        'nightshift/sink-dingtalk': {
          ...secrets['nightshift/sink-dingtalk'],
          signSecret: 'SECSENTINELwrong',
        },
      }),
    );
    const result = await runCli([
      'notify',
      'test',
      '--sink',
      'dingtalk',
      '--config',
      config,
      '--secrets',
      broken,
      '--json',
    ]);
    expect(result.code).toBe(1);
    expect(JSON.parse(result.stdout)).toEqual({
      ok: false,
      sink: 'dingtalk',
      type: 'dingtalk',
      status: 200,
      problem: 'error code 310000: sign not match',
    });
    expect(result.stdout + result.stderr).not.toContain('SENTINEL');
  });

  it('an unknown sink is bad usage (exit 2) naming the sinks there are', async () => {
    const result = await runCli([
      'notify',
      'test',
      '--sink',
      'oncal',
      '--config',
      config,
      '--secrets',
      secretsFile,
    ]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(
      'unknown sink "oncal" (the sinks: slack, teams, dingtalk, feishu, wecom, webhook)',
    );
  });

  it('validate with the secrets file checks each sink’s secret: missing and malformed are errors, values never printed', async () => {
    const broken = join(dir, 'broken.json');
    const { 'nightshift/sink-teams': _gone, ...rest } = secrets;
    writeFileSync(
      broken,
      JSON.stringify({
        ...rest,
        'nightshift/sink-wecom': { url: `${secrets['nightshift/sink-wecom']!.url} ` },
      }),
    );
    const ok = await runCli(['validate', '--config', config, '--secrets', secretsFile]);
    expect(ok.code).toBe(0);
    const result = await runCli(['validate', '--config', config, '--secrets', broken]);
    expect(result.code).toBe(1);
    expect(result.stdout).toContain(
      'notifications.sinks.teams.secret: sink "teams" (teams): secret "nightshift/sink-teams" is missing',
    );
    expect(result.stdout).toContain(
      'notifications.sinks.wecom.secret: sink "wecom" (wecom): secret "nightshift/sink-wecom" is malformed: "url" has spaces or a line break around it',
    );
    expect(result.stdout + result.stderr).not.toContain('SENTINEL');
    // Without a secrets file it cannot know, and says nothing about secrets.
    expect((await runCli(['validate', '--config', config])).code).toBe(0);
  });
});
