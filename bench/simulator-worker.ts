import { parentPort, workerData } from 'node:worker_threads';
import { HuaweiSimulator } from '../functions/local/simulator.ts';

/**
 * The simulator in a worker thread (see remote-simulator.ts): its own event loop, as a real
 * upstream would be, so the figures measure Nightshift's work and not the simulator's.
 */
const sim = new HuaweiSimulator(workerData as ConstructorParameters<typeof HuaweiSimulator>[0]);
type Method = 'start' | 'stop' | 'seed' | 'addToken' | 'addViasTask' | 'requestCount' | 'peakInFlight';

parentPort!.on('message', async ({ id, method, args }: { id: number; method: Method; args: unknown[] }) => {
  try {
    let result: unknown;
    if (method === 'requestCount') result = sim.requests.length;
    else if (method === 'peakInFlight') result = sim.peakInFlight;
    else result = await (sim[method] as (...a: unknown[]) => unknown).apply(sim, args);
    parentPort!.postMessage({ id, result });
  } catch (error) {
    parentPort!.postMessage({ id, error: String(error) });
  }
});
