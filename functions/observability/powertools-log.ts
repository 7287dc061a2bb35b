import { Console } from 'node:console';
import { Logger } from '@aws-lambda-powertools/logger';
import type { Log } from './log.ts';

export interface LogOptions {
  serviceName?: string;
  /** Where the JSON lines go; default stdout (Lambda). `serve` sends them to stderr. */
  stream?: NodeJS.WritableStream;
  level?: 'DEBUG' | 'INFO' | 'WARN' | 'ERROR';
}

/** A Powertools Logger (JSON lines) behind the {@link Log} interface. */
export function createLog(options: LogOptions = {}): Log & { logger: Logger } {
  const logger = new Logger({
    serviceName: options.serviceName ?? 'nightshift',
    logLevel: options.level ?? (process.env.POWERTOOLS_LOG_LEVEL as LogOptions['level']) ?? 'INFO',
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
