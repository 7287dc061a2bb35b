import type { Config } from '../engine/config/schema.ts';
import { publishTickEvents } from '../events/tick-events.ts';
import type { Clock } from '../local/clock.ts';
import { Owners } from '../local/owners.ts';
import type { TickReport } from '../local/runtime.ts';
import type { Log } from '../observability/log.ts';
import type { FileLedger } from '../stores/local-ledger.ts';
import type { SecretSource } from '../stores/secrets.ts';
import { LocalNotifier } from './notifier.ts';
import type { SinkPoster } from './post.ts';
import { sinkSecretProblems } from './secrets.ts';

/** Sinks that cannot be used: `serve` refuses to start with them (a silent drop is worse). */
export class NotificationSetupError extends Error {
  override readonly name = 'NotificationSetupError';
}

export interface LocalNotifications {
  notifier: LocalNotifier;
  /** The runtime's `onTick` hook: the tick's events into the journal (memory if that fails). */
  onTick: (tick: TickReport) => Promise<void>;
  /** For the banner: `2 sinks: oncall (slack), team (dingtalk)`, or undefined without sinks. */
  summary: string | undefined;
}

const sinksOf = (config: Config) => Object.entries(config.notifications?.sinks ?? {});

/**
 * The notifications of `serve`: checks every sink's secret first (a missing or malformed one
 * stops the start, naming the sink, the secret and what is wrong, never a value), then returns
 * the notifier (started by the caller) and the tick hook.
 */
export async function setUpLocalNotifications(options: {
  initial: Config;
  config: () => Config;
  stateDir: string;
  ledger: FileLedger;
  secrets: SecretSource;
  clock: Clock;
  log: Log;
  print: (line: string) => void;
  poster?: SinkPoster;
}): Promise<LocalNotifications> {
  const problems = await sinkSecretProblems(options.initial, options.secrets);
  if (problems.length > 0)
    throw new NotificationSetupError(
      `${problems.length} notification sink${problems.length === 1 ? '' : 's'} cannot be used:\n${problems.map((p) => `  ${p.path}: ${p.message}`).join('\n')}`,
    );
  // Unique per process start; a holder on this host that no longer runs is known at once.
  const owners = new Owners('notify');
  const notifier = new LocalNotifier({
    stateDir: options.stateDir,
    ledger: options.ledger,
    config: options.config,
    secrets: options.secrets,
    clock: options.clock,
    log: options.log,
    print: options.print,
    owner: owners.process,
    isOwnerGone: owners.isGone,
    ...(options.poster ? { poster: options.poster } : {}),
  });
  await notifier.prepare();
  let checked = options.initial;
  const onTick = async (tick: TickReport) => {
    if (sinksOf(tick.config).length === 0) return;
    if (tick.config !== checked) {
      // A reloaded config: its sinks are checked now, and a bad one said loudly (the config stays).
      checked = tick.config;
      for (const p of await sinkSecretProblems(tick.config, options.secrets).catch(() => [])) {
        options.log.error('notification sink cannot be used', { path: p.path, problem: p.message });
        options.print(`warning: ${p.path}: ${p.message}`);
      }
    }
    await publishTickEvents(
      { ledger: options.ledger, log: options.log, fallback: (events) => notifier.offer(events) },
      {
        config: tick.config,
        from: tick.from,
        to: tick.to,
        now: tick.to,
        overrides: tick.overrides,
        warnings: tick.summary.warnings,
        ledgerFailures: tick.ledgerFailures,
      },
    );
  };
  const sinks = sinksOf(options.initial);
  return {
    notifier,
    onTick,
    summary:
      sinks.length === 0
        ? undefined
        : `${sinks.length} sink${sinks.length === 1 ? '' : 's'}: ${sinks.map(([name, s]) => `${name} (${s.type})`).join(', ')}`,
  };
}
