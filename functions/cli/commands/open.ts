import { existsSync } from 'node:fs';
import { hostname } from 'node:os';
import { join, resolve } from 'node:path';
import { webhookKeyOf } from '../../api/router.ts';
import { clockFromEnv } from '../../local/clock.ts';
import {
  DEFAULT_LINK_TTL_MS,
  MAX_LINK_TTL_MS,
  makeSignInToken,
  parseDuration,
  SESSION_TTL_MS,
  signInUrl,
} from '../../page/sign-in.ts';
import { readConfigFile } from '../../stores/local-config.ts';
import { FileSecretSource } from '../../stores/secrets.ts';
import { apiUrl } from '../api-client.ts';
import { COMMON_HELP, type Command, configPath, stringOption, type Values, writeJson } from '../command.ts';
import { type CliIo, EXIT_OK, UsageError } from '../io.ts';

export const DEFAULT_PAGE_URL = 'http://127.0.0.1:8787';

export const openCommand: Command = {
  name: 'open',
  help: `Usage: nightshift open [--url URL] [--ttl DURATION] [--read-only] [--as NAME] [--json]

Prints a one-time sign-in link to the page of a running Nightshift (the week, the status, the
overrides and the history, in a browser). Opening the link and pressing "Sign in" starts a
session of ${SESSION_TTL_MS / 3600_000} hours in that browser; the link then works no more, and it expires after --ttl
unused. The link is signed with the webhook key, so only someone who holds the key can make one.

The key: NIGHTSHIFT_WEBHOOK_KEY (as for trigger), else the config's webhook secret in
--secrets FILE (or NIGHTSHIFT_SECRETS_FILE), else the key "serve --simulate" keeps in
--state DIR (default .nightshift/demo-secrets.json).

Options:
  --url URL         the server's address (default ${DEFAULT_PAGE_URL}: a local serve);
                    for AWS, the stack's ApiUrl output
  --ttl DURATION    how long the link may wait to be used: 90s, 15m, 2h, 1h30m, at most 24h
                    (default 15m)
  --read-only       a session that sees everything and changes nothing
  --as NAME         who signs in: shown on the page and recorded as createdBy of overrides
                    (default $USER@host)
  --secrets FILE    where the webhook key is, when NIGHTSHIFT_WEBHOOK_KEY is not set
  --state DIR       the state folder of "serve --simulate" (default .nightshift/)
  --json            print {"url", "expiresAt", "scope", "as"}
${COMMON_HELP}

The link goes to stdout alone, so it can be piped: xdg-open "$(npx nightshift open)".`,
  options: {
    url: { type: 'string' },
    ttl: { type: 'string' },
    'read-only': { type: 'boolean' },
    as: { type: 'string' },
    secrets: { type: 'string' },
    state: { type: 'string' },
    json: { type: 'boolean' },
  },
  async run(values, _positionals, io) {
    const base = apiUrl(stringOption(values, 'url')) ?? DEFAULT_PAGE_URL;
    const ttlText = stringOption(values, 'ttl');
    const ttlMs = ttlText === undefined ? DEFAULT_LINK_TTL_MS : parseDuration(ttlText);
    if (ttlMs === undefined || ttlMs <= 0 || ttlMs > MAX_LINK_TTL_MS)
      throw new UsageError(
        `--ttl must be a duration such as 90s, 15m, 2h or 1h30m, at most 24h, got "${ttlText}"`,
      );
    const as = stringOption(values, 'as') ?? `${io.env.USER ?? io.env.USERNAME ?? 'someone'}@${hostname()}`;
    if (as.trim() === '' || as.length > 200)
      throw new UsageError('--as must be a name of 1 to 200 characters');
    let now: number;
    try {
      // Like serve: a scaled clock for demos and tests, so the link's expiry is on serve's clock.
      now =
        io.env.NIGHTSHIFT_CLOCK_START || io.env.NIGHTSHIFT_CLOCK_SPEED
          ? clockFromEnv(io.env).now()
          : io.now().getTime();
    } catch (error) {
      throw new UsageError((error as Error).message);
    }
    const key = await webhookKey(values, io);
    const scope = values['read-only'] === true ? 'read' : 'write';
    const { token, claims } = makeSignInToken(key, { now, ttlMs, scope, as });
    const url = signInUrl(base, token);
    const expiresAt = new Date(claims.exp).toISOString();
    if (values.json) writeJson(io, { url, expiresAt, scope, as });
    else {
      io.stdout.write(`${url}\n`);
      io.stderr.write(
        `One use, until ${expiresAt}; ${scope === 'write' ? 'can create and remove overrides' : 'read-only'}; signs in as ${as}.\n`,
      );
    }
    return EXIT_OK;
  },
};

/** The webhook key, from the first place that has one; never printed. */
async function webhookKey(values: Values, io: CliIo): Promise<string> {
  const fromEnv = io.env.NIGHTSHIFT_WEBHOOK_KEY;
  if (fromEnv) {
    if (fromEnv.length < 16) throw new UsageError('NIGHTSHIFT_WEBHOOK_KEY must hold at least 16 characters');
    return fromEnv;
  }
  const secretsFile = stringOption(values, 'secrets') ?? io.env.NIGHTSHIFT_SECRETS_FILE;
  const demoFile = join(resolve(io.cwd, stringOption(values, 'state') ?? '.nightshift'), 'demo-secrets.json');
  const file = secretsFile ? resolve(io.cwd, secretsFile) : existsSync(demoFile) ? demoFile : undefined;
  if (!file)
    throw new UsageError(
      `no webhook key: set NIGHTSHIFT_WEBHOOK_KEY, give --secrets FILE, or start "serve --simulate" first (it keeps its key in ${demoFile})`,
    );
  const name = (await readConfigFile(configPath(values, io))).webhook.secret;
  try {
    return webhookKeyOf(name, await new FileSecretSource(file).get(name));
  } catch (error) {
    throw new UsageError(`${file}: ${(error as Error).message}`, { cause: error });
  }
}
