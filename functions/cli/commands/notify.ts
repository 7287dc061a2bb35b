import { resolve } from 'node:path';
import { TEST_EVENT_TYPE } from '../../events/cloudevent.ts';
import { testEvent } from '../../events/make.ts';
import { messageOf } from '../../notify/message.ts';
import { HttpSinkPoster } from '../../notify/post.ts';
import { loadSinkSecret, SinkSecretError } from '../../notify/secrets.ts';
import { SINK_ADAPTERS } from '../../notify/sinks.ts';
import { readConfigFile } from '../../stores/local-config.ts';
import { FileSecretSource, type SecretSource } from '../../stores/secrets.ts';
import { COMMON_HELP, type Command, configPath, stringOption, type Values, writeJson } from '../command.ts';
import { EXIT_FAILED, EXIT_OK, UsageError } from '../io.ts';

export const notifyCommand: Command = {
  name: 'notify',
  help: `Usage: nightshift notify test --sink NAME [--secrets FILE | --aws [--region R]] [--json] [--config FILE]

Sends one test message through a sink of the config's "notifications", now, and says whether
the service took it (a chat robot answers with its own error code when it did not: a wrong
signing secret, a keyword the robot requires, a throttled robot). The generic webhook gets a
CloudEvent of type ${TEST_EVENT_TYPE}, signed as every delivery is. Nothing is recorded.

The sink's secret comes from the --secrets file (or NIGHTSHIFT_SECRETS_FILE), or with --aws from
AWS Secrets Manager (the deployed stack's secrets; credentials and region from the usual AWS
environment or profile). Its URL and signing secret are never printed.
Exit 0 when the sink took the message, 1 when it did not, 2 on bad usage.

Options:
  --sink NAME       a sink of notifications.sinks
  --secrets FILE    JSON object of secret names to values
  --aws             read the secret from AWS Secrets Manager instead
  --region R        with --aws: the region (default: the AWS SDK's)
  --json            print {"ok", "sink", "type", "status"?, "problem"?}
${COMMON_HELP}`,
  options: {
    sink: { type: 'string' },
    secrets: { type: 'string' },
    aws: { type: 'boolean' },
    region: { type: 'string' },
    json: { type: 'boolean' },
  },
  allowPositionals: true,
  async run(values, positionals, io) {
    if (positionals[0] !== 'test' || positionals.length !== 1)
      throw new UsageError('the one subcommand is "test": nightshift notify test --sink NAME');
    const sinkName = stringOption(values, 'sink');
    if (!sinkName) throw new UsageError('--sink NAME is required');
    const config = await readConfigFile(configPath(values, io), { now: io.now().getTime() });
    const sinks = config.notifications?.sinks ?? {};
    const sink = Object.hasOwn(sinks, sinkName) ? sinks[sinkName] : undefined;
    if (!sink) {
      const known = Object.keys(sinks);
      throw new UsageError(
        known.length === 0
          ? 'the config has no notifications.sinks'
          : `unknown sink "${sinkName}" (the sinks: ${known.join(', ')})`,
      );
    }
    const secrets = await secretSource(values, io);
    const report = (ok: boolean, detail: { status?: number; problem?: string }) => {
      if (values.json) writeJson(io, { ok, sink: sinkName, type: sink.type, ...detail });
      else if (ok)
        io.stdout.write(
          `${sinkName} (${sink.type}) took the test message${detail.status ? ` (HTTP ${detail.status})` : ''}\n`,
        );
      else io.stdout.write(`${sinkName} (${sink.type}) did not take the test message: ${detail.problem}\n`);
      return ok ? EXIT_OK : EXIT_FAILED;
    };
    let secret: Awaited<ReturnType<typeof loadSinkSecret>>;
    try {
      secret = await loadSinkSecret(secrets, sinkName, sink.type, sink.secret);
    } catch (error) {
      if (error instanceof SinkSecretError) return report(false, { problem: error.message });
      throw error;
    }
    const event = testEvent(sinkName, sink.type, io.now().toISOString());
    const adapter = SINK_ADAPTERS[sink.type];
    const poster = new HttpSinkPoster();
    try {
      const outcome = await poster.post(
        adapter.build({
          events: [event],
          message: messageOf([event], { config }),
          secret,
          signingNow: Date.now(),
        }),
      );
      if ('error' in outcome) return report(false, { problem: outcome.error });
      const verdict = adapter.judge(outcome.answer);
      return verdict.ok
        ? report(true, { status: outcome.answer.status })
        : report(false, { status: outcome.answer.status, problem: verdict.problem });
    } finally {
      await poster.close();
    }
  },
};

async function secretSource(
  values: Values,
  io: { env: Record<string, string | undefined>; cwd: string },
): Promise<SecretSource> {
  const file = stringOption(values, 'secrets') ?? io.env.NIGHTSHIFT_SECRETS_FILE;
  if (values.aws === true) {
    if (stringOption(values, 'secrets')) throw new UsageError('give --secrets FILE or --aws, not both');
    // Loaded only here: the other commands never pay for the AWS SDK.
    const [{ SecretsManagerClient }, { SecretsManagerSource }] = await Promise.all([
      import('@aws-sdk/client-secrets-manager'),
      import('../../stores/aws-secrets.ts'),
    ]);
    const region = stringOption(values, 'region');
    return new SecretsManagerSource({ client: new SecretsManagerClient(region ? { region } : {}) });
  }
  if (!file) throw new UsageError('--secrets FILE (or NIGHTSHIFT_SECRETS_FILE) is required, or --aws');
  return new FileSecretSource(resolve(io.cwd, file));
}
