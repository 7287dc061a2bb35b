import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Block, runBlocks, runnableBlocks } from '../helpers/runnable.ts';

const repo = process.cwd();
const docs = [
  'README.md',
  ...readdirSync('docs')
    .filter((n) => n.endsWith('.md'))
    .map((n) => join('docs', n)),
];
const withBlocks = docs.filter((file) => runnableBlocks(file).length > 0);

/** Untracked files git would show: nothing a doc's commands do may add to them. */
const untracked = () =>
  execFileSync('git', ['-C', repo, 'status', '--porcelain', '--untracked-files=all']).toString();

describe('every command marked runnable in the README and docs/', () => {
  let before = '';
  beforeAll(() => {
    before = untracked();
  });
  afterAll(() => {
    // Nothing leaked into the checkout itself (an absolute path, a cd ..).
    expect(untracked()).toBe(before);
  });

  it('the README walks a newcomer through with runnable commands, and under 400 lines', () => {
    const readme = runnableBlocks('README.md');
    expect(readme.length).toBeGreaterThanOrEqual(6);
    expect(readme.filter((b) => b.background)).toHaveLength(1);
    // Finding 4 (issue 20): the README was 1,252 lines; the reference lives in docs/, linked.
    const text = readFileSync('README.md', 'utf8');
    expect(text.split('\n').length).toBeLessThan(400);
    const pages = readdirSync('docs').filter((n) => n.endsWith('.md'));
    expect(pages.filter((page) => !text.includes(`(docs/${page})`))).toEqual([]);
    // The newcomer's path comes first: quick start, the model, the walk-throughs, then deploy.
    const order = [
      '## Quick start',
      '## The model',
      '## Three walk-throughs',
      '## Deploy to AWS',
      '## Reference',
    ];
    const at = order.map((heading) => text.indexOf(heading));
    expect(at.every((i) => i > 0)).toBe(true);
    expect([...at].sort((a, b) => a - b)).toEqual(at);
  });

  it('every link between the README and docs/ points at a file and a heading that exist', () => {
    const broken: string[] = [];
    for (const file of docs) {
      const text = readFileSync(file, 'utf8').replace(/```[\s\S]*?```/g, '');
      for (const [, target] of text.matchAll(/\]\(([^)\s]+)\)/g)) {
        if (/^[a-z]+:/.test(target!)) continue;
        const [path, hash] = target!.split('#') as [string, string | undefined];
        const resolved = path === '' ? file : join(dirname(file), path);
        if (!existsSync(resolved)) broken.push(`${file}: ${target}`);
        else if (hash !== undefined && resolved.endsWith('.md') && !headingSlugs(resolved).has(hash))
          broken.push(`${file}: ${target}`);
      }
    }
    expect(broken).toEqual([]);
  });

  it.concurrent.each(withBlocks)(
    '%s: runs as written, on the demo clock where it says so, writing only git-ignored files',
    async (file) => {
      const report = await runBlocks(runnableBlocks(file), repo);
      expect(report.failures).toEqual([]);
      expect(report.strayFiles).toEqual([]);
      expect(report.ran).toBe(runnableBlocks(file).length);
    },
    120_000,
  );

  it('catches a recipe that writes into the checkout (the old README wrote sim-schedule.json at the root)', async () => {
    const block = (code: string): Block => ({
      file: join(repo, 'example.md'),
      line: 1,
      code,
      background: false,
    });
    const report = await runBlocks(
      [
        block(`node -e 'require("fs").writeFileSync("sim-schedule.json", "{}")'`),
        block(`mkdir -p .nightshift && echo '{}' > .nightshift/sim-schedule.json`),
      ],
      repo,
    );
    expect(report.failures).toEqual([]);
    expect(report.strayFiles).toEqual(['sim-schedule.json']);
  });

  it('names the file and line of a command that fails, and stops there', async () => {
    const file = join(repo, 'example.md');
    const report = await runBlocks(
      [
        { file, line: 3, code: 'npx nightshift plan --from yesterday', background: false },
        { file, line: 9, code: 'echo never', background: false },
      ],
      repo,
    );
    expect(report.ran).toBe(1);
    expect(report.failures).toEqual([
      expect.stringMatching(/^example\.md:3: exit 2\n[\s\S]*--from must be an ISO 8601 instant/),
    ]);
  });
});

/** The anchors GitHub gives a Markdown file's headings. */
function headingSlugs(file: string): Set<string> {
  const text = readFileSync(file, 'utf8').replace(/```[\s\S]*?```/g, '');
  return new Set(
    [...text.matchAll(/^#{1,6} (.+)$/gm)].map(([, heading]) =>
      heading!
        .toLowerCase()
        .replace(/[^\p{L}\p{N}\s_-]/gu, '')
        .replace(/ /g, '-'),
    ),
  );
}
