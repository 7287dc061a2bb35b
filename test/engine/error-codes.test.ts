import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ErrorCode } from '../../functions/engine/error-codes.ts';

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
});
