import { Agent, type Dispatcher, request, errors as undiciErrors } from '../huawei/undici-core.ts';
import type { SinkAnswer, SinkRequest } from './sinks.ts';

/** How long one delivery attempt may take; a sink that hangs is given up on and tried later. */
export const SINK_TIMEOUT_MS = 10_000;
/** More of an answer than this is not read: a sink's answer is a few bytes of status. */
const MAX_ANSWER_BYTES = 64 * 1024;

/** One POST to a sink, or why there was no answer. The message never holds the URL. */
export type PostOutcome = { answer: SinkAnswer } | { error: string };

export interface SinkPoster {
  post(request: SinkRequest): Promise<PostOutcome>;
  close(): Promise<void>;
}

/**
 * Posts to sinks over undici (keep-alive pools per origin, a timeout on every request, no
 * redirects: a redirect would carry the signed request somewhere else). Network errors are
 * described by their code only: undici's messages can name the address, never the path or query
 * that carry a robot's token, but nothing is left to chance.
 */
export class HttpSinkPoster implements SinkPoster {
  private readonly dispatcher: Dispatcher;

  constructor(private readonly timeoutMs = SINK_TIMEOUT_MS) {
    this.dispatcher = new Agent({
      keepAliveTimeout: 30_000,
      connections: 4,
      headersTimeout: timeoutMs,
      bodyTimeout: timeoutMs,
      connect: { timeout: timeoutMs },
    });
  }

  async post(req: SinkRequest): Promise<PostOutcome> {
    const url = new URL(req.url);
    try {
      const response = await request(this.dispatcher, {
        origin: url.origin,
        path: `${url.pathname}${url.search}`,
        method: 'POST',
        headers: { ...req.headers, 'user-agent': 'nightshift' },
        body: req.body,
        signal: AbortSignal.timeout(this.timeoutMs + 1_000),
      });
      const chunks: Buffer[] = [];
      let size = 0;
      for await (const chunk of response.body) {
        size += (chunk as Buffer).length;
        if (size > MAX_ANSWER_BYTES) break;
        chunks.push(chunk as Buffer);
      }
      if (size > MAX_ANSWER_BYTES) response.body.destroy();
      return {
        answer: {
          status: response.statusCode,
          headers: response.headers as SinkAnswer['headers'],
          body: Buffer.concat(chunks).toString('utf8'),
        },
      };
    } catch (error) {
      return { error: describe(error) };
    }
  }

  async close(): Promise<void> {
    await this.dispatcher.close().catch(() => undefined);
  }
}

function describe(error: unknown): string {
  if (
    error instanceof undiciErrors.HeadersTimeoutError ||
    error instanceof undiciErrors.BodyTimeoutError ||
    error instanceof undiciErrors.ConnectTimeoutError ||
    (error as Error)?.name === 'TimeoutError'
  )
    return 'no answer in time';
  const code =
    (error as NodeJS.ErrnoException)?.code ?? (error as { cause?: { code?: string } })?.cause?.code;
  return `network error${code ? ` (${code})` : ''}`;
}
