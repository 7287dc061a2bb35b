import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import {
  cpSync,
  existsSync,
  lstatSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';

/**
 * Runs the shell blocks a Markdown file marks runnable (```` ```sh runnable ```` and
 * ```` ```sh runnable background ````), as a reader would: in order, in one shell session (what a
 * block exports, the next one has), in a scratch folder that looks like the checkout (a copy of
 * `config/`, links to the rest), with `npx nightshift` running the checkout's bin. The port 8787
 * of the blocks becomes a free one, which `serve` reads from NIGHTSHIFT_PORT, so a developer's
 * own `npm start` does not collide.
 */

export interface Block {
  file: string;
  /** 1-based line of the opening fence. */
  line: number;
  code: string;
  background: boolean;
}

export function runnableBlocks(file: string, text = readFileSync(file, 'utf8')): Block[] {
  const blocks: Block[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const open = /^```(?:sh|bash)\s+runnable(\s+background)?\s*$/.exec(lines[i]!);
    if (!open) continue;
    const start = i;
    const body: string[] = [];
    for (i++; i < lines.length && !lines[i]!.startsWith('```'); i++) body.push(lines[i]!);
    blocks.push({ file, line: start + 1, code: body.join('\n'), background: open[1] !== undefined });
  }
  return blocks;
}

export interface RunReport {
  /** Problems, each naming the file and line of its block; empty when everything ran. */
  failures: string[];
  /** Files the blocks wrote that git would not ignore in a checkout. */
  strayFiles: string[];
  ran: number;
}

/** What the scratch folder links to in the checkout; `config/` is copied, so edits stay here. */
const LINKED = [
  'bin',
  'functions',
  'lib',
  'scripts',
  'simulation',
  'test',
  'node_modules',
  'dist',
  'package.json',
  'package-lock.json',
  'tsconfig.json',
  'cdk.json',
];

export async function runBlocks(blocks: readonly Block[], repo: string): Promise<RunReport> {
  const dir = mkdtempSync(join(tmpdir(), 'nightshift-docs-'));
  for (const name of LINKED) if (existsSync(join(repo, name))) symlinkSync(join(repo, name), join(dir, name));
  cpSync(join(repo, 'config'), join(dir, 'config'), { recursive: true });
  const before = new Set(filesUnder(dir));
  const port = await freePort();
  const envFile = join(dir, '.runnable-env');
  writeFileSync(envFile, '');
  const env: Record<string, string> = {};
  for (const [name, value] of Object.entries(process.env))
    if (value !== undefined && !name.startsWith('NIGHTSHIFT_')) env[name] = value;
  env.NIGHTSHIFT_PORT = String(port);
  const prelude = [
    'set -euo pipefail',
    `npx() { if [ "\${1:-}" = nightshift ]; then shift; node ${JSON.stringify(join(repo, 'bin', 'nightshift.mjs'))} "$@"; else command npx "$@"; fi; }`,
    `source ${JSON.stringify(envFile)}`,
  ].join('\n');
  const failures: string[] = [];
  const background: { child: ChildProcess; block: Block; output: () => string }[] = [];
  let ran = 0;
  try {
    for (const block of blocks) {
      const code = block.code.replaceAll(':8787', `:${port}`);
      const where = `${relative(repo, block.file)}:${block.line}`;
      ran++;
      if (block.background) {
        const child = spawn('bash', ['-c', `${prelude}\n${code}`], {
          cwd: dir,
          env,
          detached: true,
          stdio: ['ignore', 'pipe', 'pipe'],
        });
        let output = '';
        child.stdout!.on('data', (chunk) => (output += chunk));
        child.stderr!.on('data', (chunk) => (output += chunk));
        background.push({ child, block, output: () => output });
        const started = await waitFor(
          () => /Nightshift is serving/.test(output),
          () => child.exitCode !== null,
          45_000,
        );
        if (!started) {
          failures.push(`${where}: the background block did not start serving:\n${output.slice(-3000)}`);
          break;
        }
        continue;
      }
      const result = await run(
        'bash',
        ['-c', `${prelude}\n${code}\nexport -p | grep '^declare -x ' > ${JSON.stringify(envFile)}`],
        dir,
        env,
      );
      if (result.code !== 0) {
        failures.push(`${where}: exit ${result.code}\n${result.output.slice(-4000)}`);
        break;
      }
    }
  } finally {
    await Promise.all(background.map(({ child }) => stop(child)));
  }
  const strayFiles = filesUnder(dir)
    .filter((path) => !before.has(path) && path !== '.runnable-env')
    .filter((path) => !ignoredByGit(repo, path));
  return { failures, strayFiles, ran };
}

/** Files under a folder, relative to it, not following the links to the checkout. */
function filesUnder(root: string, sub = ''): string[] {
  const out: string[] = [];
  for (const name of readdirSync(join(root, sub))) {
    const path = sub ? `${sub}/${name}` : name;
    // A process a block started may still be writing (a lease's temporary file, gone a moment
    // later): a name that vanished between the listing and its stat is skipped.
    const stat = lstatSync(join(root, path), { throwIfNoEntry: false });
    if (!stat || stat.isSymbolicLink()) continue;
    if (stat.isDirectory()) out.push(...filesUnder(root, path));
    else out.push(path);
  }
  return out;
}

/** Whether git would ignore this path in the checkout (the file need not exist there). */
function ignoredByGit(repo: string, path: string): boolean {
  try {
    execFileSync('git', ['-C', repo, 'check-ignore', '--no-index', '-q', path], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

function run(
  command: string,
  args: string[],
  cwd: string,
  env: Record<string, string>,
): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk) => (output += chunk));
    child.stderr.on('data', (chunk) => (output += chunk));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, output }));
  });
}

async function waitFor(ready: () => boolean, gone: () => boolean, timeoutMs: number): Promise<boolean> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    if (ready()) return true;
    if (gone()) return false;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return ready();
}

/** SIGTERM to the block's whole process group (npm, sh, node), SIGKILL if it lingers. */
async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.pid === undefined) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const signal = (name: NodeJS.Signals) => {
    try {
      process.kill(-child.pid!, name);
    } catch {
      // already gone
    }
  };
  signal('SIGTERM');
  const done = await Promise.race([
    exited.then(() => true),
    new Promise((r) => setTimeout(() => r(false), 8_000)),
  ]);
  if (!done) {
    signal('SIGKILL');
    await exited;
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}
