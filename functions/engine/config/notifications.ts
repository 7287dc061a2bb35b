import * as z from 'zod';
import { EVENT_TYPES, typesMatching } from '../../events/cloudevent.ts';

/**
 * The `notifications` block: sinks (where messages go, each with the secret holding its URL and
 * signing secret), routes (which events go to which sink, for which targets) and the look-ahead
 * of `nightshift.action.upcoming`. Cross-references (a route's sink and targets) are checked in
 * `checkNotifications`, called from the config's cross-checks.
 */

export const SINK_TYPES = ['slack', 'teams', 'dingtalk', 'feishu', 'wecom', 'webhook'] as const;
export type SinkType = (typeof SINK_TYPES)[number];

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
const nameMessage = 'names use letters, digits, ".", "_" and "-", start with a letter or digit, at most 128';

const sink = z
  .strictObject({
    type: z.enum(SINK_TYPES, { error: `type must be one of ${SINK_TYPES.join(', ')}` }),
    secret: z
      .string()
      .min(1)
      .describe(
        'Secret holding the webhook URL (and signing secret): {"url"} for slack, teams, wecom; {"url", "signSecret"?} for dingtalk, feishu; {"url", "key"} for webhook',
      ),
    description: z.string().optional(),
  })
  .describe('Where messages go: a chat robot or a generic webhook');

const route = z
  .strictObject({
    sink: z.string().regex(NAME, nameMessage).describe('A sink of `sinks`'),
    events: z
      .array(z.string().min(1))
      .min(1, 'must name at least one event type, or leave "events" out for the default')
      .optional()
      .describe(
        'Event types, or prefixes ending in ".*" ("nightshift.override.*"), or "*"; default: failures, misses, drift and overrides',
      ),
    targets: z
      .array(z.string().regex(NAME, nameMessage))
      .min(1, 'must name at least one target or group, or leave "targets" out for all')
      .optional()
      .describe('Target and group names; default: every target'),
  })
  .describe('Which events go to a sink');

export const notificationsSchema = z
  .strictObject({
    upcomingMinutes: z
      .int()
      .min(0)
      .max(1440)
      .default(15)
      .describe(
        'How long before a scheduled state change nightshift.action.upcoming is sent (default 15; 0: never)',
      ),
    pageUrl: z
      .url({ protocol: /^https?$/, error: 'must be an http(s) URL' })
      .optional()
      .describe('The public URL of the Nightshift page: messages link to it'),
    sinks: z.record(z.string().regex(NAME, nameMessage), sink).default({}),
    routes: z.array(route).default([]),
  })
  .describe('Events to chat channels and webhooks (see docs/notifications.md)');

export type NotificationsConfig = z.output<typeof notificationsSchema>;

type Json = Record<string, unknown>;
const recordOf = (value: unknown): Json =>
  typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Json) : {};
const arrayOf = (value: unknown): unknown[] => (Array.isArray(value) ? value : []);

/**
 * Route references: the sink must exist, the targets must be targets or groups, and every event
 * pattern must match at least one event type. Reports through `add` with JSON paths; `suggest`
 * gives the config checker's "did you mean".
 */
export function checkNotifications(
  root: Json,
  add: (path: PropertyKey[], message: string) => void,
  suggest: (name: string, ...pools: Json[]) => string,
): void {
  const notifications = recordOf(root.notifications);
  const sinks = recordOf(notifications.sinks);
  const targets = recordOf(root.targets);
  const groups = recordOf(root.groups);
  arrayOf(notifications.routes).forEach((raw, r) => {
    const at = (...rest: PropertyKey[]) => ['notifications', 'routes', r, ...rest];
    const routeObject = recordOf(raw);
    if (typeof routeObject.sink === 'string' && !Object.hasOwn(sinks, routeObject.sink))
      add(at('sink'), `unknown sink "${routeObject.sink}"${suggest(routeObject.sink, sinks)}`);
    arrayOf(routeObject.targets).forEach((member, i) => {
      if (typeof member === 'string' && !Object.hasOwn(targets, member) && !Object.hasOwn(groups, member))
        add(at('targets', i), `unknown target or group "${member}"${suggest(member, targets, groups)}`);
    });
    arrayOf(routeObject.events).forEach((pattern, i) => {
      if (typeof pattern === 'string' && typesMatching(pattern).length === 0)
        add(
          at('events', i),
          `"${pattern}" matches no event type (the types: ${EVENT_TYPES.join(', ')}; a prefix ending in ".*", or "*")`,
        );
    });
  });
}

/** Sinks no route sends anything to: valid, but probably not meant. */
export function notificationWarnings(config: {
  notifications?: NotificationsConfig | undefined;
}): { path: string; message: string }[] {
  const notifications = config.notifications;
  if (!notifications) return [];
  const used = new Set(notifications.routes.map((r) => r.sink));
  return Object.keys(notifications.sinks)
    .filter((name) => !used.has(name))
    .map((name) => ({
      path: `notifications.sinks${/^[A-Za-z_$][\w$-]*$/.test(name) ? `.${name}` : `[${JSON.stringify(name)}]`}`,
      message: `no route sends anything to sink "${name}" (add {"sink": "${name}"} to notifications.routes)`,
    }));
}
