import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ErrorCode, HttpErrorCode } from '../../functions/engine/error-codes.ts';

/** Every .ts file under a folder. */
function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sources(path);
    return path.endsWith('.ts') ? [path] : [];
  });
}

describe('the error-code registry', () => {
  it('is the only place a NIGHTSHIFT.* code is spelled out in the code', () => {
    const offenders = sources('functions')
      .filter((path) => !path.endsWith(join('engine', 'error-codes.ts')))
      .filter((path) => /['"`]NIGHTSHIFT\.[A-Z_]+/.test(readFileSync(path, 'utf8')));
    expect(offenders).toEqual([]);
  });

  it('is documented whole in the error-code table of docs/error-codes.md', () => {
    // The reference moved from the README into docs/ (issue 20).
    const readme = readFileSync('docs/error-codes.md', 'utf8');
    const documented = new Set([...readme.matchAll(/^\| `(NIGHTSHIFT\.[A-Z_]+)` \|/gm)].map((m) => m[1]));
    expect([...Object.values(ErrorCode)].filter((code) => !documented.has(code))).toEqual([]);
    expect([...documented].filter((code) => !Object.values(ErrorCode).includes(code as never))).toEqual([]);
  });

  it('holds every code of an HTTP error answer, each documented in docs/http-api.md', () => {
    const codes = Object.values(HttpErrorCode) as string[];
    // Every `new HttpError(status, 'code'` and `error: { code: 'code'` in the code is one of them.
    // The code that answers HTTP (routes, the page, serve, the kept answers of the ledgers).
    const answering = ['api', 'page', 'local', 'handlers', 'stores'].flatMap((dir) =>
      sources(join('functions', dir)),
    );
    const spelled = answering.flatMap((path) => [
      ...readFileSync(path, 'utf8').matchAll(
        /new HttpError\(\s*\d{3},\s*'([a-z_]+)'|\bcode: '([a-z_]+)',?\s*message:/g,
      ),
    ]);
    const used = new Set(spelled.map((m) => m[1] ?? m[2]));
    expect(used.size).toBeGreaterThan(10);
    expect([...used].filter((code) => !codes.includes(code!))).toEqual([]);
    const doc = readFileSync('docs/http-api.md', 'utf8');
    expect(codes.filter((code) => !doc.includes(`\`${code}\``))).toEqual([]);
    // And the docs promise no code the registry lacks: `4xx code` / `5xx code` as they write them.
    const documented = [...doc.matchAll(/\b[45]\d\d `([a-z_]+)`/g)].map((m) => m[1]!);
    expect(documented.filter((code) => !codes.includes(code))).toEqual([]);
  });
});
