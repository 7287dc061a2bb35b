import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

/** docs/guarantees.md names, for each guarantee, the test that proves it: those must exist. */
describe('docs/guarantees.md', () => {
  const text = readFileSync('docs/guarantees.md', 'utf8');
  const bullets = text
    .split(/\n- /)
    .slice(1)
    .map((b) => b.split(/\n\n/)[0]!.replace(/\s+/g, ' '));
  const proved = bullets.filter((b) => /`test\/\S+\.ts`/.test(b));

  it('names a test for every guarantee with a finding, and every finding 1-14 has one', () => {
    const findings = new Set(proved.flatMap((b) => [...b.matchAll(/\[(\d+)\]/g)].map((m) => Number(m[1]))));
    expect([...findings].sort((a, b) => a - b)).toEqual(Array.from({ length: 14 }, (_, i) => i + 1));
  });

  it('every test it names exists, in the file it says', () => {
    const missing: string[] = [];
    for (const bullet of proved) {
      const files = [...bullet.matchAll(/`(test\/\S+\.ts)`/g)].map((m) => m[1]!);
      const sources = files.map((f) => (existsSync(f) ? readFileSync(f, 'utf8').replace(/\s+/g, ' ') : ''));
      for (const f of files) if (!existsSync(f)) missing.push(f);
      // Quoted names, cut at an ellipsis: each must open a test (or describe) name in those files.
      for (const [, quoted] of bullet.matchAll(/"([^"]+)"/g)) {
        const name = quoted!.split('…')[0]!.replace(/[:;,]?\s*$/, '');
        if (!sources.some((s) => s.includes(`'${name}`) || s.includes(`'${name.replace(/'/g, '’')}`)))
          missing.push(`${files.join(', ')}: "${name}"`);
      }
    }
    expect(missing).toEqual([]);
  });
});
