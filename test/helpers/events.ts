import type { APIGatewayProxyEventV2 } from 'aws-lambda';

/** An API Gateway HTTP API (payload format 2.0) event, as Lambda receives it. */
export function httpApiEvent(options: {
  method: string;
  path: string;
  headers?: Record<string, string>;
  body?: string;
  base64?: boolean;
  query?: Record<string, string>;
  stage?: string;
}): APIGatewayProxyEventV2 {
  const stage = options.stage ?? '$default';
  const rawPath = stage === '$default' ? options.path : `/${stage}${options.path}`;
  const rawQueryString = new URLSearchParams(options.query ?? {}).toString();
  return {
    version: '2.0',
    routeKey: '$default',
    rawPath,
    rawQueryString,
    headers: {
      accept: '*/*',
      'content-length': String(options.body ? Buffer.byteLength(options.body) : 0),
      host: 'abc123.execute-api.eu-central-1.amazonaws.com',
      'user-agent': 'curl/8.5.0',
      'x-amzn-trace-id': 'Root=1-65f1c2d3-0123456789abcdef01234567',
      'x-forwarded-for': '203.0.113.7',
      'x-forwarded-port': '443',
      'x-forwarded-proto': 'https',
      ...options.headers,
    },
    ...(options.query ? { queryStringParameters: options.query } : {}),
    requestContext: {
      accountId: '123456789012',
      apiId: 'abc123',
      domainName: 'abc123.execute-api.eu-central-1.amazonaws.com',
      domainPrefix: 'abc123',
      http: {
        method: options.method,
        path: rawPath,
        protocol: 'HTTP/1.1',
        sourceIp: '203.0.113.7',
        userAgent: 'curl/8.5.0',
      },
      requestId: `req-${Math.random().toString(36).slice(2)}`,
      routeKey: '$default',
      stage,
      time: '29/Mar/2027:05:00:00 +0000',
      timeEpoch: 1806200400000,
    },
    ...(options.body === undefined
      ? { isBase64Encoded: false }
      : {
          body: options.base64 ? Buffer.from(options.body).toString('base64') : options.body,
          isBase64Encoded: options.base64 ?? false,
        }),
  } as APIGatewayProxyEventV2;
}

/** The input the stack's EventBridge Scheduler schedule sends the tick Lambda. */
export const schedulerEvent = (scheduledTime: string) => ({ scheduledTime });
