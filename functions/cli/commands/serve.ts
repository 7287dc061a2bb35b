import { hostname } from 'node:os';
import { isAbsolute, relative, resolve } from 'node:path';
import { Writable } from 'node:stream';
import { webhookKeyOf } from '../../api/router.ts';
import { calendarDataEnding } from '../../engine/calendar/holidays.ts';
import type { Config } from '../../engine/config/schema.ts';
import { defaultWindowActions } from '../../engine/kinds.ts';
import { due } from '../../engine/planner.ts';
import { httpSettingsFromEnv } from '../../huawei/settings.ts';
import { HuaweiUpstream } from '../../huawei/upstream.ts';
import { type ClockSetting, clockSettingFromEnv, publishClock, scaledClock } from '../../local/clock.ts';
import { startDemo } from '../../local/demo.ts';
import { DROPPED_MESSAGE } from '../../local/dropped-overrides.ts';
import { LocalRuntime, SECRET_NOT_SET_MESSAGE } from '../../local/runtime.ts';
import { setUpLocalNotifications } from '../../notify/local-setup.ts';
import type { Log } from '../../observability/log.ts';
import { createLog } from '../../observability/powertools-log.ts';
import { textLog } from '../../observability/text-log.ts';
import { makeSignInToken, signInUrl } from '../../page/sign-in.ts';
import { readConfigFile } from '../../stores/local-config.ts';
import { FileLedger } from '../../stores/local-ledger.ts';
import { FileSecretSource, type SecretSource } from '../../stores/secrets.ts';
import { COMMON_HELP, type Command, configPath, stringOption } from '../command.ts';
import { type CliIo, EXIT_OK, UsageError } from '../io.ts';
import { renderTable } from '../table.ts';
import { outputZone, wallClock, wallClockOf } from '../zones.ts';

export const serveCommand: Command = {
  name: 'serve',
  help: `Usage: nightshift serve [--port N] [--host ADDR] [--secrets FILE] [--state DIR] [--simulate]
                       [--tz ZONE] [--log-format text|json] [--config FILE]

Runs the local runtime: the HTTP API (on 127.0.0.1 unless --host says otherwise) and the minute tick, which at each wall-clock
minute carries out what the schedule says is due in (previous minute, this minute]. After a
pause or sleep it catches up missed minutes up to --catch-up minutes (logged as late); older
ones are recorded as missed, never fired. Several processes sharing one --state folder still
fire each occurrence once. The config file is re-read when it changes; an invalid edit is
refused and the last good config stays in force. SIGINT/SIGTERM finish in-flight work (for at
most 10 s, then open connections are closed) and exit 0. A port already in use: exit 1.

Options:
  --port N          HTTP port (default $NIGHTSHIFT_PORT, else 8787; 0 picks a free one)
  --host ADDR       address to listen on (default 127.0.0.1); anything else is reachable from
                    other hosts, protected by the webhook signature only, and a warning says so
  --secrets FILE    JSON object of secret names to values (default $NIGHTSHIFT_SECRETS_FILE)
  --state DIR       ledger, history and cursor (default .nightshift/)
  --simulate        start the built-in Huawei Cloud simulator and point every account at it.
                    Without --secrets, demo secrets are generated into DIR/demo-secrets.json
                    (edit an account's entry into any secret form, aksk included, to try it);
                    with --secrets, that file is used as it is. The simulator accepts every
                    credential in the file. DIR/simulator-config.json is the config as run,
                    for nightshift run --config.
                    Notification sinks read their secrets from --secrets.
  --catch-up MIN    how late a due action is still carried out: 1 to 1440 (default 60); older
                    ones are recorded as missed (0 is refused: it would miss everything)
  --tz ZONE         the zone of the times in readable lines (default: the config's "timezone")
  --log-format F    text: warnings and errors as readable lines on stderr (the default on a
                    terminal); json: every log line as JSON on stderr (the default otherwise)
${COMMON_HELP}

Notifications (the config's "notifications"): every sink's secret is checked at start, and a
missing or malformed one stops serve (exit 1); deliveries run beside the tick, never in it, and
print a line each (see docs/notifications.md).

Stdout has a readable line per action, naming the schedule or override behind it.
Demo clock: NIGHTSHIFT_CLOCK_START (ISO) and NIGHTSHIFT_CLOCK_SPEED (factor) run the runtime on a
scaled clock, which serve publishes in DIR/clock.json: every other nightshift command run with
the same two variables follows it.`,
  options: {
    port: { type: 'string' },
    host: { type: 'string' },
    secrets: { type: 'string' },
    state: { type: 'string' },
    simulate: { type: 'boolean' },
    'catch-up': { type: 'string' },
    tz: { type: 'string' },
    'log-format': { type: 'string' },
  },
  async run(values, _positionals, io) {
    const port = Number(stringOption(values, 'port') ?? io.env.NIGHTSHIFT_PORT ?? '8787');
    if (!Number.isInteger(port) || port < 0 || port > 65535)
      throw new UsageError('--port must be 0 to 65535');
    const host = stringOption(values, 'host') ?? '127.0.0.1';
    if (host.trim() === '') throw new UsageError('--host must name an address, e.g. 127.0.0.1 or 0.0.0.0');
    // 0 would record every minute as missed, the one due now included: it would fire nothing.
    const catchUp = Number(stringOption(values, 'catch-up') ?? '60');
    if (!Number.isInteger(catchUp) || catchUp < 1 || catchUp > 1440)
      throw new UsageError('--catch-up must be 1 to 1440 minutes');
    const stateDir = resolve(io.cwd, stringOption(values, 'state') ?? '.nightshift');
    const simulate = values.simulate === true;
    const secretsFile = stringOption(values, 'secrets') ?? io.env.NIGHTSHIFT_SECRETS_FILE;
    if (!simulate && !secretsFile) {
      throw new UsageError(
        '--secrets FILE (or NIGHTSHIFT_SECRETS_FILE) is required, or --simulate for a demo',
      );
    }
    const logFormat = stringOption(values, 'log-format') ?? (io.stderr.isTTY ? 'text' : 'json');
    if (logFormat !== 'text' && logFormat !== 'json')
      throw new UsageError('--log-format must be text or json');
    let clockSetting: ClockSetting | undefined;
    let httpSettings: ReturnType<typeof httpSettingsFromEnv>;
    let timeouts: ServerTimeouts;
    try {
      clockSetting = clockSettingFromEnv(io.env);
      httpSettings = httpSettingsFromEnv(io.env);
      timeouts = serverTimeoutsFromEnv(io.env);
    } catch (error) {
      throw new UsageError((error as Error).message);
    }
    const realStart = Date.now();
    const clock = clockSetting
      ? scaledClock(clockSetting.start, clockSetting.speed, Date.now, realStart)
      : scaledClock(realStart, 1);
    const path = configPath(values, io);
    const initial = await readConfigFile(path, { now: clock.now() });
    const zone = outputZone(values, initial);
    const print = (line: string) => io.stdout.write(`${line}\n`);
    for (const warning of calendarDataEnding(initial, clock.now()))
      io.stderr.write(`warning: ${warning.path}: ${warning.message}\n`);
    const log = logFor(logFormat, io, clock, zone);
    // Every other command run with the same NIGHTSHIFT_CLOCK_* follows this clock from here.
    await publishClock(stateDir, clockSetting, realStart);

    const demo = simulate
      ? await startDemo(initial, stateDir, secretsFile ? { secretsFile: resolve(io.cwd, secretsFile) } : {})
      : undefined;
    const secrets: SecretSource = demo ? demo.secrets : new FileSecretSource(resolve(io.cwd, secretsFile!));
    const upstream = new HuaweiUpstream({ secrets, http: httpSettings });
    const ledger = new FileLedger(stateDir, () => clock.now(), {
      // Moved aside, named, and the rest goes on: that target is reconciled from its status.
      onDamage: (damage) => {
        log.error('state folder: a damaged file was moved aside', { ...damage });
        print(`warning: damaged ${damage.path} moved to ${damage.movedTo} (${damage.reason})`);
      },
    });
    // With --simulate the accounts get demo secrets; the sinks' secrets come from --secrets.
    const sinkSecrets = demo && secretsFile ? new FileSecretSource(resolve(io.cwd, secretsFile)) : secrets;
    let runtime: LocalRuntime | undefined;
    let notifications: Awaited<ReturnType<typeof setUpLocalNotifications>>;
    try {
      notifications = await setUpLocalNotifications({
        initial,
        config: () => runtime?.currentConfig ?? initial,
        stateDir,
        ledger,
        secrets: sinkSecrets,
        clock,
        log,
        print,
      });
    } catch (error) {
      await upstream.close();
      await demo?.simulator.stop();
      throw error;
    }
    runtime = new LocalRuntime({
      configPath: path,
      ...(demo ? { transformConfig: demo.transform } : {}),
      port,
      host,
      ...timeouts,
      ledger,
      stateDir,
      secrets,
      upstream,
      clock,
      log,
      print,
      zone,
      maxCatchUpMinutes: catchUp,
      onTick: notifications.onTick,
    });
    let url: string;
    try {
      url = await runtime.start();
    } catch (error) {
      // Nothing may keep the process alive after a failed start: the simulator's port included.
      await upstream.close();
      await demo?.stop();
      throw listenError(error, host, port);
    }
    notifications.notifier.start();
    printBanner(print, {
      url,
      path,
      stateDir,
      cwd: io.cwd,
      webhookSecret: initial.webhook.secret,
      example: exampleAction(initial),
      demo: demo && {
        url: demo.simulator.url,
        secretsFile: demo.secretsFile,
        configFile: demo.configFile,
        generated: demo.generated,
      },
      clock: clockSetting && `${wallClock(clock.now(), zone)} ${zone}, ${clockSetting.speed}x real time`,
      notify: notifications.summary,
    });
    const signIn = await signInLine(secrets, initial.webhook.secret, url, clock.now(), io);
    if (signIn) print(signIn);
    const next = due(runtime.currentConfig, clock.now(), clock.now() + 24 * 3600_000).slice(0, 8);
    print(
      next.length
        ? `Next actions (${zone}):\n${renderTable(
            ['Time', 'Schedule', 'Action', 'Targets'],
            next.map((r) => [wallClockOf(r.at, zone), r.schedule, r.action, r.targets.join(', ')]),
          )}`
        : 'No actions in the next 24 hours.',
    );
    if (!isLoopback(host)) {
      print(
        `warning: serving on ${host}, reachable from other hosts; only the webhook signature protects the API (use a firewall or --host 127.0.0.1)`,
      );
      log.warn('serving beyond loopback', { host });
    }
    const webhookProblem = await webhookSecretProblem(secrets, initial.webhook.secret);
    if (webhookProblem) {
      print(
        `warning: the webhook secret "${initial.webhook.secret}" ${webhookProblem}: every signed route answers 503 until it holds {"key": "<random>"}`,
      );
      log.warn('webhook secret unusable', { secret: initial.webhook.secret, problem: webhookProblem });
    }
    log.info('serving', { url, config: path, state: stateDir, simulate });

    await waitForSignal(io);
    print('stopping: finishing in-flight work');
    await runtime.stop();
    await notifications.notifier.stop();
    // A tick cut short by the grace period may still have a call in flight: do not wait for it.
    await Promise.race([upstream.close(), new Promise((resolve) => setTimeout(resolve, 1_000).unref())]);
    await demo?.stop();
    log.info('stopped');
    // The last resort of a bounded shutdown: whatever handle is still open, the process ends.
    setTimeout(() => process.exit(), 2_000).unref();
    return EXIT_OK;
  },
};

function printBanner(
  print: (line: string) => void,
  info: {
    url: string;
    path: string;
    stateDir: string;
    cwd: string;
    webhookSecret: string;
    example: string;
    demo: { url: string; secretsFile: string; configFile: string; generated: boolean } | undefined;
    clock: string | undefined;
    notify?: string | undefined;
  },
): void {
  const shown = (file: string) => {
    const rel = relative(info.cwd, file);
    return rel.startsWith('..') || isAbsolute(rel) ? file : `./${rel}`;
  };
  print(`Nightshift is serving ${info.url}`);
  print(`  config  ${info.path} (re-read on change)`);
  print(`  state   ${info.stateDir}`);
  if (info.clock) print(`  clock   ${info.clock} (NIGHTSHIFT_CLOCK_*; other commands with them follow it)`);
  if (info.demo) {
    print(`  upstream: the built-in simulator at ${info.demo.url} (every account points at it)`);
    print(
      `  secrets ${shown(info.demo.secretsFile)}${info.demo.generated ? ' (generated; edit an account entry to try another secret form)' : ''}`,
    );
  }
  if (info.notify) print(`  notify  ${info.notify}`);
  print('');
  print(`  curl ${info.url}/v1/health`);
  if (info.demo) {
    print(
      `  export NIGHTSHIFT_WEBHOOK_KEY=$(node -p "require('${shown(info.demo.secretsFile)}')['${info.webhookSecret}'].key")`,
    );
  }
  print(`  npx nightshift status --url ${info.url}`);
  print(`  npx nightshift trigger --url ${info.url} ${info.example} --dry-run`);
  if (info.demo)
    print(
      `  npx nightshift run --config ${shown(info.demo.configFile)} --secrets ${shown(info.demo.secretsFile)} ${info.example}`,
    );
  print('');
}

/** JSON lines (Powertools) stamped with the runtime clock, or readable warnings for a terminal. */
function logFor(format: 'text' | 'json', io: CliIo, clock: { now(): number }, zone: string): Log {
  if (format === 'text')
    return textLog({
      write: (text) => io.stderr.write(text),
      now: () => clock.now(),
      time: (ms) => wallClock(ms, zone, { seconds: true }).slice(11),
      // What already has its readable line on stdout: each action, and these warnings.
      shownElsewhere: new Set([
        'action',
        'action failed',
        'missed',
        'serving beyond loopback',
        'webhook secret unusable',
        'config change refused; the last good config stays in force',
        'override ending in 30 minutes: the schedules take over again at its until',
        SECRET_NOT_SET_MESSAGE,
        DROPPED_MESSAGE,
      ]),
    });
  const stderr = new Writable({
    write(chunk, _encoding, done) {
      io.stderr.write(String(chunk));
      done();
    },
  });
  return createLog({ stream: stderr, now: () => clock.now() });
}

/** A request the config allows, for the banner: the first target and its closing action. */
function exampleAction(config: Config): string {
  const [name, target] = Object.entries(config.targets)[0] ?? [];
  if (!name || !target) return '--action stop --target TARGET';
  return `--action ${defaultWindowActions(target.kind).closed} --target ${name}`;
}

/** Server timeouts; the variables let tests run the slow-client paths in seconds. */
interface ServerTimeouts {
  requestTimeoutMs?: number;
  shutdownGraceMs?: number;
}

function serverTimeoutsFromEnv(env: Record<string, string | undefined>): ServerTimeouts {
  const read = (name: string, min: number, max: number): number | undefined => {
    const text = env[name];
    if (text === undefined || text === '') return undefined;
    const value = Number(text);
    if (!Number.isInteger(value) || value < min || value > max)
      throw new RangeError(`${name} must be an integer from ${min} to ${max}, got "${text}"`);
    return value;
  };
  const requestTimeoutMs = read('NIGHTSHIFT_HTTP_REQUEST_TIMEOUT_MS', 100, 600_000);
  const shutdownGraceMs = read('NIGHTSHIFT_SHUTDOWN_GRACE_MS', 0, 600_000);
  return {
    ...(requestTimeoutMs === undefined ? {} : { requestTimeoutMs }),
    ...(shutdownGraceMs === undefined ? {} : { shutdownGraceMs }),
  };
}

/** Could not listen: one clear line instead of a raw EADDRINUSE. */
export class ListenError extends Error {
  override readonly name = 'ListenError';
}

function listenError(error: unknown, host: string, port: number): unknown {
  const code = (error as NodeJS.ErrnoException).code;
  if (code === 'EADDRINUSE')
    return new ListenError(`${host}:${port} is already in use; pick another --port (0 picks a free one)`, {
      cause: error,
    });
  if (code === 'EADDRNOTAVAIL' || code === 'ENOTFOUND' || code === 'EACCES')
    return new ListenError(`cannot listen on ${host}:${port} (${code}); check --host and --port`, {
      cause: error,
    });
  return error;
}

function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}

/** Why the webhook secret cannot sign requests, or undefined when it can. Never its value. */
async function webhookSecretProblem(secrets: SecretSource, name: string): Promise<string | undefined> {
  let value: string;
  try {
    value = await secrets.get(name);
  } catch {
    return 'is missing';
  }
  try {
    webhookKeyOf(name, value);
    return undefined;
  } catch {
    return 'is malformed';
  }
}

// ---- the page's sign-in link, printed at start ----

/** How long the link `serve` prints at start may wait to be used (on the runtime's clock). */
const START_LINK_TTL_MS = 60 * 60_000;

/** A write link to the page for whoever started serve, or nothing when the webhook key is unusable. */
async function signInLine(
  secrets: SecretSource,
  name: string,
  url: string,
  now: number,
  io: CliIo,
): Promise<string | undefined> {
  let key: string;
  try {
    key = webhookKeyOf(name, await secrets.get(name));
  } catch {
    return undefined;
  }
  const as = `${io.env.USER ?? io.env.USERNAME ?? 'someone'}@${hostname()}`;
  const { token, claims } = makeSignInToken(key, { now, ttlMs: START_LINK_TTL_MS, scope: 'write', as });
  return `The page: open this one-time sign-in link (until ${new Date(claims.exp).toISOString()}); another: npx nightshift open --url ${url}
  ${signInUrl(url, token)}
`;
}

function waitForSignal(_io: CliIo): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      process.off('SIGINT', done);
      process.off('SIGTERM', done);
      resolve();
    };
    process.once('SIGINT', done);
    process.once('SIGTERM', done);
  });
}
