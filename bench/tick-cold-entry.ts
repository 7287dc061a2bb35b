// Bundled by bench/cli.ts like the tick Lambda and run in a fresh process: the cold import of
// the tick handler's whole module graph, then the first evaluation of one minute (as runTick
// does), compile included. Between them the config is read and validated (as AppConfigSource
// does); the bench reports that time apart.
import { readFileSync } from 'node:fs';
import { parseConfigText } from '../functions/engine/config/parse-text.ts';
import type { Config } from '../functions/engine/config/schema.ts';
import { latestEdges } from '../functions/engine/desired.ts';
import { due } from '../functions/engine/planner.ts';
import { handler } from '../functions/handlers/tick.ts';

export const handlerType = typeof handler;

export function load(path: string): Config {
  return parseConfigText(readFileSync(path, 'utf8'), path);
}

export function evaluate(config: Config, from: number): number {
  return due(config, from, from + 60_000).length;
}

/** The desired-state look-back a first tick also makes (reported apart: it scans back by days). */
export function edges(config: Config, at: number): number {
  return latestEdges(config, at).size;
}
