import { parseIsoInstant } from '../engine/overrides.ts';
import { monthStart, SavingsRequestError, savingsReport, zoneOfConfig } from '../engine/savings-report.ts';
import { type ApiRequest, type ApiResponse, HttpError, json } from './router.ts';
import type { StateRouteDeps } from './state-routes.ts';

/**
 * `GET /v1/savings?from=&to=&target=a,b` (signed; the router authenticates first): the savings
 * report. `from` defaults to the start of this month in the config's zone, `to` to now; both are
 * ISO 8601 instants with a zone. 400 for a bad range, 404 for an unknown target.
 */
export async function savings(request: ApiRequest, deps: StateRouteDeps): Promise<ApiResponse> {
  const { query } = request;
  const instant = (name: 'from' | 'to', fallback: number): number => {
    const text = query[name];
    if (text === undefined || text === '') return fallback;
    const ms = parseIsoInstant(text);
    if (ms === undefined) {
      // `?from=2027-03-01T00:00:00+08:00` as typed into curl: the + arrives as a space.
      const plus =
        / \d{2}:?\d{2}$/.test(text) && parseIsoInstant(text.replace(/ (?=\d{2}:?\d{2}$)/, '+')) !== undefined;
      throw new HttpError(
        400,
        'bad_request',
        `${name} must be an ISO 8601 instant with a zone, got "${text}"${plus ? ' (send a + in a query as %2B)' : ''}`,
      );
    }
    return ms;
  };
  const from = instant('from', monthStart(zoneOfConfig(deps.config), deps.now));
  const to = instant('to', deps.now);
  if (to <= from) {
    // Either may be a default the caller never wrote: name both, and which one is.
    const given = (name: 'from' | 'to') => query[name] !== undefined && query[name] !== '';
    const label = (name: 'from' | 'to', ms: number, fallback: string) =>
      `${name} (${new Date(ms).toISOString()}${given(name) ? '' : `, by default ${fallback}`})`;
    throw new HttpError(
      400,
      'bad_request',
      `${label('to', to, 'now')} must be later than ${label('from', from, 'the start of this month')}`,
    );
  }
  const targets = query.target ? query.target.split(',').filter((t) => t !== '') : undefined;
  try {
    const report = await savingsReport({
      config: deps.config,
      ledger: deps.ledger,
      from,
      to,
      now: deps.now,
      ...(targets && targets.length > 0 ? { targets } : {}),
    });
    return json(200, report);
  } catch (error) {
    if (error instanceof SavingsRequestError)
      throw new HttpError(
        error.reason === 'not-found' ? 404 : 400,
        error.reason === 'not-found' ? 'not_found' : 'bad_request',
        error.message,
      );
    throw error;
  }
}
