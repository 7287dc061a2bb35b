import { Worker } from 'node:worker_threads';
import type { Config } from '../functions/engine/config/schema.ts';
import type { SimulatorOptions, ViasState } from '../functions/local/simulator.ts';

/**
 * The Huawei simulator run in a worker thread, driven by messages. A simulator in the measured
 * process would spend that process's event loop parsing and answering requests, which a real
 * upstream does elsewhere; the figures would count its work as Nightshift's.
 */
export class RemoteSimulator {
  private readonly worker: Worker;
  private next = 0;
  private readonly waiting = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();

  constructor(options: SimulatorOptions) {
    // The bench runs under tsx, whose loader a worker does not inherit: it loads the module itself.
    const entry = new URL('./simulator-worker.ts', import.meta.url).href;
    this.worker = new Worker(
      `import('tsx/esm/api').then(({ tsImport }) => tsImport(${JSON.stringify(entry)}, ${JSON.stringify(entry)}))`,
      { eval: true, workerData: options },
    );
    this.worker.on('message', ({ id, result, error }: { id: number; result?: unknown; error?: string }) => {
      const waiter = this.waiting.get(id);
      this.waiting.delete(id);
      if (error !== undefined) waiter?.reject(new Error(`simulator worker: ${error}`));
      else waiter?.resolve(result);
    });
    this.worker.on('error', (error) => {
      for (const waiter of this.waiting.values()) waiter.reject(error);
      this.waiting.clear();
    });
  }

  private call<T>(method: string, ...args: unknown[]): Promise<T> {
    const id = this.next++;
    return new Promise<T>((resolve, reject) => {
      this.waiting.set(id, { resolve: resolve as (v: unknown) => void, reject });
      this.worker.postMessage({ id, method, args });
    });
  }

  start = (): Promise<string> => this.call('start');
  seed = (config: Config): Promise<void> => this.call('seed', config);
  addToken = (token: string, projectId: string): Promise<void> => this.call('addToken', token, projectId);
  addViasTask = (projectId: string, taskId: string, state: ViasState): Promise<void> =>
    this.call('addViasTask', projectId, taskId, state);
  /** Requests received so far. */
  requestCount = (): Promise<number> => this.call('requestCount');
  peakInFlight = (): Promise<number> => this.call('peakInFlight');

  async stop(): Promise<void> {
    await this.call('stop');
    await this.worker.terminate();
  }
}
