import { createHmac } from 'node:crypto';
import { sign } from '../api/signature.ts';
import type { SinkType } from '../engine/config/notifications.ts';
import type { CloudEvent } from '../events/cloudevent.ts';
import { redact } from '../observability/redact.ts';
import { fitMessage, type Message } from './message.ts';
import type { SinkSecret } from './secrets.ts';

/**
 * One adapter per kind of sink: how a message becomes that service's request (body shape and
 * signing, as its robot documentation says: see docs/notifications.md), and how its answer is
 * judged (a 200 is not success for DingTalk, Feishu and WeCom: their `errcode`/`code` says).
 */

export interface SinkRequest {
  url: string;
  headers: Record<string, string>;
  body: string;
}

export interface SinkAnswer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

export type Verdict =
  | { ok: true }
  /** `problem` is safe to log (no URL, no secret); `retryAfterMs` when the service said when. */
  | { ok: false; problem: string; retryAfterMs?: number };

export interface BuildInput {
  events: readonly CloudEvent[];
  message: Message;
  secret: SinkSecret;
  /** Real time (ms) for the services' signatures: they check it against their own clocks. */
  signingNow: number;
}

export interface SinkAdapter {
  build(input: BuildInput): SinkRequest;
  judge(answer: SinkAnswer): Verdict;
}

const JSON_TYPE = 'application/json; charset=utf-8';
const bytes = (text: string) => Buffer.byteLength(text);
const clip = (text: string, max: number) => (text.length > max ? `${text.slice(0, max - 1)}…` : text);

/** `Retry-After` in seconds or as an HTTP date, in ms; undefined when absent or unreadable. */
function retryAfter(headers: SinkAnswer['headers'], nowMs = Date.now()): number | undefined {
  const raw = headers['retry-after'];
  const text = Array.isArray(raw) ? raw[0] : raw;
  if (!text) return undefined;
  if (/^\d+$/.test(text.trim())) return Number(text.trim()) * 1000;
  const at = Date.parse(text);
  return Number.isNaN(at) ? undefined : Math.max(0, at - nowMs);
}

/** An answer's body for a log line: short, and scrubbed of every secret this process knows. */
function snippet(body: string): string {
  return clip(redact(body.replace(/\s+/g, ' ').trim()), 200);
}

/** 2xx is success; 429 and 503 say when to come back. */
function judgeHttp(answer: SinkAnswer): Verdict {
  if (answer.status >= 200 && answer.status < 300) return { ok: true };
  const after = retryAfter(answer.headers);
  return {
    ok: false,
    problem: `HTTP ${answer.status}${answer.body ? `: ${snippet(answer.body)}` : ''}`,
    ...(after === undefined ? {} : { retryAfterMs: after }),
  };
}

/** Services answering 200 with an error code in the body (DingTalk, WeCom: `errcode`; Feishu: `code`). */
function judgeCoded(
  answer: SinkAnswer,
  codeOf: (body: Record<string, unknown>) => { code: unknown; message: unknown },
  throttled: Record<string, number>,
): Verdict {
  if (answer.status !== 200) return judgeHttp(answer);
  let body: Record<string, unknown>;
  try {
    body = JSON.parse(answer.body) as Record<string, unknown>;
  } catch {
    return { ok: false, problem: `HTTP 200 but not JSON: ${snippet(answer.body)}` };
  }
  const { code, message } = codeOf(body);
  if (code === 0) return { ok: true };
  const wait = throttled[String(code)];
  return {
    ok: false,
    problem: `error code ${String(code)}: ${snippet(String(message ?? ''))}`,
    ...(wait === undefined ? {} : { retryAfterMs: wait }),
  };
}

const MINUTE = 60_000;

// ---- Slack: incoming webhook, {"text", "blocks"} in mrkdwn ----

const slackEscape = (text: string) => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const SLACK_SECTION_CHARS = 2900;

function slackBody(message: Message): string {
  const title = `*${slackEscape(message.title)}*`;
  const lines = message.lines.map((l) => `• ${slackEscape(l)}`);
  const sections: string[] = [];
  let current = '';
  for (const line of lines) {
    if (current && current.length + line.length + 1 > SLACK_SECTION_CHARS) {
      sections.push(current);
      current = '';
    }
    current = current ? `${current}\n${line}` : clip(line, SLACK_SECTION_CHARS);
  }
  if (current) sections.push(current);
  const link = message.link ? `<${message.link}|Open the Nightshift page>` : undefined;
  const text = [title, ...lines, ...(link ? [link] : [])].join('\n');
  const blocks = [
    { type: 'section', text: { type: 'mrkdwn', text: title } },
    ...sections.slice(0, 45).map((s) => ({ type: 'section', text: { type: 'mrkdwn', text: s } })),
    ...(link ? [{ type: 'context', elements: [{ type: 'mrkdwn', text: link }] }] : []),
  ];
  return JSON.stringify({ text, blocks });
}

const slack: SinkAdapter = {
  build: ({ message, secret }) => ({
    url: secret.url.href,
    headers: { 'content-type': JSON_TYPE },
    body: slackBody(fitMessage(message, 35_000, (m) => bytes(slackBody(m)))),
  }),
  judge: judgeHttp,
};

// ---- Microsoft Teams: a Workflows webhook, one Adaptive Card ----

function teamsBody(message: Message): string {
  const card = {
    $schema: 'http://adaptivecards.io/schemas/adaptive-card.json',
    type: 'AdaptiveCard',
    version: '1.4',
    body: [
      {
        type: 'TextBlock',
        text: message.title,
        weight: 'Bolder',
        size: 'Medium',
        wrap: true,
        ...(message.alert ? { color: 'Attention' } : {}),
      },
      ...message.lines.map((line) => ({ type: 'TextBlock', text: line, wrap: true, spacing: 'Small' })),
    ],
    ...(message.link
      ? { actions: [{ type: 'Action.OpenUrl', title: 'Open the Nightshift page', url: message.link }] }
      : {}),
  };
  return JSON.stringify({
    type: 'message',
    attachments: [
      { contentType: 'application/vnd.microsoft.card.adaptive', contentUrl: null, content: card },
    ],
  });
}

const teams: SinkAdapter = {
  // Teams takes messages up to 28 KB.
  build: ({ message, secret }) => ({
    url: secret.url.href,
    headers: { 'content-type': JSON_TYPE },
    body: teamsBody(fitMessage(message, 25_000, (m) => bytes(teamsBody(m)))),
  }),
  judge: judgeHttp,
};

// ---- DingTalk: custom robot, markdown; "加签" in the query string ----

function dingtalkMarkdown(message: Message): { title: string; text: string } {
  const text = [
    `### ${message.title}`,
    '',
    ...message.lines.map((l) => `- ${l}`),
    ...(message.link ? ['', `[Open the Nightshift page](${message.link})`] : []),
  ].join('\n');
  return { title: clip(message.title, 100), text };
}

/**
 * DingTalk's signature: `timestamp` in milliseconds and
 * `sign = urlEncode(base64(HmacSHA256(key = secret, message = timestamp + "\n" + secret)))`.
 */
export function dingtalkSign(secret: string, timestampMs: number): string {
  return createHmac('sha256', secret).update(`${timestampMs}\n${secret}`, 'utf8').digest('base64');
}

const dingtalk: SinkAdapter = {
  build: ({ message, secret, signingNow }) => {
    const fitted = fitMessage(message, 18_000, (m) => bytes(dingtalkMarkdown(m).text));
    const url = new URL(secret.url.href);
    if (secret.signSecret) {
      url.searchParams.set('timestamp', String(signingNow));
      url.searchParams.set('sign', dingtalkSign(secret.signSecret, signingNow));
    }
    return {
      url: url.href,
      headers: { 'content-type': JSON_TYPE },
      body: JSON.stringify({ msgtype: 'markdown', markdown: dingtalkMarkdown(fitted) }),
    };
  },
  // 130101: sending too fast; the robot is then throttled for 10 minutes.
  judge: (answer) =>
    judgeCoded(answer, (b) => ({ code: b.errcode, message: b.errmsg }), { '130101': 10 * MINUTE }),
};

// ---- Feishu / Lark: custom bot, text; signature in the body ----

function feishuText(message: Message): string {
  return [message.title, ...message.lines.map((l) => `• ${l}`), ...(message.link ? [message.link] : [])].join(
    '\n',
  );
}

/**
 * Feishu's signature: `timestamp` in seconds and
 * `sign = base64(HmacSHA256(key = timestamp + "\n" + secret, message = ""))` (key and message the
 * other way round from DingTalk's).
 */
export function feishuSign(secret: string, timestampS: number): string {
  return createHmac('sha256', `${timestampS}\n${secret}`).update(Buffer.alloc(0)).digest('base64');
}

const feishu: SinkAdapter = {
  build: ({ message, secret, signingNow }) => {
    // A request body may hold 20 KB.
    const fitted = fitMessage(message, 18_000, (m) => bytes(feishuText(m)));
    const seconds = Math.floor(signingNow / 1000);
    return {
      url: secret.url.href,
      headers: { 'content-type': JSON_TYPE },
      body: JSON.stringify({
        ...(secret.signSecret
          ? { timestamp: String(seconds), sign: feishuSign(secret.signSecret, seconds) }
          : {}),
        msg_type: 'text',
        content: { text: feishuText(fitted) },
      }),
    };
  },
  // Older answers carry `StatusCode` instead of `code`; 11232: too many requests.
  judge: (answer) =>
    judgeCoded(
      answer,
      (b) => ({
        code: b.code ?? b.StatusCode,
        message: b.msg ?? b.StatusMessage,
      }),
      { '11232': MINUTE, '9499': MINUTE },
    ),
};

// ---- WeCom (企业微信): group robot, markdown of at most 4096 bytes ----

function wecomContent(message: Message): string {
  return [
    `**${message.title}**`,
    ...message.lines.map((l) => `> ${l}`),
    ...(message.link ? [`[Open the Nightshift page](${message.link})`] : []),
  ].join('\n');
}

const wecom: SinkAdapter = {
  build: ({ message, secret }) => ({
    url: secret.url.href,
    headers: { 'content-type': JSON_TYPE },
    body: JSON.stringify({
      msgtype: 'markdown',
      markdown: { content: wecomContent(fitMessage(message, 4_000, (m) => bytes(wecomContent(m)))) },
    }),
  }),
  // 45009: calling too fast (20 messages a minute per robot).
  judge: (answer) => judgeCoded(answer, (b) => ({ code: b.errcode, message: b.errmsg }), { '45009': MINUTE }),
};

// ---- the generic webhook: the CloudEvents themselves, signed like our own API ----

/** `application/cloudevents+json` for one event; the CloudEvents batch format for several. */
export function webhookBody(events: readonly CloudEvent[]): { contentType: string; body: string } {
  return events.length === 1
    ? { contentType: 'application/cloudevents+json; charset=utf-8', body: JSON.stringify(events[0]) }
    : { contentType: 'application/cloudevents-batch+json; charset=utf-8', body: JSON.stringify(events) };
}

const webhook: SinkAdapter = {
  build: ({ events, secret, signingNow }) => {
    const { contentType, body } = webhookBody(events);
    const timestamp = String(Math.floor(signingNow / 1000));
    const target = `${secret.url.pathname}${secret.url.search}`;
    return {
      url: secret.url.href,
      headers: {
        'content-type': contentType,
        'x-nightshift-timestamp': timestamp,
        'x-nightshift-signature': sign(secret.key!, timestamp, 'POST', target, body),
      },
      body,
    };
  },
  judge: judgeHttp,
};

export const SINK_ADAPTERS: Record<SinkType, SinkAdapter> = {
  slack,
  teams,
  dingtalk,
  feishu,
  wecom,
  webhook,
};

/** The most events one message carries; a larger backlog goes out in the next turns. */
export const MAX_EVENTS_PER_MESSAGE = 200;
