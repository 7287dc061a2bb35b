import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SinkType } from '../../functions/engine/config/notifications.ts';
import type { CloudEvent } from '../../functions/events/cloudevent.ts';
import { eventOfEntry, overrideEvent } from '../../functions/events/make.ts';
import { messageOf } from '../../functions/notify/message.ts';
import { HttpSinkPoster } from '../../functions/notify/post.ts';
import { parseSinkSecret } from '../../functions/notify/secrets.ts';
import { SINK_ADAPTERS } from '../../functions/notify/sinks.ts';
import { configWith } from '../helpers/config.ts';
import { SINK_KINDS, type SinkKind, SinkReceiver, startReceivers } from '../helpers/sink-receivers.ts';

const config = configWith(
  [
    {
      id: 'nightly-load-test',
      targets: ['load-test'],
      timezone: 'Asia/Shanghai',
      actions: [{ do: 'stop', cron: '0 5 * * *' }],
    },
  ],
  { timezone: 'Asia/Shanghai', notifications: { pageUrl: 'https://nightshift.example.com/' } },
);

const failedStop: CloudEvent = eventOfEntry({
  id: 'entry-failed-stop-1',
  recordedAt: '2027-03-29T21:00:04.000Z',
  trigger: 'tick',
  schedule: 'nightly-load-test',
  scheduledAt: '2027-03-29T21:00:00Z',
  result: {
    target: 'load-test',
    kind: 'cpts-task',
    action: 'stop',
    ok: false,
    status: 'failed',
    httpStatus: 404,
    errorCode: 'SVCSTG.CPTS.4032002',
    errorMessage: 'PUT /v1/{project_id}/test-suites/1/tasks/1 answered 404: task not found',
    attempts: 1,
    durationMs: 120,
  },
});

function burst(n: number): CloudEvent[] {
  return Array.from({ length: n }, (_, i) =>
    eventOfEntry({
      id: `burst-${i}`,
      recordedAt: '2027-03-29T21:00:04.000Z',
      trigger: 'tick',
      schedule: 'office',
      result: {
        target: `vias-task-${String(i).padStart(3, '0')}`,
        kind: 'vias-task',
        action: 'stop',
        ok: false,
        status: 'failed',
        errorCode: 'NIGHTSHIFT.NETWORK',
        errorMessage: 'connection reset',
        attempts: 4,
        durationMs: 900,
      },
    }),
  );
}

describe('each sink against a receiver that checks requests as its service documents', () => {
  let receivers: Awaited<ReturnType<typeof startReceivers>>;
  const poster = new HttpSinkPoster(2_000);
  beforeAll(async () => {
    receivers = await startReceivers();
  });
  afterAll(async () => {
    await poster.close();
    await receivers.stop();
  });

  async function deliver(kind: SinkKind, events: CloudEvent[], secretOverride?: Record<string, string>) {
    const adapter = SINK_ADAPTERS[kind as SinkType];
    const secret = parseSinkSecret(
      kind,
      kind as SinkType,
      `nightshift/${kind}`,
      JSON.stringify({ ...receivers[kind].secret, ...secretOverride }),
    );
    const outcome = await poster.post(
      adapter.build({ events, message: messageOf(events, { config }), secret, signingNow: Date.now() }),
    );
    if ('error' in outcome) throw new Error(outcome.error);
    return adapter.judge(outcome.answer);
  }

  it.each(SINK_KINDS)(
    '%s: a failed stop is taken, in the documented shape, signed where the service signs',
    async (kind) => {
      // Act
      const verdict = await deliver(kind, [failedStop]);
      // Assess
      expect(verdict).toEqual({ ok: true });
      const got = receivers[kind].accepted.at(-1)!;
      if (kind === 'webhook') {
        expect(got.headers['content-type']).toMatch(/^application\/cloudevents\+json/);
        expect(got.body).toMatchObject({
          specversion: '1.0',
          id: 'entry-failed-stop-1',
          source: 'nightshift',
          type: 'nightshift.action.failed',
          subject: 'load-test',
          time: '2027-03-29T21:00:04.000Z',
          data: { schedule: 'nightly-load-test', result: { errorCode: 'SVCSTG.CPTS.4032002' } },
        });
      } else {
        // One line a person can act on: target, action, result, error, when (the schedule's zone), why; a link.
        expect(got.text).toContain(
          'FAILED stop load-test: SVCSTG.CPTS.4032002 PUT /v1/{project_id}/test-suites/1/tasks/1 answered 404: task not found — at 2027-03-30 05:00 Asia/Shanghai, schedule nightly-load-test',
        );
        if (kind !== 'feishu' && kind !== 'teams')
          expect(got.raw).toContain('https://nightshift.example.com/');
      }
      if (kind === 'dingtalk') {
        expect(got.query.get('sign')).toBeTruthy();
        expect(Number(got.query.get('timestamp'))).toBeGreaterThan(Date.now() - 60_000);
      }
      if (kind === 'feishu')
        expect(got.body).toMatchObject({
          timestamp: expect.stringMatching(/^\d{10}$/),
          sign: expect.any(String),
        });
    },
  );

  it.each(['dingtalk', 'feishu', 'webhook'] as const)(
    '%s: a wrong signing secret is refused by the receiver, and the answer is judged a failure that names the code',
    async (kind) => {
      const field = kind === 'webhook' ? 'key' : 'signSecret';
      const verdict = await deliver(kind, [failedStop], { [field]: 'SECwrong-secret-0000' });
      expect(verdict.ok).toBe(false);
      expect(receivers[kind].refused.at(-1)!.why).toBe('signature');
      const problem = (verdict as { problem: string }).problem;
      expect(problem).toMatch(
        kind === 'dingtalk' ? /error code 310000/ : kind === 'feishu' ? /error code 19021/ : /HTTP 401/,
      );
      expect(problem).not.toContain('SECwrong');
    },
  );

  it.each(SINK_KINDS)(
    '%s: a burst of 100 failures is one message naming every target, within the service limits',
    async (kind) => {
      const events = burst(100);
      const verdict = await deliver(kind, events);
      expect(verdict).toEqual({ ok: true });
      const got = receivers[kind].accepted.at(-1)!;
      if (kind === 'webhook') {
        expect(got.headers['content-type']).toMatch(/^application\/cloudevents-batch\+json/);
        expect(got.events.map((e) => e.id)).toEqual(events.map((e) => e.id));
      } else {
        expect(got.text).toContain('Nightshift: 100 events (100 failed)');
        expect(got.text).toContain('FAILED stop (NIGHTSHIFT.NETWORK) ×100: vias-task-000, vias-task-001');
        for (let i = 0; i < 100; i++) expect(got.text).toContain(`vias-task-${String(i).padStart(3, '0')}`);
      }
    },
  );

  it('an override and an upcoming change read as people would say them', () => {
    const override = {
      id: 'ovr-1a2b3c4d',
      targets: ['orders-sync'],
      state: 'running' as const,
      from: '2027-03-29T11:10:00.000Z',
      until: '2027-03-29T15:00:00.000Z',
      reason: 'release 4.2',
      createdBy: 'alice',
      createdAt: '2027-03-29T11:10:00.000Z',
    };
    const message = messageOf([overrideEvent('nightshift.override.created', override, override.createdAt)], {
      config,
    });
    expect(message.title).toBe('Nightshift: override created — orders-sync');
    expect(message.lines).toEqual([
      'OVERRIDE ovr-1a2b3c4d: orders-sync held running from 2027-03-29 19:10 Asia/Shanghai until 2027-03-29 23:00 Asia/Shanghai — "release 4.2" by alice',
    ]);
  });
});

describe('answers that are not success', () => {
  const answer = (status: number, body: unknown, headers: Record<string, string> = {}) => ({
    status,
    headers,
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });

  it('a 200 is not success for DingTalk, Feishu and WeCom: their error code says', () => {
    expect(
      SINK_ADAPTERS.dingtalk.judge(answer(200, { errcode: 310000, errmsg: 'sign not match' })),
    ).toMatchObject({
      ok: false,
      problem: 'error code 310000: sign not match',
    });
    expect(
      SINK_ADAPTERS.feishu.judge(answer(200, { code: 19024, msg: 'Key Words Not Found' })),
    ).toMatchObject({ ok: false });
    expect(SINK_ADAPTERS.feishu.judge(answer(200, { StatusCode: 0, StatusMessage: 'success' }))).toEqual({
      ok: true,
    });
    expect(
      SINK_ADAPTERS.wecom.judge(answer(200, { errcode: 93000, errmsg: 'invalid webhook url' })),
    ).toMatchObject({ ok: false });
    expect(SINK_ADAPTERS.wecom.judge(answer(200, 'not json'))).toMatchObject({
      ok: false,
      problem: /not JSON/,
    });
  });

  it('throttling is retried after the service’s window: Retry-After, DingTalk’s 10 minutes, WeCom’s minute', () => {
    expect(SINK_ADAPTERS.slack.judge(answer(429, 'rate_limited', { 'retry-after': '30' }))).toMatchObject({
      ok: false,
      retryAfterMs: 30_000,
    });
    expect(
      SINK_ADAPTERS.dingtalk.judge(answer(200, { errcode: 130101, errmsg: 'send too fast' })),
    ).toMatchObject({
      retryAfterMs: 600_000,
    });
    expect(
      SINK_ADAPTERS.wecom.judge(answer(200, { errcode: 45009, errmsg: 'api freq out of limit' })),
    ).toMatchObject({
      retryAfterMs: 60_000,
    });
  });

  it('a receiver that is down or hangs is a problem with no address in it', async () => {
    const down = new SinkReceiver('slack', 'sentinel-path-token-0001');
    await down.start();
    down.mode = 'down';
    const poster = new HttpSinkPoster(300);
    try {
      const outcome = await poster.post({ url: down.secret.url, headers: {}, body: '{}' });
      expect(outcome).toEqual({ error: expect.stringMatching(/^network error/) });
      down.mode = 'hang';
      expect(await poster.post({ url: down.secret.url, headers: {}, body: '{}' })).toEqual({
        error: 'no answer in time',
      });
    } finally {
      await poster.close();
      await down.stop();
    }
  });
});
