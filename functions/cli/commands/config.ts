import { readFile, writeFile } from 'node:fs/promises';
import type { AppConfigClient } from '@aws-sdk/client-appconfig';
import type { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { calendarDataEnding } from '../../engine/calendar/holidays.ts';
import { deployableText, withCalendarData } from '../../engine/config/resolve-calendars.ts';
import type { Config } from '../../engine/config/schema.ts';
import { ConfigError } from '../../engine/config/validate.ts';
import { parseLocalConfigText } from '../../stores/local-config.ts';
import { COMMON_HELP, type Command, configPath, stringOption, writeJson } from '../command.ts';
import { EXIT_FAILED, EXIT_OK, EXIT_USAGE, UsageError } from '../io.ts';

export interface DeployedIds {
  application: string;
  environment: string;
  profile: string;
  strategy: string;
  /** What the runtime Lambdas may read; absent on stacks deployed before these outputs existed. */
  secrets?: { prefix: string; names: string[] };
}

// The AWS SDK is loaded only by this command, so the other commands start fast.
const sdk = async () => ({
  ...(await import('@aws-sdk/client-appconfig')),
  ...(await import('@aws-sdk/client-cloudformation')),
});

export const configCommand: Command = {
  name: 'config',
  allowPositionals: true,
  help: `Usage: nightshift config push [--stack NAME] [--region R] [--json] [--config FILE]
       nightshift config pull [--stack NAME] [--region R] [--output FILE]

push  validates the config locally, prints a diff against the deployed version, creates a new
      hosted configuration version (AppConfig runs the validator Lambda on it) and starts a
      deployment. Nothing is pushed when nothing changed. Calendars are pushed with their
      holiday dates resolved (calendars.<name>.resolved), which is what the Lambdas read.
pull  fetches the deployed document (to stdout, or to --output FILE).

The stack's outputs name the AppConfig application, environment, profile and strategy.
AWS credentials and region come from the usual AWS environment or profile.

Options:
  --stack NAME    the deployed stack (default Nightshift)
  --region R      its region (default: the AWS SDK's)
  --output FILE   pull: write here instead of stdout
  --json          push: print {"version", "deployment", "changed", "diff"}
${COMMON_HELP}`,
  options: {
    stack: { type: 'string' },
    region: { type: 'string' },
    output: { type: 'string' },
    json: { type: 'boolean' },
  },
  async run(values, positionals, io) {
    const [action, ...extra] = positionals;
    if ((action !== 'push' && action !== 'pull') || extra.length > 0) {
      throw new UsageError('say "config push" or "config pull"');
    }
    const stackName = stringOption(values, 'stack') ?? 'Nightshift';
    // A push is validated before anything is asked of AWS.
    const path = configPath(values, io);
    let text = '';
    let config: Config | undefined;
    if (action === 'push') {
      text = await readFile(path, 'utf8');
      try {
        // Calendars go with their dates resolved: the Lambdas have no holiday library.
        config = parseLocalConfigText(text, path, { deployable: true });
        text = deployableText(text, config, { now: io.now() });
        for (const warning of calendarDataEnding(withCalendarData(config, { now: io.now() }), io.now()))
          io.stderr.write(`warning: ${warning.path}: ${warning.message}\n`);
      } catch (error) {
        if (error instanceof ConfigError) {
          io.stderr.write(`${error.message}\nnothing was pushed\n`);
          return EXIT_FAILED;
        }
        throw error;
      }
    }
    const region = stringOption(values, 'region');
    const {
      AppConfigClient,
      CloudFormationClient,
      CreateHostedConfigurationVersionCommand,
      StartDeploymentCommand,
    } = await sdk();
    const clients = {
      appconfig: new AppConfigClient(region ? { region } : {}),
      cloudformation: new CloudFormationClient(region ? { region } : {}),
    };
    // Without a region or credentials the SDK fails with errors (and warnings) that do not say
    // what to do: check both first and say it in one line.
    if (!(await clients.cloudformation.config.region().catch(() => undefined))) {
      io.stderr.write(
        `nightshift config ${action}: no AWS region: pass --region R or set AWS_REGION (or a region in your AWS profile)\n`,
      );
      return EXIT_USAGE;
    }
    try {
      await clients.cloudformation.config.credentials();
    } catch {
      io.stderr.write(
        `nightshift config ${action}: no AWS credentials found: set AWS_PROFILE, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or run "aws sso login" / "aws configure"\n`,
      );
      return EXIT_FAILED;
    }
    const ids = await deployedIds(clients.cloudformation, stackName);
    if (config && ids.secrets) {
      const unreadable = unreadableSecrets(config, ids.secrets);
      if (unreadable.length > 0) {
        io.stderr.write(`${unreadable.join('\n')}\nnothing was pushed\n`);
        return EXIT_FAILED;
      }
    }
    const deployed = await deployedDocument(clients.appconfig, ids);

    if (action === 'pull') {
      if (!deployed) {
        io.stderr.write(`nightshift config pull: nothing is deployed to stack ${stackName} yet\n`);
        return EXIT_FAILED;
      }
      const output = stringOption(values, 'output');
      if (output) {
        await writeFile(output, deployed.text);
        io.stderr.write(`wrote version ${deployed.version} to ${output}\n`);
      } else io.stdout.write(deployed.text.endsWith('\n') ? deployed.text : `${deployed.text}\n`);
      return EXIT_OK;
    }

    const { createTwoFilesPatch } = await import('diff');
    const diff = createTwoFilesPatch(
      deployed ? `deployed (version ${deployed.version})` : 'deployed (none)',
      path,
      normalize(deployed?.text ?? ''),
      normalize(text),
      undefined,
      undefined,
      { context: 3 },
    );
    const changed = normalize(deployed?.text ?? '') !== normalize(text);
    if (!changed) {
      if (values.json)
        writeJson(io, { changed: false, version: deployed?.version ?? null, deployment: null, diff: '' });
      else io.stdout.write(`no changes: version ${deployed?.version} is deployed\n`);
      return EXIT_OK;
    }
    let version: number;
    try {
      const created = await clients.appconfig.send(
        new CreateHostedConfigurationVersionCommand({
          ApplicationId: ids.application,
          ConfigurationProfileId: ids.profile,
          Content: new TextEncoder().encode(text),
          ContentType: 'application/json',
          Description: `nightshift config push from ${path}`,
        }),
      );
      version = created.VersionNumber!;
    } catch (error) {
      // The validator Lambda's refusal arrives here with every problem in the message.
      io.stderr.write(`AppConfig refused the new version: ${(error as Error).message}\n`);
      return EXIT_FAILED;
    }
    const deployment = await clients.appconfig.send(
      new StartDeploymentCommand({
        ApplicationId: ids.application,
        EnvironmentId: ids.environment,
        ConfigurationProfileId: ids.profile,
        DeploymentStrategyId: ids.strategy,
        ConfigurationVersion: String(version),
        Description: 'nightshift config push',
      }),
    );
    if (values.json) {
      writeJson(io, { changed: true, version, deployment: deployment.DeploymentNumber ?? null, diff });
    } else {
      io.stdout.write(`${diff}\n`);
      io.stdout.write(
        `pushed version ${version}; deployment ${deployment.DeploymentNumber} is ${deployment.State ?? 'started'} (the tick and the API pick it up within a minute)\n`,
      );
    }
    return EXIT_OK;
  },
};

async function deployedIds(cloudformation: CloudFormationClient, stackName: string): Promise<DeployedIds> {
  const { DescribeStacksCommand } = await sdk();
  const { Stacks } = await cloudformation.send(new DescribeStacksCommand({ StackName: stackName }));
  const outputs = Stacks?.[0]?.Outputs ?? [];
  const find = (name: string) => {
    const value = outputs.find((o) => o.OutputKey?.includes(name))?.OutputValue;
    if (!value) throw new UsageError(`stack ${stackName} has no output ${name}: is it a Nightshift stack?`);
    return value;
  };
  const optional = (name: string) => outputs.find((o) => o.OutputKey?.includes(name))?.OutputValue;
  const prefix = optional('AccountSecretPrefix');
  const names = optional('AccountSecretNames');
  return {
    application: find('AppConfigApplicationId'),
    environment: find('AppConfigEnvironmentId'),
    profile: find('AppConfigProfileId'),
    strategy: find('AppConfigDeploymentStrategyId'),
    ...(prefix === undefined
      ? {}
      : { secrets: { prefix, names: (names ?? '').split(',').filter((n) => n !== '') } }),
  };
}

/**
 * Accounts whose secret the deployed runtime Lambdas have no grant for: IAM names the secrets
 * of the last `cdk deploy` and every secret under the stack's prefix, and a push changes no IAM.
 * Pushing such an account would only make its actions fail with NIGHTSHIFT.SECRET later.
 */
export function unreadableSecrets(config: Config, granted: { prefix: string; names: string[] }): string[] {
  const problems: string[] = [];
  for (const [name, account] of Object.entries(config.accounts)) {
    const secret = account.secret;
    // An ARN carries the name after "secret:" (plus a random suffix, which the grant's `*` covers).
    const secretName = secret.startsWith('arn:') ? (secret.split(':secret:')[1] ?? '') : secret;
    if (granted.names.includes(secret) || secretName.startsWith(granted.prefix)) continue;
    problems.push(
      `accounts.${name}.secret: the deployed stack cannot read secret "${secret}": name it under "${granted.prefix}" (the stack's account secret prefix), or add the account and run cdk deploy`,
    );
  }
  return problems;
}

/** The document of the most recent deployment of our profile to the environment. */
async function deployedDocument(
  appconfig: AppConfigClient,
  ids: DeployedIds,
): Promise<{ version: number; text: string } | undefined> {
  const { ListDeploymentsCommand, GetHostedConfigurationVersionCommand } = await sdk();
  const { Items } = await appconfig.send(
    new ListDeploymentsCommand({ ApplicationId: ids.application, EnvironmentId: ids.environment }),
  );
  const latest = (Items ?? [])
    .filter((d) => d.ConfigurationName === undefined || d.ConfigurationName === PROFILE_NAME)
    .filter((d) => d.State === 'COMPLETE' || d.State === 'DEPLOYING' || d.State === 'BAKING')
    .sort((a, b) => (b.DeploymentNumber ?? 0) - (a.DeploymentNumber ?? 0))[0];
  if (!latest?.ConfigurationVersion) return undefined;
  const hosted = await appconfig.send(
    new GetHostedConfigurationVersionCommand({
      ApplicationId: ids.application,
      ConfigurationProfileId: ids.profile,
      VersionNumber: Number(latest.ConfigurationVersion),
    }),
  );
  return { version: Number(latest.ConfigurationVersion), text: new TextDecoder().decode(hosted.Content) };
}

/** The configuration profile's name in the stack (lib/nightshift.ts). */
const PROFILE_NAME = 'schedule';

const normalize = (text: string) => (text.endsWith('\n') || text === '' ? text : `${text}\n`);
