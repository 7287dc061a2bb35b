/**
 * The parts of undici the HTTP client uses, imported from their own modules: undici's index also
 * loads fetch, WebSocket, caches and mocks, which would more than double the Lambda bundles.
 * Pinned in package.json; the tests exercise every one of these over loopback.
 */
import type { Agent as AgentType, Dispatcher } from 'undici';
import requestModule from 'undici/lib/api/api-request.js';
import errorsModule from 'undici/lib/core/errors.js';
import AgentModule from 'undici/lib/dispatcher/agent.js';

export const Agent = AgentModule as unknown as typeof AgentType;
export type { Dispatcher };

type RequestFn = (this: Dispatcher, options: Dispatcher.RequestOptions) => Promise<Dispatcher.ResponseData>;
const requestFn = requestModule as unknown as RequestFn;

/** `dispatcher.request(options)` without relying on undici's index to add it to the prototype. */
export function request(
  dispatcher: Dispatcher,
  options: Dispatcher.RequestOptions,
): Promise<Dispatcher.ResponseData> {
  return requestFn.call(dispatcher, options);
}

export const errors = errorsModule as unknown as typeof import('undici').errors;
