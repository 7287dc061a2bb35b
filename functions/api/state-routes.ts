import * as z from 'zod';
import type { Config } from '../engine/config/schema.ts';
import type { Upstream } from '../engine/executor.ts';
import type { Ledger } from '../engine/ledger.ts';
import { makeOverride, OVERRIDE_STATES, OverrideError, parseIsoInstant } from '../engine/overrides.ts';
import { targetStatuses } from '../engine/status.ts';
import type { Log } from '../observability/log.ts';
import { type ApiRequest, type ApiResponse, HttpError, json, parseBody } from './router.ts';

/**
 * The routes of "Overrides" and "Status and history": `POST/GET /v1/overrides`,
 * `DELETE /v1/overrides/{id}`, `GET /v1/status`, `GET /v1/history`. The router authenticates
 * the request before calling any of these.
 */
export interface StateRouteDeps {
  config: Config;
  ledger: Ledger;
  upstream: Upstream;
  now: number;
  log: Log;
}

const MAX_HISTORY_LIMIT = 1000;

const overrideBody = z.strictObject({
  targets: z.array(z.string().min(1)).min(1, 'targets must name at least one target').max(1000).optional(),
  schedule: z.string().min(1).optional(),
  state: z.enum(OVERRIDE_STATES, { error: `state must be one of ${OVERRIDE_STATES.join(', ')}` }),
  until: z.string({ error: 'until is required (an ISO 8601 instant)' }),
  from: z.string().optional(),
  reason: z.string({ error: 'reason is required' }).min(1, 'reason is required').max(1000),
  createdBy: z.string().min(1).max(200).optional(),
});

function badRequest(message: string): HttpError {
  return new HttpError(400, 'bad_request', message);
}

export async function createOverride(request: ApiRequest, deps: StateRouteDeps): Promise<ApiResponse> {
  const body = parseBody(request, overrideBody);
  let override: ReturnType<typeof makeOverride>;
  try {
    override = makeOverride(deps.config, body, deps.now);
  } catch (error) {
    if (!(error instanceof OverrideError)) throw error;
    if (error.reason === 'not-found') throw new HttpError(404, 'not_found', error.message);
    if (error.reason === 'unsupported') throw new HttpError(422, 'unsupported_state', error.message);
    throw badRequest(error.message);
  }
  await deps.ledger.putOverride(override);
  deps.log.info('override created', { ...override });
  return json(201, override);
}

export async function listOverrides(deps: StateRouteDeps): Promise<ApiResponse> {
  return json(200, { overrides: await deps.ledger.overrides(deps.now) });
}

export async function deleteOverride(id: string, deps: StateRouteDeps): Promise<ApiResponse> {
  const removed = await deps.ledger.removeOverride(id);
  if (!removed) throw new HttpError(404, 'not_found', `no override "${id}"`);
  deps.log.info('override removed', { id, targets: removed.targets });
  return json(200, removed);
}

/** `target` may be given as a comma list (`?target=a,b`): the query holds one value per name. */
function targetsOf(query: ApiRequest['query'], config: Config): string[] | undefined {
  const text = query.target;
  if (text === undefined || text === '') return undefined;
  const names = text.split(',').filter((n) => n !== '');
  const unknown = names.filter((n) => !Object.hasOwn(config.targets, n));
  if (unknown.length > 0)
    throw new HttpError(404, 'not_found', `unknown target ${unknown.map((n) => `"${n}"`).join(', ')}`);
  return names;
}

export async function status(request: ApiRequest, deps: StateRouteDeps): Promise<ApiResponse> {
  const targets = targetsOf(request.query, deps.config);
  const statuses = await targetStatuses({
    config: deps.config,
    overrides: await deps.ledger.overrides(deps.now),
    upstream: deps.upstream,
    ledger: deps.ledger,
    now: deps.now,
    ...(targets ? { targets } : {}),
  });
  return json(200, { targets: statuses });
}

export async function history(request: ApiRequest, deps: StateRouteDeps): Promise<ApiResponse> {
  const { query } = request;
  const targets = targetsOf(query, deps.config);
  if (targets && targets.length > 1) throw badRequest('history takes one target');
  const limitText = query.limit ?? '100';
  const limit = Number(limitText);
  if (!/^\d+$/.test(limitText) || limit < 1 || limit > MAX_HISTORY_LIMIT)
    throw badRequest(`limit must be a whole number from 1 to ${MAX_HISTORY_LIMIT}`);
  let since: number | undefined;
  if (query.since !== undefined && query.since !== '') {
    since = parseIsoInstant(query.since);
    if (since === undefined)
      throw badRequest(`since must be an ISO 8601 instant with a zone, got "${query.since}"`);
  }
  const entries = await deps.ledger.history({
    limit,
    ...(targets ? { target: targets[0]! } : {}),
    ...(since === undefined ? {} : { since }),
  });
  // The ledger reads oldest first; people read the latest first.
  return json(200, { entries: entries.reverse() });
}

export { handsOffTargets, withHandsOff } from '../engine/on-demand.ts';
