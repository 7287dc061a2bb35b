import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

/**
 * Stand-ins for the services the sinks post to, on loopback, each checking requests the way its
 * documentation says the service does (body shape, signature, limits) and answering the way the
 * service answers: Slack `ok`, Teams 202, DingTalk and WeCom `{"errcode": 0}`, Feishu
 * `{"code": 0}`. The signatures are checked here with code of the tests' own, written from the
 * services' documented algorithms, not with Nightshift's.
 */
export type SinkKind = 'slack' | 'teams' | 'dingtalk' | 'feishu' | 'wecom' | 'webhook';
export const SINK_KINDS: SinkKind[] = ['slack', 'teams', 'dingtalk', 'feishu', 'wecom', 'webhook'];

export interface Received {
  kind: SinkKind;
  path: string;
  query: URLSearchParams;
  headers: IncomingMessage['headers'];
  raw: string;
  body: unknown;
  /** The text a person would read (chat sinks), or the CloudEvents (webhook). */
  text: string;
  events: { id: string; type: string; subject?: string; data: Record<string, unknown> }[];
  at: number;
}

export type Mode =
  /** Connection reset as soon as it opens: the receiver is down. */
  | 'down'
  /** Never answers. */
  | 'hang'
  | 'ok';

export interface ReceiverSecrets {
  url: string;
  signSecret?: string;
  key?: string;
}

export class SinkReceiver {
  readonly accepted: Received[] = [];
  /** Requests refused (a wrong signature, a bad shape) or failed on purpose. */
  readonly refused: { kind: SinkKind; why: string; raw: string }[] = [];
  mode: Mode = 'ok';
  /** Answer the next N requests with a failure in the service's own way. */
  failNext = 0;
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();
  private port = 0;

  constructor(
    readonly kind: SinkKind,
    readonly token: string,
    readonly signSecret?: string,
  ) {}

  async start(): Promise<void> {
    this.server = createServer((req, res) => void this.handle(req, res));
    this.server.on('connection', (socket) => {
      if (this.mode === 'down') {
        socket.destroy();
        return;
      }
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
    });
    await new Promise<void>((resolve) => this.server!.listen(this.port, '127.0.0.1', resolve));
    this.port = (this.server.address() as AddressInfo).port;
  }

  async stop(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  /** The secret a sink of this kind holds to reach this receiver. */
  get secret(): ReceiverSecrets {
    const base = `http://127.0.0.1:${this.port}`;
    switch (this.kind) {
      case 'slack':
        return { url: `${base}/services/T0SLACK/B0SLACK/${this.token}` };
      case 'teams':
        return { url: `${base}/workflows/${this.token}/triggers/manual/paths/invoke?api-version=1` };
      case 'dingtalk':
        return {
          url: `${base}/robot/send?access_token=${this.token}`,
          ...(this.signSecret ? { signSecret: this.signSecret } : {}),
        };
      case 'feishu':
        return {
          url: `${base}/open-apis/bot/v2/hook/${this.token}`,
          ...(this.signSecret ? { signSecret: this.signSecret } : {}),
        };
      case 'wecom':
        return { url: `${base}/cgi-bin/webhook/send?key=${this.token}` };
      default:
        return { url: `${base}/hooks/nightshift?tenant=${this.token}`, key: this.signSecret ?? this.token };
    }
  }

  /** Every event id the receiver accepted (webhook), each as often as it came. */
  get eventIds(): string[] {
    return this.accepted.flatMap((r) => r.events.map((e) => e.id));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const raw = Buffer.concat(chunks).toString('utf8');
    if (this.mode === 'hang') return;
    const url = new URL(req.url ?? '/', 'http://x');
    const refuse = (why: string, status: number, answer: unknown) => {
      this.refused.push({ kind: this.kind, why, raw });
      send(res, status, answer);
    };
    if (req.method !== 'POST') return refuse('not a POST', 405, 'method not allowed');
    let body: unknown;
    try {
      body = JSON.parse(raw);
    } catch {
      return refuse('not JSON', 400, this.kind === 'slack' ? 'invalid_payload' : { errcode: 400 });
    }
    const problem = this.check(req, url, raw, body);
    if (problem) return refuse(problem.why, problem.status, problem.answer);
    if (this.failNext > 0) {
      this.failNext -= 1;
      return refuse('failed on purpose', ...this.failure());
    }
    this.accepted.push({
      kind: this.kind,
      path: url.pathname,
      query: url.searchParams,
      headers: req.headers,
      raw,
      body,
      text: textOf(this.kind, body),
      events: this.kind === 'webhook' ? (Array.isArray(body) ? body : [body]) : [],
      at: Date.now(),
    });
    send(res, ...this.success());
  }

  private success(): [number, unknown] {
    switch (this.kind) {
      case 'slack':
        return [200, 'ok'];
      case 'teams':
        return [202, ''];
      case 'feishu':
        return [200, { code: 0, msg: 'success', data: {} }];
      case 'webhook':
        return [204, ''];
      default:
        return [200, { errcode: 0, errmsg: 'ok' }];
    }
  }

  /** A failure the way each service says it: an HTTP error, or a 200 with an error code. */
  private failure(): [number, unknown] {
    switch (this.kind) {
      case 'slack':
        return [500, 'internal_error'];
      case 'teams':
        return [503, ''];
      case 'dingtalk':
        return [200, { errcode: -1, errmsg: '系统繁忙' }];
      case 'feishu':
        return [200, { code: 9499, msg: 'Bad Request', data: {} }];
      case 'wecom':
        return [200, { errcode: -1, errmsg: 'system busy' }];
      case 'webhook':
        return [502, 'bad gateway'];
    }
  }

  private check(
    req: IncomingMessage,
    url: URL,
    raw: string,
    body: unknown,
  ): { why: string; status: number; answer: unknown } | undefined {
    const b = body as Record<string, unknown>;
    const bad = (why: string, status = 400, answer: unknown = 'invalid_payload') => ({ why, status, answer });
    switch (this.kind) {
      case 'slack': {
        if (!url.pathname.endsWith(`/${this.token}`)) return bad('wrong path', 404, 'no_service');
        if (typeof b.text !== 'string' || b.text === '') return bad('no text', 400, 'no_text');
        if (b.blocks !== undefined && !Array.isArray(b.blocks)) return bad('blocks not a list');
        for (const block of (b.blocks as { type?: unknown; text?: { text?: string } }[]) ?? []) {
          if (typeof block.type !== 'string') return bad('a block without a type');
          if (block.type === 'section' && (block.text?.text?.length ?? 0) > 3000)
            return bad('a section over 3000 characters');
        }
        return undefined;
      }
      case 'teams': {
        const attachment = (b.attachments as Record<string, unknown>[] | undefined)?.[0];
        const card = attachment?.content as Record<string, unknown> | undefined;
        if (b.type !== 'message' || attachment?.contentType !== 'application/vnd.microsoft.card.adaptive')
          return bad('not a message with an Adaptive Card attachment');
        if (card?.type !== 'AdaptiveCard' || typeof card.version !== 'string' || !Array.isArray(card.body))
          return bad('not an Adaptive Card');
        if (Buffer.byteLength(raw) > 28 * 1024) return bad('over 28 KB', 413);
        return undefined;
      }
      case 'dingtalk': {
        if (url.searchParams.get('access_token') !== this.token)
          return bad('wrong token', 200, { errcode: 300001, errmsg: 'token is not exist' });
        if (this.signSecret) {
          const ts = url.searchParams.get('timestamp') ?? '';
          const sign = url.searchParams.get('sign') ?? '';
          // As DingTalk documents it: HmacSHA256 keyed by the secret over "timestamp\nsecret", base64.
          const expected = createHmac('sha256', Buffer.from(this.signSecret, 'utf8'))
            .update(Buffer.from(`${ts}\n${this.signSecret}`, 'utf8'))
            .digest('base64');
          if (!/^\d{13}$/.test(ts) || Math.abs(Date.now() - Number(ts)) > 3600_000 || !equal(sign, expected))
            return bad('signature', 200, { errcode: 310000, errmsg: 'sign not match' });
        }
        const markdown = b.markdown as Record<string, unknown> | undefined;
        if (
          b.msgtype !== 'markdown' ||
          typeof markdown?.title !== 'string' ||
          typeof markdown.text !== 'string'
        )
          return bad('not a markdown message', 200, { errcode: 40035, errmsg: '缺少参数 json' });
        return undefined;
      }
      case 'feishu': {
        if (!url.pathname.endsWith(`/${this.token}`))
          return bad('wrong hook', 200, {
            code: 19001,
            msg: 'param invalid: incoming webhook access token invalid',
          });
        if (this.signSecret) {
          const ts = String(b.timestamp ?? '');
          // As Feishu documents it: HmacSHA256 keyed by "timestamp\nsecret" over nothing, base64.
          const expected = createHmac('sha256', `${ts}\n${this.signSecret}`).update('').digest('base64');
          if (
            !/^\d{10}$/.test(ts) ||
            Math.abs(Date.now() / 1000 - Number(ts)) > 3600 ||
            !equal(String(b.sign), expected)
          )
            return bad('signature', 200, {
              code: 19021,
              msg: 'sign match fail or timestamp is not within one hour from current time',
            });
        }
        const content = b.content as Record<string, unknown> | undefined;
        if (b.msg_type !== 'text' || typeof content?.text !== 'string')
          return bad('not a text message', 200, { code: 9499, msg: 'Bad Request' });
        if (Buffer.byteLength(raw) > 20 * 1024)
          return bad('over 20 KB', 200, { code: 9499, msg: 'Bad Request' });
        return undefined;
      }
      case 'wecom': {
        if (url.searchParams.get('key') !== this.token)
          return bad('wrong key', 200, { errcode: 93000, errmsg: 'invalid webhook url' });
        const markdown = b.markdown as Record<string, unknown> | undefined;
        if (b.msgtype !== 'markdown' || typeof markdown?.content !== 'string')
          return bad('not a markdown message', 200, { errcode: 40008, errmsg: 'invalid message type' });
        if (Buffer.byteLength(markdown.content) > 4096)
          return bad('over 4096 bytes', 200, {
            errcode: 40058,
            errmsg: 'markdown.content exceed max length 4096',
          });
        return undefined;
      }
      case 'webhook': {
        const key = this.signSecret ?? this.token;
        const ts = String(req.headers['x-nightshift-timestamp'] ?? '');
        const given = String(req.headers['x-nightshift-signature'] ?? '');
        // Our own HMAC, as the README says: hex HMAC-SHA256(key, ts + ".POST." + path and query + "." + body).
        const expected = `sha256=${createHmac('sha256', key).update(`${ts}.POST.${url.pathname}${url.search}.${raw}`).digest('hex')}`;
        if (Math.abs(Date.now() / 1000 - Number(ts)) > 300 || !equal(given, expected))
          return bad('signature', 401, { error: 'bad signature' });
        const type = String(req.headers['content-type'] ?? '');
        const events = Array.isArray(body) ? body : [body];
        if (Array.isArray(body) !== type.startsWith('application/cloudevents-batch+json'))
          return bad(`content type ${type} for ${Array.isArray(body) ? 'a batch' : 'one event'}`);
        for (const e of events as Record<string, unknown>[])
          if (
            e.specversion !== '1.0' ||
            typeof e.id !== 'string' ||
            e.source !== 'nightshift' ||
            typeof e.type !== 'string'
          )
            return bad('not a CloudEvent');
        return undefined;
      }
    }
  }
}

function equal(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

function send(res: ServerResponse, status: number, answer: unknown): void {
  const text = typeof answer === 'string' ? answer : JSON.stringify(answer);
  res.writeHead(status, { 'content-type': typeof answer === 'string' ? 'text/plain' : 'application/json' });
  res.end(text);
}

function textOf(kind: SinkKind, body: unknown): string {
  // biome-ignore lint/suspicious/noExplicitAny: each service's body has its own shape, checked above
  const b = body as Record<string, any>;
  switch (kind) {
    case 'slack':
      return b.text;
    case 'teams':
      return (b.attachments[0].content.body as { text: string }[]).map((x) => x.text).join('\n');
    case 'dingtalk':
      return b.markdown.text;
    case 'feishu':
      return b.content.text;
    case 'wecom':
      return b.markdown.content;
    default:
      return JSON.stringify(body);
  }
}

/** One receiver of each kind (DingTalk and Feishu with signing), started. */
export async function startReceivers(
  options: { sentinel?: string } = {},
): Promise<Record<SinkKind, SinkReceiver> & { stop(): Promise<void> }> {
  const tag = options.sentinel ?? 'tok';
  const receivers = {
    slack: new SinkReceiver('slack', `${tag}SLACKPATH0123`),
    teams: new SinkReceiver('teams', `${tag}TEAMSPATH0123`),
    dingtalk: new SinkReceiver('dingtalk', `${tag}DINGTOKEN0123`, `SEC${tag}DINGSECRET0123`),
    feishu: new SinkReceiver('feishu', `${tag}FEISHUHOOK0123`, `${tag}FEISHUSECRET0123`),
    wecom: new SinkReceiver('wecom', `${tag}WECOMKEY0123`),
    webhook: new SinkReceiver('webhook', `${tag}HOOKTENANT0123`, `${tag}HOOKKEY0123`),
  };
  await Promise.all(Object.values(receivers).map((r) => r.start()));
  return {
    ...receivers,
    async stop() {
      await Promise.all(Object.values(receivers).map((r) => r.stop()));
    },
  };
}

/** A `notifications` block with one sink per receiver, each routed the default events, and its secrets. */
export function notificationsFor(
  receivers: Record<SinkKind, SinkReceiver>,
  route: { events?: string[]; targets?: string[] } = {},
): { notifications: Record<string, unknown>; secrets: Record<string, ReceiverSecrets> } {
  const sinks: Record<string, unknown> = {};
  const secrets: Record<string, ReceiverSecrets> = {};
  for (const kind of SINK_KINDS) {
    sinks[kind] = { type: kind, secret: `nightshift/sink-${kind}` };
    secrets[`nightshift/sink-${kind}`] = receivers[kind].secret;
  }
  return {
    notifications: {
      sinks,
      routes: SINK_KINDS.map((kind) => ({ sink: kind, ...route })),
    },
    secrets,
  };
}
