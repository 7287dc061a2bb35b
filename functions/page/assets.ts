import { createHash } from 'node:crypto';
import { PAGE_SCRIPT, PAGE_STYLE } from './assets.generated.ts';

export { PAGE_SCRIPT, PAGE_STYLE };

const hash = (text: string) => `'sha256-${createHash('sha256').update(text).digest('base64')}'`;

/**
 * The page's Content-Security-Policy: nothing from any other origin, and of inline code only the
 * page's own script and style sheet, by hash. Forms post to the page itself; no frame may hold it.
 */
export const PAGE_CSP = [
  "default-src 'none'",
  `script-src ${hash(PAGE_SCRIPT)}`,
  `style-src ${hash(PAGE_STYLE)}`,
  "img-src 'self' data:",
  "connect-src 'self'",
  "form-action 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
].join('; ');
