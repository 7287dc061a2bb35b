import { randomUUID } from 'node:crypto';
import { request } from 'undici';
import { SIGNATURE_HEADER, sign, TIMESTAMP_HEADER } from '../../api/signature.ts';
import type { ActionResult } from '../../engine/executor.ts';
import { type Command, selectionOf, selectionOptions, stringOption, writeJson } from '../command.ts';
import { EXIT_FAILED, EXIT_OK, EXIT_USAGE, UsageError } from '../io.ts';

/** Answers meaning the request itself was wrong: malformed, unknown target, action not allowed. */
const USAGE_STATUSES = new Set([400, 404, 422]);

import { renderResults } from '../results.ts';

export const triggerCommand: Command = {
  name: 'trigger',
  help: `Usage: nightshift trigger --url URL --action ACTION (--target NAME ... | --schedule ID)
                         [--force] [--dry-run] [--reason TEXT] [--idempotency-key KEY] [--json]

Signs a POST /v1/actions request with the key in NIGHTSHIFT_WEBHOOK_KEY (HMAC-SHA256 over
timestamp + "." + POST + "." + path + "." + body) and prints the answer as a table, or as JSON
with --json.
Exit code 0 when every target succeeded, 2 on bad usage (also when the API answers 400, 404
or 422: a malformed request, an unknown target, an action the config forbids), 1 otherwise.

Options:
  --url URL               the API, e.g. http://127.0.0.1:8787 or the API Gateway URL
  --action ACTION         start | stop | pause | resume
  --target NAME           a target or group; repeat for several
  --schedule ID           every target of this schedule
  --force                 call even targets already in the requested state
  --dry-run               check and resolve on the server, call nothing upstream
  --reason TEXT           recorded in the history
  --idempotency-key KEY   a repeat with the same key returns the first answer (default: a new key)
  --json                  print the server's JSON answer
  -h, --help              show this help`,
  options: {
    url: { type: 'string' },
    ...selectionOptions,
    'dry-run': { type: 'boolean' },
    force: { type: 'boolean' },
    reason: { type: 'string' },
    'idempotency-key': { type: 'string' },
    json: { type: 'boolean' },
  },
  async run(values, _positionals, io) {
    const url = stringOption(values, 'url');
    if (!url || !/^https?:\/\//.test(url)) throw new UsageError('--url http(s)://… is required');
    const { action, targets, schedule } = selectionOf(values);
    const key = io.env.NIGHTSHIFT_WEBHOOK_KEY;
    if (!key) throw new UsageError('NIGHTSHIFT_WEBHOOK_KEY must hold the webhook signing key');

    const reason = stringOption(values, 'reason');
    const body = JSON.stringify({
      action,
      ...(schedule === undefined ? { targets } : { schedule }),
      ...(values['dry-run'] ? { dryRun: true } : {}),
      ...(values.force ? { force: true } : {}),
      ...(reason === undefined ? {} : { reason }),
    });
    const timestamp = String(Math.floor(io.now().getTime() / 1000));
    const endpoint = new URL(`${url.replace(/\/+$/, '')}/v1/actions`);
    // The path as it goes on the wire (an API Gateway stage prefix included) is what is signed.
    const target = `${endpoint.pathname}${endpoint.search}`;
    let answer: { statusCode: number; text: string };
    try {
      const response = await request(endpoint, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          [TIMESTAMP_HEADER]: timestamp,
          [SIGNATURE_HEADER]: sign(key, timestamp, 'POST', target, body),
          'idempotency-key': stringOption(values, 'idempotency-key') ?? randomUUID(),
        },
        body,
        headersTimeout: 120_000,
        bodyTimeout: 120_000,
      });
      answer = { statusCode: response.statusCode, text: await response.body.text() };
    } catch (error) {
      io.stderr.write(`nightshift trigger: cannot reach ${url}: ${(error as Error).message}\n`);
      return EXIT_FAILED;
    }
    let parsed: { results?: ActionResult[]; error?: { code: string; message: string } } | undefined;
    try {
      parsed = JSON.parse(answer.text);
    } catch {
      parsed = undefined;
    }
    if (values.json) {
      if (parsed === undefined)
        writeJson(io, { error: { code: 'bad_answer', message: answer.text.slice(0, 200) } });
      else writeJson(io, parsed);
    } else if (parsed?.results) {
      io.stdout.write(renderResults(parsed.results));
    } else {
      io.stderr.write(
        `nightshift trigger: ${answer.statusCode} ${parsed?.error ? `${parsed.error.code}: ${parsed.error.message}` : answer.text.slice(0, 200)}\n`,
      );
    }
    // A request the config forbids or the API cannot parse is bad usage, as it is for `run`.
    if (USAGE_STATUSES.has(answer.statusCode)) return EXIT_USAGE;
    return answer.statusCode === 200 ? EXIT_OK : EXIT_FAILED;
  },
};
