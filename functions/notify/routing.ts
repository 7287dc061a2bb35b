import type { Config } from '../engine/config/schema.ts';
import { expandTargetNames } from '../engine/config/validate.ts';
import { type CloudEvent, DEFAULT_ROUTE_EVENTS, TEST_EVENT_TYPE, typeMatches } from '../events/cloudevent.ts';
import { targetsOfEvent } from '../events/make.ts';

interface CompiledRoute {
  sink: string;
  events: readonly string[];
  /** Undefined: every target. */
  targets?: ReadonlySet<string>;
}

const compiled = new WeakMap<Config, CompiledRoute[]>();

function routesOf(config: Config): CompiledRoute[] {
  let routes = compiled.get(config);
  if (!routes) {
    const sinks = config.notifications?.sinks ?? {};
    routes = (config.notifications?.routes ?? [])
      .filter((route) => Object.hasOwn(sinks, route.sink))
      .map((route) => ({
        sink: route.sink,
        events: route.events ?? DEFAULT_ROUTE_EVENTS,
        ...(route.targets
          ? { targets: new Set(expandTargetNames(route.targets, config.targets, config.groups)) }
          : {}),
      }));
    compiled.set(config, routes);
  }
  return routes;
}

/**
 * The sinks an event goes to: every route whose event patterns match its type and whose targets
 * (groups expanded) include one of the event's targets. A route without `events` takes failures,
 * misses, drift and overrides; without `targets`, every target (and events about none, such as
 * a failing ledger). Each sink once, in the order the routes name them.
 */
export function sinksFor(config: Config, event: CloudEvent): string[] {
  if (event.type === TEST_EVENT_TYPE) return [];
  const sinks: string[] = [];
  let targets: string[] | undefined;
  for (const route of routesOf(config)) {
    if (sinks.includes(route.sink)) continue;
    if (!route.events.some((pattern) => typeMatches(pattern, event.type))) continue;
    if (route.targets) {
      targets ??= targetsOfEvent(event);
      if (!targets.some((t) => route.targets!.has(t))) continue;
    }
    sinks.push(route.sink);
  }
  return sinks;
}
