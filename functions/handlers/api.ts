import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import { Router } from '../api/router.ts';
import { type AwsContext, awsContext } from './aws-context.ts';
import { recordResultMetrics } from './metrics.ts';

let router: Router | undefined;

function routerFor(ctx: AwsContext): Router {
  router ??= new Router({
    config: () => ctx.config.get(),
    secrets: ctx.secrets,
    ...(ctx.settings.webhookSecret ? { webhookSecret: ctx.settings.webhookSecret } : {}),
    upstream: ctx.upstream,
    ledger: ctx.ledger,
    log: ctx.log,
    onResults: (results) => recordResultMetrics(ctx.metrics, results),
  });
  return router;
}

/** API Gateway HTTP API (payload v2) to the shared router. */
export const handler = async (
  event: APIGatewayProxyEventV2,
  context?: Pick<Context, 'getRemainingTimeInMillis'>,
): Promise<APIGatewayProxyStructuredResultV2> => {
  // The router answers before the function times out (API Gateway would give a bare 503/504).
  const deadline = context ? Date.now() + context.getRemainingTimeInMillis() : undefined;
  const ctx = awsContext();
  const requestId = event.requestContext.requestId;
  ctx.log.logger.appendKeys({ correlationId: requestId });
  try {
    const stage = event.requestContext.stage;
    // With a named stage the raw path starts with it; the routes do not.
    const path =
      stage && stage !== '$default' && event.rawPath.startsWith(`/${stage}/`)
        ? event.rawPath.slice(stage.length + 1)
        : event.rawPath;
    const headers: Record<string, string | undefined> = {};
    for (const [name, value] of Object.entries(event.headers ?? {})) headers[name.toLowerCase()] = value;
    // Payload 2.0 moves the Cookie header into `cookies` (the page's session cookie).
    if (event.cookies?.length) headers.cookie = event.cookies.join('; ');
    const answer = await routerFor(ctx).handle({
      method: event.requestContext.http.method,
      path,
      // As the client sent it (a named stage included), for the signature.
      target: event.rawQueryString ? `${event.rawPath}?${event.rawQueryString}` : event.rawPath,
      query: event.queryStringParameters ?? {},
      headers,
      body:
        event.body === undefined
          ? Buffer.alloc(0)
          : Buffer.from(event.body, event.isBase64Encoded ? 'base64' : 'utf8'),
      requestId,
      ...(deadline === undefined ? {} : { deadline }),
    });
    // A cookie the page sets goes in `cookies`, where payload 2.0 expects it.
    const { 'set-cookie': cookie, ...rest } = answer.headers;
    return {
      statusCode: answer.status,
      headers: rest,
      body: answer.body,
      ...(cookie === undefined ? {} : { cookies: [cookie] }),
    };
  } finally {
    ctx.metrics.publishStoredMetrics();
    ctx.log.logger.removeKeys(['correlationId']);
  }
};

/** Forgets the container's router: for tests. */
export function resetApiHandler(): void {
  router = undefined;
}
