import { Agent, type Dispatcher } from 'undici';

/** A promise that never settles: what a killed process waits on. */
const never = <T>(): Promise<T> => new Promise<T>(() => {});

/**
 * A process that can be killed at an exact point, in this test process: its HTTP dispatcher and
 * its ledger. `killAfter` kills it just after the matching request has left (it reaches the
 * simulator); from then on nothing it does reaches the world: no request is dispatched, no
 * ledger call starts, and no ledger call under way returns to it (what was on disk stays on
 * disk). Its pending work simply never continues, as after SIGKILL.
 */
export class Killable {
  dead = false;
  private readonly agent: Agent;
  private match: ((request: { method: string; path: string }) => boolean) | undefined;
  private left = 0;

  constructor() {
    this.agent = new Agent({ connections: 32 });
  }

  /** Kill the process right after the `count`-th request matching `match` has been sent. */
  killAfter(match: (request: { method: string; path: string }) => boolean, count = 1): void {
    this.match = match;
    this.left = count;
  }

  /** The process's HTTP dispatcher: pass it to the upstream's `http.dispatcher`. */
  get dispatcher(): Dispatcher {
    const dispatch = (options: Dispatcher.DispatchOptions, handler: Dispatcher.DispatchHandler): boolean => {
      if (this.dead) return true; // never sent, never answered
      if (!this.match?.({ method: options.method, path: options.path }))
        return this.agent.dispatch(options, handler);
      // Killed just after the request is written to its connection (undici's onConnect runs in
      // the same synchronous run as the write): whatever that run does (the mark of the call
      // being sent) happens, as it would before a real SIGKILL could land.
      const legacy = handler as { onConnect?: (...args: unknown[]) => unknown };
      const wrapped = new Proxy(handler, {
        get: (target, property, receiver) => {
          if (property !== 'onConnect' || typeof legacy.onConnect !== 'function')
            return Reflect.get(target, property, receiver);
          return (...args: unknown[]) => {
            const result = legacy.onConnect!.apply(target, args);
            if (--this.left === 0) this.dead = true;
            return result;
          };
        },
      });
      return this.agent.dispatch(options, wrapped);
    };
    return new Proxy(this.agent, {
      get: (target, property, receiver) =>
        property === 'dispatch' ? dispatch : Reflect.get(target, property, receiver),
    });
  }

  /** The process's view of a ledger (or any store): frozen once it is dead. */
  ledger<T extends object>(inner: T): T {
    return new Proxy(inner, {
      get: (target, property) => {
        const value = Reflect.get(target, property, target) as unknown;
        if (typeof value !== 'function') return value;
        return (...args: unknown[]) => {
          if (this.dead) return never();
          const result = (value as (...a: unknown[]) => unknown).apply(target, args);
          if (!(result instanceof Promise)) return result;
          return result.then(
            (v) => (this.dead ? never() : v),
            (error) => (this.dead ? never() : Promise.reject(error)),
          );
        };
      },
    });
  }

  async close(): Promise<void> {
    await this.agent.destroy();
  }
}

/** Requests that change something upstream (not status reads, not tokens). */
export const isActionCall = ({ method, path }: { method: string; path: string }): boolean =>
  method !== 'GET' && !/batch-status|\/auth\/tokens/.test(path);
