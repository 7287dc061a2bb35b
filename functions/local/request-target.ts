/**
 * The HTTP request target as the local runtime hands it to the router: the same path and query
 * that API Gateway (HTTP API, payload 2.0) gives the Lambda, so a route answers alike in both.
 */

/**
 * Path and query of a request target. Origin-form (`/v1/plan?hours=2`) is split by hand: a
 * target such as `//[` is a valid request line that `new URL` refuses to parse. Absolute-form
 * targets go through `URL`; anything else is refused (undefined).
 */
export function parseTarget(target: string): { path: string; query: Record<string, string> } | undefined {
  let path: string;
  let search: string;
  if (target.startsWith('/')) {
    const q = target.indexOf('?');
    path = q === -1 ? target : target.slice(0, q);
    search = q === -1 ? '' : target.slice(q + 1);
  } else {
    try {
      const url = new URL(target);
      if (url.protocol !== 'http:' && url.protocol !== 'https:') return undefined;
      path = url.pathname;
      search = url.search.slice(1);
    } catch {
      return undefined;
    }
  }
  // A repeated parameter's values joined with commas, as API Gateway (payload 2.0) joins them.
  const query = new Map<string, string>();
  for (const [name, value] of new URLSearchParams(search)) {
    const earlier = query.get(name);
    query.set(name, earlier === undefined ? value : `${earlier},${value}`);
  }
  return { path, query: Object.fromEntries(query) };
}
