// Bundled by bench/cli.ts like the tick Lambda and run in a fresh process: the cold import of
// the tick handler's whole module graph, then what its first invocation does with the config
// AppConfig hands it (parse and validate, as AppConfigSource does) and the first evaluation of
// one minute (as runTick does).
import { readFileSync } from 'node:fs';
import { parseConfigText } from '../functions/engine/config/parse-text.ts';
import { due } from '../functions/engine/planner.ts';
import { handler } from '../functions/handlers/tick.ts';

export function evaluate(path: string, from: number): { handler: string; rows: number } {
  const config = parseConfigText(readFileSync(path, 'utf8'), path);
  return { handler: typeof handler, rows: due(config, from, from + 60_000).length };
}
