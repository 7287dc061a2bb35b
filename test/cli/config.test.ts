import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  AppConfigClient,
  BadRequestException,
  CreateHostedConfigurationVersionCommand,
  GetHostedConfigurationVersionCommand,
  ListDeploymentsCommand,
  StartDeploymentCommand,
} from '@aws-sdk/client-appconfig';
import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.ts';
import { runNightshift } from '../helpers/process.ts';

const appconfig = mockClient(AppConfigClient);
const cloudformation = mockClient(CloudFormationClient);
const example = readFileSync('config/schedule.json', 'utf8');
const ids = { ApplicationId: 'app1234', EnvironmentId: 'env5678', ConfigurationProfileId: 'prof9012' };

function deployed(text: string, version = 3) {
  appconfig.on(ListDeploymentsCommand, { ApplicationId: 'app1234', EnvironmentId: 'env5678' }).resolves({
    Items: [
      { DeploymentNumber: 1, ConfigurationName: 'schedule', ConfigurationVersion: '1', State: 'COMPLETE' },
      {
        DeploymentNumber: 2,
        ConfigurationName: 'schedule',
        ConfigurationVersion: String(version),
        State: 'COMPLETE',
      },
      { DeploymentNumber: 3, ConfigurationName: 'schedule', ConfigurationVersion: '9', State: 'ROLLED_BACK' },
    ],
  });
  appconfig
    .on(GetHostedConfigurationVersionCommand, {
      ApplicationId: ids.ApplicationId,
      ConfigurationProfileId: ids.ConfigurationProfileId,
      VersionNumber: version,
    })
    .resolves({ Content: new TextEncoder().encode(text) as never, VersionNumber: version });
}

describe('nightshift config push / pull', () => {
  beforeAll(() => {
    // The command checks for a region and credentials before any call; the mocks answer the calls.
    Object.assign(process.env, {
      AWS_REGION: 'eu-central-1',
      AWS_ACCESS_KEY_ID: 'test',
      AWS_SECRET_ACCESS_KEY: 'test',
    });
  });
  beforeEach(() => {
    appconfig.reset();
    cloudformation.reset();
    cloudformation.on(DescribeStacksCommand, { StackName: 'Nightshift' }).resolves({
      Stacks: [
        {
          StackName: 'Nightshift',
          CreationTime: new Date(),
          StackStatus: 'UPDATE_COMPLETE',
          Outputs: [
            { OutputKey: 'NightshiftAppConfigApplicationIdA1B2C3', OutputValue: 'app1234' },
            { OutputKey: 'NightshiftAppConfigEnvironmentIdD4E5F6', OutputValue: 'env5678' },
            { OutputKey: 'NightshiftAppConfigProfileId0A1B2C', OutputValue: 'prof9012' },
            { OutputKey: 'NightshiftAppConfigDeploymentStrategyId3D4E5F', OutputValue: 'strat34' },
            { OutputKey: 'NightshiftAccountSecretPrefix6A7B8C', OutputValue: 'nightshift/' },
            { OutputKey: 'NightshiftAccountSecretNames9D0E1F', OutputValue: 'nightshift/prod' },
          ],
        },
      ],
    });
  });
  afterAll(() => {
    appconfig.restore();
    cloudformation.restore();
  });

  const edited = () => {
    const config = JSON.parse(example);
    config.schedules[1].actions[1].cron = '30 5 * * *';
    const dir = mkdtempSync(join(tmpdir(), 'nightshift-push-'));
    const file = join(dir, 'schedule.json');
    writeFileSync(file, `${JSON.stringify(config, null, 2)}\n`);
    return file;
  };

  it('push validates, prints a diff, creates a hosted version and starts a deployment', async () => {
    // Prepare
    deployed(example);
    appconfig.on(CreateHostedConfigurationVersionCommand).resolves({ VersionNumber: 4 });
    appconfig.on(StartDeploymentCommand).resolves({ DeploymentNumber: 7, State: 'DEPLOYING' });
    const file = edited();
    // Act
    const run = await runCli(['config', 'push', '--config', file, '--region', 'eu-central-1']);
    // Assess
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/--- deployed \(version 3\)/);
    expect(run.stdout).toMatch(/^-.*"cron": "0 5 \* \* \*"/m);
    expect(run.stdout).toMatch(/^\+.*"cron": "30 5 \* \* \*"/m);
    expect(run.stdout).toMatch(/pushed version 4; deployment 7 is DEPLOYING/);
    expect(appconfig).toHaveReceivedCommandWith(CreateHostedConfigurationVersionCommand, {
      ApplicationId: 'app1234',
      ConfigurationProfileId: 'prof9012',
      ContentType: 'application/json',
    });
    const sent = appconfig.commandCalls(CreateHostedConfigurationVersionCommand)[0]!.args[0].input.Content!;
    expect(new TextDecoder().decode(sent as Uint8Array)).toBe(readFileSync(file, 'utf8'));
    expect(appconfig).toHaveReceivedCommandWith(StartDeploymentCommand, {
      ApplicationId: 'app1234',
      EnvironmentId: 'env5678',
      ConfigurationProfileId: 'prof9012',
      DeploymentStrategyId: 'strat34',
      ConfigurationVersion: '4',
    });
  });

  it('push with --json prints one document', async () => {
    deployed(example);
    appconfig.on(CreateHostedConfigurationVersionCommand).resolves({ VersionNumber: 4 });
    appconfig.on(StartDeploymentCommand).resolves({ DeploymentNumber: 7, State: 'DEPLOYING' });
    const run = await runCli(['config', 'push', '--config', edited(), '--json']);
    const answer = JSON.parse(run.stdout);
    expect(answer).toMatchObject({ changed: true, version: 4, deployment: 7 });
    expect(answer.diff).toMatch(/30 5/);
  });

  it('push sends nothing when nothing changed', async () => {
    deployed(example);
    const run = await runCli(['config', 'push']);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/no changes: version 3 is deployed/);
    expect(appconfig).not.toHaveReceivedCommand(CreateHostedConfigurationVersionCommand);
  });

  it('push refuses an invalid config before calling AWS', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'nightshift-push-'));
    const file = join(dir, 'schedule.json');
    writeFileSync(
      file,
      JSON.stringify({
        ...JSON.parse(example),
        schedules: [{ id: 'x', targets: ['nobody'], window: 'Mon 08:00-09:00' }],
      }),
    );
    deployed(example);
    const run = await runCli(['config', 'push', '--config', file]);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(
      /schedules\[0\]\.targets\[0\]: unknown target or group "nobody"[\s\S]*nothing was pushed/,
    );
    expect(appconfig).not.toHaveReceivedCommand(CreateHostedConfigurationVersionCommand);
  });

  const withAccount = (secret: string) => {
    const config = JSON.parse(example);
    config.accounts.staging = { region: 'cn-north-4', projectId: '054ba152d480d55b2f5dc0069e7ddef1', secret };
    config.targets['face-search'].account = 'staging';
    const file = join(mkdtempSync(join(tmpdir(), 'nightshift-push-')), 'schedule.json');
    writeFileSync(file, `${JSON.stringify(config, null, 2)}\n`);
    return file;
  };

  it('push refuses an account whose secret the deployed runtime cannot read, and says why', async () => {
    // Prepare
    deployed(example);
    // Act
    const run = await runCli(['config', 'push', '--config', withAccount('team-b/staging')]);
    // Assess
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(
      /accounts\.staging\.secret: the deployed stack cannot read secret "team-b\/staging": name it under "nightshift\/" \(the stack's account secret prefix\), or add the account and run cdk deploy/,
    );
    expect(run.stderr).toMatch(/nothing was pushed/);
    expect(appconfig).not.toHaveReceivedCommand(CreateHostedConfigurationVersionCommand);
  });

  it('push accepts an account added later whose secret is under the stack’s prefix', async () => {
    deployed(example);
    appconfig.on(CreateHostedConfigurationVersionCommand).resolves({ VersionNumber: 4 });
    appconfig.on(StartDeploymentCommand).resolves({ DeploymentNumber: 7, State: 'DEPLOYING' });
    const run = await runCli(['config', 'push', '--config', withAccount('nightshift/staging')]);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
  });

  it('push reports the validator Lambda refusing the version', async () => {
    deployed(example);
    appconfig.on(CreateHostedConfigurationVersionCommand).rejects(
      new BadRequestException({
        message: 'Validator failed: 1 problem: schedules[0].window: ...',
        $metadata: {},
      }),
    );
    const run = await runCli(['config', 'push', '--config', edited()]);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/AppConfig refused the new version: Validator failed/);
    expect(appconfig).not.toHaveReceivedCommand(StartDeploymentCommand);
  });

  it('pull prints the deployed document, or writes it to a file', async () => {
    deployed('{"version": 1}\n', 5);
    const run = await runCli(['config', 'pull', '--stack', 'Nightshift']);
    expect(run.code).toBe(0);
    expect(run.stdout).toBe('{"version": 1}\n');
    const out = join(mkdtempSync(join(tmpdir(), 'nightshift-pull-')), 'pulled.json');
    const toFile = await runCli(['config', 'pull', '--output', out]);
    expect(toFile.stderr).toMatch(/wrote version 5/);
    expect(readFileSync(out, 'utf8')).toBe('{"version": 1}\n');
  });

  it('names a stack without Nightshift outputs, and a wrong subcommand', async () => {
    cloudformation.on(DescribeStacksCommand, { StackName: 'Other' }).resolves({
      Stacks: [{ StackName: 'Other', CreationTime: new Date(), StackStatus: 'CREATE_COMPLETE', Outputs: [] }],
    });
    const other = await runCli(['config', 'pull', '--stack', 'Other']);
    expect(other.code).toBe(2);
    expect(other.stderr).toMatch(/stack Other has no output AppConfigApplicationId/);
    const wrong = await runCli(['config', 'publish']);
    expect(wrong.code).toBe(2);
  });
});

describe('config push / pull without a region or credentials (real processes)', () => {
  // Nothing from the test's environment or home folder may lend the SDK a region or credentials.
  const bare = {
    env: { HOME: mkdtempSync(join(tmpdir(), 'nightshift-home-')), AWS_EC2_METADATA_DISABLED: 'true' },
    unset: [
      'AWS_REGION',
      'AWS_DEFAULT_REGION',
      'AWS_PROFILE',
      'AWS_ACCESS_KEY_ID',
      'AWS_SECRET_ACCESS_KEY',
      'AWS_SESSION_TOKEN',
      'AWS_CONFIG_FILE',
      'AWS_SHARED_CREDENTIALS_FILE',
      'AWS_CONTAINER_CREDENTIALS_RELATIVE_URI',
      'AWS_CONTAINER_CREDENTIALS_FULL_URI',
      'AWS_WEB_IDENTITY_TOKEN_FILE',
    ],
  };

  it('prints one line naming the fix', async () => {
    // Act
    const [noRegion, noCredentials] = await Promise.all([
      runNightshift(['config', 'pull'], bare),
      runNightshift(['config', 'push', '--region', 'eu-central-1'], bare),
    ]);
    // Assess
    // Besides the AWS SDK's one-line Node.js notice (on Node 20), which the CLI prints at most once.
    const withoutNotice = (text: string) =>
      text
        .split('\n')
        .filter((line) => !line.startsWith('nightshift: warning: The AWS SDK'))
        .join('\n');
    expect(noRegion.code).toBe(2);
    expect(withoutNotice(noRegion.stderr)).toBe(
      'nightshift config pull: no AWS region: pass --region R or set AWS_REGION (or a region in your AWS profile)\n',
    );
    expect(noCredentials.code).toBe(1);
    expect(withoutNotice(noCredentials.stderr)).toBe(
      'nightshift config push: no AWS credentials found: set AWS_PROFILE, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or run "aws sso login" / "aws configure"\n',
    );
    expect(noRegion.stdout + noCredentials.stdout).toBe('');
  }, 60_000);
});
