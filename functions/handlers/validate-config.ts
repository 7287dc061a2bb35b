import { checkCalendarsCarryData } from '../engine/calendar/holidays.ts';
import { parseConfigText } from '../engine/config/parse-text.ts';
import { withPositions } from '../engine/config/positions.ts';
import { ConfigError } from '../engine/config/validate.ts';

/** What AppConfig sends a validator Lambda. */
export interface AppConfigValidatorEvent {
  applicationId?: string;
  configurationProfileId?: string;
  configurationVersion?: string;
  /** The configuration document, base64. */
  content: string;
  uri?: string;
}

export class InvalidConfigError extends Error {
  override readonly name = 'InvalidConfigError';
}

/**
 * The AppConfig validator: the same zod validation as everywhere else, and every calendar must
 * carry its resolved dates (this Lambda, like the others, has no holiday library). AppConfig
 * refuses the version when this throws, and shows the message, which lists every problem with its path.
 */
export const handler = async (event: AppConfigValidatorEvent): Promise<void> => {
  if (typeof event?.content !== 'string') throw new InvalidConfigError('the event has no base64 "content"');
  const text = Buffer.from(event.content, 'base64').toString('utf8');
  try {
    parseConfigText(text, `configuration version ${event.configurationVersion ?? '?'}`, {
      extraChecks: checkCalendarsCarryData,
      deployable: true,
      locate: withPositions,
    });
  } catch (error) {
    if (error instanceof ConfigError) throw new InvalidConfigError(error.message, { cause: error });
    throw error;
  }
};
