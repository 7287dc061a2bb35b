import { Console } from 'node:console';
import { LogFormatter, Logger, LogItem } from '@aws-lambda-powertools/logger';
import type { LogAttributes, UnformattedAttributes } from '@aws-lambda-powertools/logger/types';
import type { Log } from './log.ts';

export interface LogOptions {
  serviceName?: string;
  /** Where the JSON lines go; default stdout (Lambda). `serve` sends them to stderr. */
  stream?: NodeJS.WritableStream;
  level?: 'DEBUG' | 'INFO' | 'WARN' | 'ERROR';
  /**
   * The clock the lines are stamped with: `serve`'s runtime clock, which NIGHTSHIFT_CLOCK_* may
   * move. A line whose clock is not the real one also carries `realTime`.
   */
  now?: () => number;
}

/** A Powertools Logger (JSON lines) behind the {@link Log} interface. */
export function createLog(options: LogOptions = {}): Log & { logger: Logger } {
  const logger = new Logger({
    serviceName: options.serviceName ?? 'nightshift',
    logLevel: options.level ?? (process.env.POWERTOOLS_LOG_LEVEL as LogOptions['level']) ?? 'INFO',
    ...(options.now ? { logFormatter: new RuntimeClockFormatter(options.now) } : {}),
  });
  if (options.stream) {
    // Powertools writes through its own Console; point both of its streams where we were asked.
    Object.assign(logger, { console: new Console({ stdout: options.stream, stderr: options.stream }) });
  }
  return {
    logger,
    debug: (message, fields) => logger.debug(message, fields ?? {}),
    info: (message, fields) => logger.info(message, fields ?? {}),
    warn: (message, fields) => logger.warn(message, fields ?? {}),
    error: (message, fields) => logger.error(message, fields ?? {}),
  };
}

/**
 * Powertools' own line layout (level, message, timestamp, service, then the fields), stamped with
 * the runtime's clock: under a demo clock the log says the minute the tick is in, not the real
 * time. (Powertools' default formatter is not exported; `serve` has no Lambda context to add.)
 */
class RuntimeClockFormatter extends LogFormatter {
  constructor(private readonly now: () => number) {
    super();
  }

  override formatAttributes(attributes: UnformattedAttributes, additional: LogAttributes): LogItem {
    const clock = this.now();
    const real = attributes.timestamp.getTime();
    return new LogItem({
      attributes: {
        level: attributes.logLevel,
        message: attributes.message,
        timestamp: this.formatTimestamp(new Date(clock)),
        // A second's drift is the cost of reading two clocks, not a demo clock.
        ...(Math.abs(clock - real) > 1_000 ? { realTime: this.formatTimestamp(attributes.timestamp) } : {}),
        service: attributes.serviceName,
      },
    }).addAttributes(additional);
  }
}
