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

type LegacyHandler = Dispatcher.DispatchHandler & Record<string, unknown>;

/** The handler methods undici calls on a request's handler once it is dispatched. */
const HANDLER_METHODS = [
  'onResponseStarted',
  'onHeaders',
  'onData',
  'onComplete',
  'onError',
  'onUpgrade',
  'onBodySent',
  'onRequestSent',
] as const;

/**
 * `dispatcher`, telling `sending` synchronously at the last moment before a request's bytes are
 * written to its connection: undici calls a handler's `onConnect` in the same synchronous run
 * as the socket write (after any wait for a connection), so nothing can happen in between but
 * the request line being built. If `sending` throws, undici fails the request with that error
 * and writes nothing. For `request(...)`, which only calls `dispatch` on its `this`.
 */
export function announcing(dispatcher: Dispatcher, sending: () => void): Dispatcher {
  return {
    dispatch(options: Dispatcher.DispatchOptions, handler: Dispatcher.DispatchHandler): boolean {
      const inner = handler as LegacyHandler;
      const outer: LegacyHandler = {
        onConnect(abort: (err?: Error) => void, context?: unknown) {
          sending();
          return (inner.onConnect as (a: typeof abort, c?: unknown) => void)?.call(inner, abort, context);
        },
      };
      for (const method of HANDLER_METHODS) {
        const fn = inner[method];
        if (typeof fn === 'function') outer[method] = (...args: unknown[]) => fn.apply(inner, args);
      }
      return dispatcher.dispatch(options, outer);
    },
  } as unknown as Dispatcher;
}
