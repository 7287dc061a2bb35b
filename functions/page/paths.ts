/**
 * The page's paths, for the router to tell its routes from the API's without loading the page's
 * modules: those load on the first page request (`serve` and the api Lambda start without them).
 */
export const PAGE_PATHS: ReadonlySet<string> = new Set([
  '/',
  '/signin',
  '/signout',
  '/overrides',
  '/overrides/remove',
]);
