import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { chooseEntry, freshBuild } from '../../bin/launcher.mjs';
import { oneLine, tidySdkWarnings } from '../../functions/cli/warnings.ts';
import { buildCli, CLI_MAIN } from '../../scripts/build-cli.ts';
import { runCli } from '../helpers/cli.ts';

const exec = promisify(execFile);
const WEEK = ['--from', '2027-03-27T00:00:00Z', '--to', '2027-04-03T00:00:00Z'];

describe('the nightshift bin, as users run it', () => {
  it('answers --version with the package version and how it runs', async () => {
    const { stdout } = await exec(process.execPath, ['bin/nightshift.mjs', '--version']);
    expect(stdout).toMatch(
      /^nightshift 0\.1\.0 \((built CLI of \S+|from the sources via tsx), Node\.js v\d+/,
    );
  });

  it('validates the example config', async () => {
    const { stdout } = await exec(process.execPath, ['bin/nightshift.mjs', 'validate']);
    expect(stdout).toMatch(/valid \(5 targets, 4 schedules\)/);
  });

  it('runs the sources when asked, with the same answers', async () => {
    const env = { ...process.env, NIGHTSHIFT_CLI: 'sources' };
    const version = await exec(process.execPath, ['bin/nightshift.mjs', '--version'], { env });
    expect(version.stdout).toMatch(/from the sources via tsx/);
    const plan = await exec(process.execPath, ['bin/nightshift.mjs', 'plan', ...WEEK, '--json'], { env });
    expect(JSON.parse(plan.stdout)).toEqual(JSON.parse((await runCli(['plan', ...WEEK, '--json'])).stdout));
  });
});

describe('the built CLI (npm ci builds it; npm run build by hand)', () => {
  /** A script that runs the build as bin/nightshift.mjs does. */
  let runner: string;
  const run = (...args: string[]) =>
    exec(process.execPath, [runner, ...args], {
      env: {
        ...process.env,
        AWS_REGION: 'eu-central-1',
        AWS_ACCESS_KEY_ID: 'x',
        AWS_SECRET_ACCESS_KEY: 'y',
        // Nothing listens there: an SDK call fails at once.
        AWS_ENDPOINT_URL: 'http://127.0.0.1:9',
      },
    });

  beforeAll(async () => {
    const dir = mkdtempSync(join(tmpdir(), 'nightshift-cli-build-'));
    const built = await buildCli(process.cwd(), join(dir, 'cli'));
    runner = join(dir, 'run.mjs');
    writeFileSync(
      runner,
      `const { runProcess } = await import(${JSON.stringify(pathToFileURL(join(built.outdir, CLI_MAIN)).href)});
process.exitCode = await runProcess(process.argv.slice(2));
`,
    );
  }, 60_000);

  it('says it is the built CLI and answers as the sources do', async () => {
    expect((await run('--version')).stdout).toMatch(/^nightshift 0\.1\.0 \(built CLI of \d{4}-/);
    expect((await run('validate')).stdout).toMatch(/valid \(5 targets, 4 schedules\)/);
    const plan = JSON.parse((await run('plan', ...WEEK, '--json')).stdout);
    expect(plan).toHaveLength(38);
    expect(plan).toEqual(JSON.parse((await runCli(['plan', ...WEEK, '--json'])).stdout));
  });

  it('prints the AWS SDK’s Node.js notice at most once, on one line', async () => {
    // Act: two SDK clients (AppConfig, CloudFormation) are made; the call fails.
    const failed = await run('config', 'pull').catch((error) => error);
    // Assess
    expect(failed.code).toBe(1);
    const notices = String(failed.stderr)
      .split('\n')
      .filter((line) => /AWS SDK|NodeVersionSupportWarning|https:\/\/a\.co\//.test(line));
    // The SDK warns below Node.js 22.
    expect(notices).toHaveLength(Number(process.versions.node.split('.')[0]) < 22 ? 1 : 0);
    for (const line of notices) expect(line).toMatch(/^nightshift: warning: The AWS SDK .* node >=\d+\. /);
  });
});

describe('choosing what to run', () => {
  function project(): string {
    const root = mkdtempSync(join(tmpdir(), 'nightshift-launch-'));
    mkdirSync(join(root, 'dist', 'cli'), { recursive: true });
    mkdirSync(join(root, 'functions'));
    writeFileSync(join(root, 'functions', 'a.ts'), 'export const a = 1;\n');
    writeFileSync(join(root, 'package.json'), '{}\n');
    const inputs: Record<string, { size: number; mtimeMs: number }> = {};
    for (const path of ['functions/a.ts', 'package.json']) {
      const stat = statOf(join(root, path));
      inputs[path] = { size: stat.size, mtimeMs: stat.mtimeMs };
    }
    writeFileSync(join(root, 'dist', 'cli', 'manifest.json'), JSON.stringify({ builtAt: 'x', inputs }));
    return root;
  }
  const statOf = (path: string) => {
    const { size, mtimeMs } = statSync(path);
    return { size, mtimeMs };
  };

  it('runs the build while every file that went into it is unchanged', () => {
    const root = project();
    expect(freshBuild(root)).toBe(join(root, 'dist', 'cli', 'main.mjs'));
    expect(chooseEntry(root, {}).from).toBe('build');
  });

  it('runs the sources once a source is edited, touched or gone, or without a build', () => {
    const edited = project();
    writeFileSync(join(edited, 'functions', 'a.ts'), 'export const a = 2;\n');
    const touched = project();
    utimesSync(join(touched, 'package.json'), new Date(), new Date(Date.now() + 5_000));
    const unbuilt = project();
    writeFileSync(join(unbuilt, 'dist', 'cli', 'manifest.json'), 'not json');
    for (const root of [edited, touched, unbuilt]) {
      expect(freshBuild(root)).toBeUndefined();
      expect(chooseEntry(root, {})).toEqual({
        from: 'sources',
        entry: join(root, 'functions', 'cli', 'main.ts'),
      });
    }
  });

  it('follows NIGHTSHIFT_CLI=sources or =build', () => {
    const root = project();
    expect(chooseEntry(root, { NIGHTSHIFT_CLI: 'sources' }).from).toBe('sources');
    writeFileSync(join(root, 'functions', 'a.ts'), 'changed\n');
    expect(chooseEntry(root, { NIGHTSHIFT_CLI: 'build' }).from).toBe('build');
  });
});

describe('the package', () => {
  const pkg = JSON.parse(readFileSync('package.json', 'utf8'));

  it('builds the CLI on npm ci and needs tsx only to develop', () => {
    expect(pkg.scripts.prepare).toMatch(/scripts\/build-cli\.ts/);
    expect(pkg.dependencies.tsx).toBeUndefined();
    expect(pkg.devDependencies.tsx).toMatch(/^\d+\.\d+\.\d+$/);
  });
});

describe('warnings', () => {
  const sdkNotice = `NodeVersionSupportWarning: The AWS SDK for JavaScript (v3)
versions published after the first week of January 2027
will require node >=22. You are running node v20.20.2.

To continue receiving updates to AWS services, bug fixes,
and security updates please upgrade to node >=22.

More information can be found at: https://a.co/c895JFp`;

  it('show the AWS SDK’s Node.js notice once, on one line, and pass other warnings on', () => {
    // Prepare
    const passed: unknown[] = [];
    const target = { emitWarning: (warning: string | Error) => void passed.push(warning) };
    const lines: string[] = [];
    tidySdkWarnings(target, (line) => lines.push(line));
    // Act
    target.emitWarning(sdkNotice);
    target.emitWarning(new Error(sdkNotice));
    target.emitWarning('something else');
    // Assess
    expect(lines).toEqual([
      'nightshift: warning: The AWS SDK for JavaScript (v3) versions published after the first week of January 2027 will require node >=22. You are running node v20.20.2. (https://a.co/c895JFp)\n',
    ]);
    expect(passed).toEqual(['something else']);
    expect(oneLine(sdkNotice)).not.toMatch(/\n/);
  });
});
