import { execFile, execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync, readlinkSync } from 'node:fs';
import { hostname } from 'node:os';
import { createInterface } from 'node:readline';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { Owners } from '../../functions/local/owners.ts';

const exec = promisify(execFile);

/** This process's PID namespace and start time, as /proc shows them. */
const namespace = /\[(\d+)\]/.exec(readlinkSync('/proc/self/ns/pid'))![1]!;
const stat = readFileSync('/proc/self/stat', 'utf8');
const started = stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]!;
const host = hostname().replace(/[#/@]/g, '_');

/** Whether this machine lets an unprivileged test make PID namespaces (containers, in short). */
const canUnshare = (() => {
  try {
    execFileSync('unshare', ['--user', '--map-root-user', '--pid', '--fork', '--mount-proc', 'true'], {
      stdio: 'ignore',
    });
    return true;
  } catch {
    return false;
  }
})();

describe('lease owners (finding 12: hostname + pid is not an identity)', () => {
  it('a container with our host name and our very PID, in another PID namespace, keeps its leases', () => {
    const owners = new Owners('serve');
    const other = `serve@${host}#4026599999#${process.pid}#${started}#0badc0de/tick-0`;
    expect(owners.isGone(other)).toBe(false);
  });

  it('in our namespace, an owner with our PID and another start time has stopped (its PID was reused)', () => {
    const owners = new Owners('serve');
    expect(owners.isGone(`serve@${host}#${namespace}#${process.pid}#1#0badc0de/tick-0`)).toBe(true);
    // Ours, while its actor runs; gone once it has finished.
    const actor = owners.begin('tick');
    expect(owners.isGone(actor)).toBe(false);
    owners.end(actor);
    expect(owners.isGone(actor)).toBe(true);
  });

  it.skipIf(!canUnshare)(
    'two containers on one host name, each PID 1 in its own PID namespace, never void each other’s leases',
    async () => {
      const inContainer = (script: string, ...args: string[]) => [
        ...['--user', '--map-root-user', '--pid', '--fork', '--kill-child', '--mount-proc'],
        ...[process.execPath, '--import', 'tsx', '--input-type=module', '-e', script, '--', ...args],
      ];
      const load = "const { Owners } = await import('./functions/local/owners.ts');";
      // Both containers alive at once, as two deployed ones are: a namespace whose last process
      // has exited may be made again with its number (it failed once in CI that way).
      const a = spawn(
        'unshare',
        inContainer(
          `${load} console.log(process.pid, new Owners('serve').begin('tick')); setInterval(() => {}, 1000);`,
        ),
        { cwd: process.cwd(), stdio: ['ignore', 'pipe', 'inherit'] },
      );
      try {
        const [line] = (await once(createInterface({ input: a.stdout! }), 'line')) as [string];
        const [pidA, ownerA] = line.trim().split(' ');
        const b = await exec(
          'unshare',
          inContainer(
            `${load} const owners = new Owners('serve'); console.log(process.pid, owners.isGone(process.argv.at(-1)));`,
            ownerA!,
          ),
          { cwd: process.cwd() },
        );
        const [pidB, judged] = b.stdout.trim().split(' ');
        expect([pidA, pidB]).toEqual(['1', '1']);
        expect(judged).toBe('false');
      } finally {
        a.stdout?.destroy();
        a.kill('SIGKILL');
      }
    },
    20_000,
  );
});
