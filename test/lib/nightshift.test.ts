import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, Stack, Validations } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { AwsSolutionsChecks } from 'cdk-nag';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { resolveCalendarData } from '../../functions/engine/calendar/holiday-sources.ts';
import { ConfigError } from '../../functions/engine/config/validate.ts';
import { parseCredentials } from '../../functions/huawei/credentials.ts';
import { PLACEHOLDER_SECRET, SecretNotSetError } from '../../functions/stores/secrets.ts';
import { NightshiftStack } from '../../lib/nightshift-stack.ts';

const ENV = { account: '123456789012', region: 'eu-central-1' };

/**
 * An app that skips bundling the Lambdas (the CDK's own `aws:cdk:bundling-stacks` switch): the
 * tests of options need the template, not the bundles, and bundling three functions per synth
 * costs seconds. The first synth below bundles for real.
 */
const fastApp = () => new App({ context: { 'aws:cdk:bundling-stacks': [] } });

function synth(props: ConstructorParameters<typeof NightshiftStack>[2] = {}, app = fastApp()) {
  const stack = new NightshiftStack(app, 'Nightshift', { env: ENV, ...props });
  return { app, stack, template: Template.fromStack(stack) };
}

describe('the Nightshift stack', () => {
  let template: Template;
  let stack: NightshiftStack;
  beforeAll(() => {
    ({ template, stack } = synth({ alarmEmail: 'ops@example.com' }, new App()));
  }, 60_000);

  const logicalId = (construct: { node: { defaultChild?: unknown } }) =>
    stack.getLogicalId(construct.node.defaultChild as never);

  it('ticks every minute through EventBridge Scheduler, with the scheduled time, a bounded retry and a DLQ', () => {
    template.hasResourceProperties('AWS::Scheduler::ScheduleGroup', { Name: 'Nightshift-nightshift' });
    template.hasResourceProperties('AWS::Scheduler::Schedule', {
      ScheduleExpression: 'rate(1 minute)',
      FlexibleTimeWindow: { Mode: 'OFF' },
      State: 'ENABLED',
      GroupName: { Ref: Match.anyValue() },
      Target: {
        Arn: { 'Fn::GetAtt': [logicalId(stack.nightshift.tickFunction), 'Arn'] },
        Input: '{"scheduledTime":"<aws.scheduler.scheduled-time>"}',
        RetryPolicy: { MaximumEventAgeInSeconds: 900, MaximumRetryAttempts: 10 },
        DeadLetterConfig: { Arn: { 'Fn::GetAtt': [logicalId(stack.nightshift.deadLetterQueue), 'Arn'] } },
      },
    });
  });

  it('sends a tick that failed inside the Lambda to the DLQ within the lateness bound', () => {
    // The scheduler invokes asynchronously: its retry policy covers deliveries only, and a tick
    // that throws is retried by Lambda's own async settings, which must be bounded too.
    const tick = logicalId(stack.nightshift.tickFunction);
    template.hasResourceProperties('AWS::Lambda::EventInvokeConfig', {
      FunctionName: { Ref: tick },
      Qualifier: '$LATEST',
      MaximumEventAgeInSeconds: 900,
      MaximumRetryAttempts: 2,
      DestinationConfig: {
        OnFailure: { Destination: { 'Fn::GetAtt': [logicalId(stack.nightshift.deadLetterQueue), 'Arn'] } },
      },
    });
    template.hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Action: Match.arrayWith(['sqs:SendMessage']),
            Resource: { 'Fn::GetAtt': [logicalId(stack.nightshift.deadLetterQueue), 'Arn'] },
          }),
        ]),
      },
      Roles: [{ Ref: Match.stringLikeRegexp('TickFunctionServiceRole') }],
    });
  });

  it('encrypts the dead-letter queue and refuses it over plain HTTP', () => {
    template.hasResourceProperties('AWS::SQS::Queue', {
      SqsManagedSseEnabled: true,
      MessageRetentionPeriod: 1209600,
    });
    template.hasResourceProperties('AWS::SQS::QueuePolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
        ]),
      },
    });
  });

  it('lets the scheduler invoke exactly the tick and savings functions and write to the DLQ', () => {
    template.hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Action: 'lambda:InvokeFunction',
            Resource: [
              { 'Fn::GetAtt': [logicalId(stack.nightshift.tickFunction), 'Arn'] },
              { 'Fn::GetAtt': [logicalId(stack.nightshift.savingsFunction), 'Arn'] },
            ],
          }),
          Match.objectLike({ Action: Match.arrayWith(['sqs:SendMessage']) }),
        ]),
      },
    });
  });

  it('runs six Node.js 24 arm64 functions with explicit log groups', () => {
    const functions = template.findResources('AWS::Lambda::Function', {
      Properties: { Runtime: 'nodejs24.x', Architectures: ['arm64'], Handler: 'index.handler' },
    });
    // tick, api, validate-config, savings, and the events' publisher and delivery (lib/notifications.ts)
    expect(Object.keys(functions)).toHaveLength(6);
    for (const fn of Object.values(functions)) {
      expect(fn.Properties.LoggingConfig.LogGroup).toEqual({ Ref: expect.any(String) });
      expect(fn.Properties.Environment?.Variables?.NODE_OPTIONS ?? '--enable-source-maps').toBe(
        '--enable-source-maps',
      );
    }
    template.resourcePropertiesCountIs('AWS::Logs::LogGroup', { RetentionInDays: 30 }, 7);
  });

  it('reserves one concurrent tick and gives the runtime Lambdas their settings', () => {
    template.hasResourceProperties('AWS::Lambda::Function', {
      ReservedConcurrentExecutions: 1,
      Environment: {
        Variables: Match.objectLike({
          NIGHTSHIFT_TABLE_NAME: { Ref: logicalId(stack.nightshift.table) },
          NIGHTSHIFT_APPCONFIG_APPLICATION: { Ref: Match.anyValue() },
          NIGHTSHIFT_APPCONFIG_ENVIRONMENT: { Ref: Match.anyValue() },
          NIGHTSHIFT_APPCONFIG_PROFILE: { Ref: Match.anyValue() },
          NIGHTSHIFT_MAX_LATENESS_MINUTES: '15',
          POWERTOOLS_METRICS_NAMESPACE: 'Nightshift',
        }),
      },
    });
  });

  it('serves the contract routes on a throttled stage with access logs', () => {
    for (const routeKey of [
      'GET /v1/health',
      'POST /v1/actions',
      'GET /v1/plan',
      'GET /v1/overrides',
      'POST /v1/overrides',
      'DELETE /v1/overrides/{id}',
      'GET /v1/status',
      'GET /v1/history',
      'GET /v1/savings',
      '$default',
    ]) {
      template.hasResourceProperties('AWS::ApiGatewayV2::Route', { RouteKey: routeKey });
    }
    template.hasResourceProperties('AWS::ApiGatewayV2::Stage', {
      StageName: '$default',
      AutoDeploy: true,
      DefaultRouteSettings: { ThrottlingRateLimit: 10, ThrottlingBurstLimit: 20 },
      AccessLogSettings: {
        DestinationArn: { 'Fn::GetAtt': [Match.anyValue(), 'Arn'] },
        Format: Match.stringLikeRegexp('requestId'),
      },
    });
  });

  it('serves the page (GET /, sign-in, sign-out, the override forms) through the same api Lambda', () => {
    const routes = template.findResources('AWS::ApiGatewayV2::Route');
    const targetOf = (key: string) =>
      JSON.stringify(Object.values(routes).find((r) => r.Properties.RouteKey === key)?.Properties.Target);
    for (const routeKey of [
      'GET /',
      'HEAD /',
      'GET /signin',
      'POST /signin',
      'POST /signout',
      'POST /overrides',
      'POST /overrides/remove',
    ]) {
      // The router checks the session itself, as it checks signatures on the /v1 routes.
      template.hasResourceProperties('AWS::ApiGatewayV2::Route', {
        RouteKey: routeKey,
        AuthorizationType: 'NONE',
      });
      expect(targetOf(routeKey), routeKey).toBe(targetOf('POST /v1/overrides'));
    }
    expect(targetOf('GET /')).toMatch(/integrations/);
  });

  it('hosts the config in AppConfig with the validator Lambda and deploys it', () => {
    template.hasResourceProperties('AWS::AppConfig::ConfigurationProfile', {
      LocationUri: 'hosted',
      Name: 'schedule',
      Validators: [
        { Type: 'JSON_SCHEMA', Content: Match.stringLikeRegexp('draft-04') },
        { Type: 'LAMBDA', Content: { 'Fn::GetAtt': [logicalId(stack.nightshift.validatorFunction), 'Arn'] } },
      ],
    });
    template.hasResourceProperties('AWS::AppConfig::HostedConfigurationVersion', {
      ContentType: 'application/json',
      Content: readFileSync('config/schedule.json', 'utf8'),
    });
    template.hasResourceProperties('AWS::AppConfig::Deployment', {
      DeploymentStrategyId: { Ref: Match.anyValue() },
    });
    template.hasResourceProperties('AWS::Lambda::Permission', {
      Principal: 'appconfig.amazonaws.com',
      Action: 'lambda:InvokeFunction',
    });
  });

  it('grants the runtime Lambdas exactly the config, the secrets and the table', () => {
    template.hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Action: ['appconfig:StartConfigurationSession', 'appconfig:GetLatestConfiguration'],
            Resource: {
              'Fn::Join': [
                '',
                Match.arrayWith([
                  Match.stringLikeRegexp(':appconfig:eu-central-1:123456789012:application/'),
                ]),
              ],
            },
          }),
          Match.objectLike({
            Action: ['secretsmanager:GetSecretValue', 'secretsmanager:DescribeSecret'],
            Resource: { Ref: Match.stringLikeRegexp('AccountSecretnightshiftprod') },
          }),
        ]),
      },
      Roles: [{ Ref: Match.stringLikeRegexp('TickFunctionServiceRole') }],
    });
    template.hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Action: ['secretsmanager:GetSecretValue', 'secretsmanager:DescribeSecret'],
            Resource: { Ref: Match.stringLikeRegexp('WebhookKey') },
          }),
        ]),
      },
      Roles: [{ Ref: Match.stringLikeRegexp('ApiFunctionServiceRole') }],
    });
  });

  it('generates the webhook key and creates the account secrets named in the config', () => {
    template.hasResourceProperties('AWS::SecretsManager::Secret', {
      Name: 'Nightshift-nightshift/webhook',
      GenerateSecretString: {
        GenerateStringKey: 'key',
        SecretStringTemplate: '{}',
        PasswordLength: 48,
        ExcludePunctuation: true,
      },
    });
    template.hasResourceProperties('AWS::SecretsManager::Secret', { Name: 'nightshift/prod' });
  });

  // Finding 7 (issue 20): the account secret used to be created as a random string
  // (`GenerateSecretString: {}`), which every tick then failed on and alarmed about.
  it('creates each account secret holding the JSON placeholder the runtime reports as "secret not set"', () => {
    template.hasResourceProperties('AWS::SecretsManager::Secret', {
      Name: 'nightshift/prod',
      SecretString: PLACEHOLDER_SECRET,
      GenerateSecretString: Match.absent(),
    });
    expect(() => parseCredentials('nightshift/prod', PLACEHOLDER_SECRET)).toThrowError(SecretNotSetError);
  });

  it('keeps the ledger in one on-demand, encrypted table with TTL and point-in-time recovery', () => {
    template.hasResource('AWS::DynamoDB::Table', {
      DeletionPolicy: 'Retain',
      Properties: {
        BillingMode: 'PAY_PER_REQUEST',
        KeySchema: [
          { AttributeName: 'pk', KeyType: 'HASH' },
          { AttributeName: 'sk', KeyType: 'RANGE' },
        ],
        TimeToLiveSpecification: { AttributeName: 'ttl', Enabled: true },
        PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
        SSESpecification: { SSEEnabled: true },
      },
    });
  });

  it('alarms on failed and missed actions, tick errors, dead letters and API 5xx to the topic', () => {
    const topic = logicalId(stack.nightshift.alarmTopic);
    const alarms = template.findResources('AWS::CloudWatch::Alarm', {
      Properties: { AlarmActions: [{ Ref: topic }] },
    });
    const metrics = Object.values(alarms)
      .map((a) => a.Properties.MetricName)
      .sort();
    expect(metrics).toEqual([
      '5xx',
      'ActionsFailed',
      'ActionsMissed',
      // the tick's dead letters, and the events' (lib/notifications.ts)
      'ApproximateNumberOfMessagesVisible',
      'ApproximateNumberOfMessagesVisible',
      'CalendarDataEnding',
      'Errors',
      // events late reaching the bus
      'IteratorAge',
    ]);
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'Nightshift',
      MetricName: 'CalendarDataEnding',
      Statistic: 'Maximum',
      Period: 3600,
      Threshold: 1,
    });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'Nightshift',
      MetricName: 'ActionsFailed',
      Dimensions: [{ Name: 'service', Value: 'nightshift' }],
      Threshold: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
    });
    template.hasResourceProperties('AWS::SNS::Subscription', {
      Protocol: 'email',
      Endpoint: 'ops@example.com',
    });
    template.hasResourceProperties('AWS::SNS::TopicPolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
        ]),
      },
    });
  });

  it('draws a dashboard of actions, latency and tick health', () => {
    const dashboards = template.findResources('AWS::CloudWatch::Dashboard');
    const body = JSON.stringify(Object.values(dashboards)[0]!.Properties.DashboardBody);
    for (const title of [
      'Actions by result',
      'Upstream latency by kind and action',
      'Tick health',
      'Overrides and targets out of sync',
      'Hours held off per day (all targets)',
      'Hours held off per day, by target',
    ])
      expect(body).toContain(title);
    for (const metric of ['OverridesActive', 'TargetsOutOfSync', 'OverridesExpiring', 'HoursHeldOff'])
      expect(body).toContain(metric);
    // Per target: a search over the target dimension, summed by day.
    expect(body).toMatch(
      /SEARCH\('\{Nightshift,service,target\} MetricName=[^']*HoursHeldOff[^']*', 'Sum', 86400\)/,
    );
  });

  it('publishes HoursHeldOff five minutes past each hour, reading the table and the config only', () => {
    template.hasResourceProperties('AWS::Scheduler::Schedule', {
      ScheduleExpression: 'cron(5 * * * ? *)',
      FlexibleTimeWindow: { Mode: 'OFF' },
      Target: {
        Arn: { 'Fn::GetAtt': [logicalId(stack.nightshift.savingsFunction), 'Arn'] },
        Input: JSON.stringify({ scheduledTime: '<aws.scheduler.scheduled-time>' }),
        RetryPolicy: { MaximumEventAgeInSeconds: 3000, MaximumRetryAttempts: 5 },
      },
    });
    template.hasResourceProperties('AWS::Lambda::EventInvokeConfig', {
      FunctionName: { Ref: logicalId(stack.nightshift.savingsFunction) },
      MaximumEventAgeInSeconds: 3600,
      MaximumRetryAttempts: 2,
    });
    const policies = template.findResources('AWS::IAM::Policy', {
      Properties: { Roles: [{ Ref: Match.stringLikeRegexp('SavingsFunctionServiceRole') }] },
    });
    const statements = Object.values(policies).flatMap((p) => p.Properties.PolicyDocument.Statement);
    const actions = statements.flatMap((st: { Action: string | string[] }) => [st.Action].flat());
    expect(actions).toEqual(
      expect.arrayContaining(['dynamodb:Query', 'dynamodb:PutItem', 'appconfig:GetLatestConfiguration']),
    );
    expect(actions.filter((a: string) => a.startsWith('secretsmanager:'))).toEqual([]);
  });

  it('exports the ids that config push and pull read', () => {
    for (const output of [
      'ApiUrl',
      'AppConfigApplicationId',
      'AppConfigEnvironmentId',
      'AppConfigProfileId',
      'AppConfigDeploymentStrategyId',
    ]) {
      expect(Object.keys(template.findOutputs('*')).some((key) => key.includes(output))).toBe(true);
    }
  });
});

describe('stack options', () => {
  it('imports existing account secrets by name and grants exactly them', () => {
    const { template } = synth({ accountSecrets: 'import', tickReservedConcurrency: 0 });
    template.resourcePropertiesCountIs('AWS::SecretsManager::Secret', { Name: 'nightshift/prod' }, 0);
    template.hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Action: ['secretsmanager:GetSecretValue', 'secretsmanager:DescribeSecret'],
            Resource: {
              'Fn::Join': [
                '',
                Match.arrayWith([Match.stringLikeRegexp(':secret:nightshift/prod-\\?\\?\\?\\?\\?\\?$')]),
              ],
            },
          }),
        ]),
      },
    });
    expect(JSON.stringify(template.findResources('AWS::Lambda::Function'))).not.toContain(
      'ReservedConcurrentExecutions',
    );
    // A whole synth, the three Lambda bundles included, as the beforeAll above.
  }, 60_000);

  it('deploys calendars with their holiday dates resolved, and refuses an unknown country at synth', () => {
    // Prepare
    const dir = mkdtempSync(join(tmpdir(), 'nightshift-cdk-'));
    const config = JSON.parse(readFileSync('config/schedule.json', 'utf8'));
    config.calendars = { by: { country: 'DE', state: 'BY' } };
    config.schedules[0].calendar = 'by';
    writeFileSync(join(dir, 'schedule.json'), JSON.stringify(config));
    // Act
    const withCalendar = Template.fromStack(
      new NightshiftStack(new App(), 'Cal', { env: ENV, configPath: join(dir, 'schedule.json') }),
    );
    // Assess
    const versions = Object.values(withCalendar.findResources('AWS::AppConfig::HostedConfigurationVersion'));
    const deployed = JSON.parse(versions[0]!.Properties.Content);
    expect(deployed.calendars.by).toMatchObject({
      country: 'DE',
      state: 'BY',
      resolved: { source: expect.stringMatching(/^date-holidays /), holidays: expect.any(Object) },
    });
    const year = new Date().getUTCFullYear();
    expect(deployed.calendars.by.resolved.holidays[`${year}-01-06`]).toBe('Heilige Drei Könige');
    expect(deployed.calendars.by.resolved.until).toBe(`${year + 2}-12-31`);

    config.calendars.by.country = 'XX';
    writeFileSync(join(dir, 'schedule.json'), JSON.stringify(config));
    expect(() => new NightshiftStack(new App(), 'Bad', { configPath: join(dir, 'schedule.json') })).toThrow(
      /calendars\.by\.country: unknown country "XX"/,
    );
  }, 60_000);

  it('a bad config makes synth fail with the path-named errors', () => {
    const dir = mkdtempSync(join(tmpdir(), 'nightshift-cdk-'));
    const bad = JSON.parse(readFileSync('config/schedule.json', 'utf8'));
    bad.schedules[1].actions[0].cron = '0 1 * *';
    bad.targets['face-search'].account = 'staging';
    writeFileSync(join(dir, 'schedule.json'), JSON.stringify(bad));
    expect(() => new NightshiftStack(new App(), 'Bad', { configPath: join(dir, 'schedule.json') })).toThrow(
      ConfigError,
    );
    const attempt = () => new NightshiftStack(new App(), 'Bad2', { configPath: join(dir, 'schedule.json') });
    expect(attempt).toThrow(/2 problems in .*schedule\.json/);
    expect(attempt).toThrow(/targets\.face-search\.account: unknown account "staging"/);
    expect(attempt).toThrow(/schedules\[1\]\.actions\[0\]\.cron: expected five fields/);
  });
});

/** A copy of the example config with changes, in a temporary file. */
// biome-ignore lint/suspicious/noExplicitAny: a test edits the parsed example freely
function exampleWith(change: (config: Record<string, any>) => void): string {
  const config = JSON.parse(readFileSync('config/schedule.json', 'utf8'));
  change(config);
  const dir = mkdtempSync(join(tmpdir(), 'nightshift-cdk-'));
  writeFileSync(join(dir, 'schedule.json'), JSON.stringify(config));
  return join(dir, 'schedule.json');
}

/** The logical id of the secret resource with this name. */
function secretLogicalId(template: Template, name: string): string | undefined {
  const found = template.findResources('AWS::SecretsManager::Secret', { Properties: { Name: name } });
  return Object.keys(found)[0];
}

describe('secrets across config changes and stacks', () => {
  it('keeps an account secret’s logical id when an account is added before it', () => {
    const before = synth().template;
    const after = synth({
      configPath: exampleWith((config) => {
        config.accounts = {
          aaa: {
            region: 'cn-north-4',
            projectId: '054ba152d480d55b2f5dc0069e7ddef1',
            secret: 'nightshift/aaa',
          },
          ...config.accounts,
        };
      }),
    }).template;
    const id = secretLogicalId(before, 'nightshift/prod');
    expect(id).toBeDefined();
    expect(secretLogicalId(after, 'nightshift/prod')).toBe(id);
    expect(secretLogicalId(after, 'nightshift/aaa')).not.toBe(id);
  }, 60_000);

  it('names the generated webhook secret after the stack, so two stacks do not collide', () => {
    const a = new NightshiftStack(fastApp(), 'Alpha', { env: ENV });
    const b = new NightshiftStack(fastApp(), 'Beta', { env: ENV });
    Template.fromStack(a).hasResourceProperties('AWS::SecretsManager::Secret', {
      Name: 'Alpha-nightshift/webhook',
      GenerateSecretString: Match.objectLike({ GenerateStringKey: 'key' }),
    });
    Template.fromStack(b).hasResourceProperties('AWS::SecretsManager::Secret', {
      Name: 'Beta-nightshift/webhook',
    });
    // The api Lambda reads the stack's webhook secret, whatever the config's default says.
    Template.fromStack(a).hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: Match.objectLike({ NIGHTSHIFT_WEBHOOK_SECRET: 'Alpha-nightshift/webhook' }) },
    });
  }, 60_000);

  it('takes the webhook secret name from a prop, or from the config when it names one', () => {
    const fromProp = synth({ webhookSecretName: 'team-a/webhook' }).template;
    fromProp.hasResourceProperties('AWS::SecretsManager::Secret', { Name: 'team-a/webhook' });
    const fromConfig = synth({
      configPath: exampleWith((config) => {
        config.webhook = { secret: 'ops/nightshift-webhook' };
      }),
    }).template;
    fromConfig.hasResourceProperties('AWS::SecretsManager::Secret', { Name: 'ops/nightshift-webhook' });
  }, 60_000);

  it('lets the runtime Lambdas read every secret under the documented prefix, for accounts pushed later', () => {
    const { template } = synth({ accountSecretPrefix: 'team-a/' });
    for (const role of ['TickFunctionServiceRole', 'ApiFunctionServiceRole']) {
      template.hasResourceProperties('AWS::IAM::Policy', {
        PolicyDocument: {
          Statement: Match.arrayWith([
            Match.objectLike({
              Action: ['secretsmanager:GetSecretValue', 'secretsmanager:DescribeSecret'],
              Resource: {
                'Fn::Join': ['', Match.arrayWith([Match.stringLikeRegexp(':secret:team-a/\\*$')])],
              },
            }),
          ]),
        },
        Roles: [{ Ref: Match.stringLikeRegexp(role) }],
      });
    }
    const outputs = template.findOutputs('*');
    const output = (name: string) =>
      Object.entries(outputs).find(([key]) => key.includes(name))?.[1]?.Value as unknown;
    expect(output('AccountSecretPrefix')).toBe('team-a/');
    expect(output('AccountSecretNames')).toBe('nightshift/prod');
  }, 60_000);
});

describe('the placeholder secret value', () => {
  it('never changes: CloudFormation would write a changed value over the credentials put in since', () => {
    expect(JSON.parse(PLACEHOLDER_SECRET)).toEqual({
      placeholder:
        'Nightshift: secret not set. Replace this whole value with the account credentials, e.g. {"aksk": {"ak": "<Access Key Id>", "sk": "<Secret Access Key>"}} (README: Deploy, Fill in the secrets).',
    });
  });
});

describe('AWS China (partition aws-cn)', () => {
  // Finding 7 (issue 20): whether AWS China regions work. Every ARN comes from the partition.
  it('synthesizes for cn-north-1 with no hard-coded aws partition, and cdk-nag finds nothing', () => {
    const app = fastApp();
    const stack = new NightshiftStack(app, 'Nightshift', {
      env: { account: '123456789012', region: 'cn-north-1' },
    });
    Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
    expect(() => app.synth()).not.toThrow();
    const text = JSON.stringify(Template.fromStack(stack).toJSON());
    expect(text).not.toMatch(/arn:aws:/);
    expect(text).toMatch(/arn:aws-cn:|"Ref":"AWS::Partition"/);
    Template.fromStack(stack).resourceCountIs('AWS::Scheduler::Schedule', 2);
  }, 60_000);
});

describe('cdk synth and the holiday data', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  // Finding 6 (issue 20): cdk synth printed no warning when the CN data was about to end.
  it('warns, with what to add, when a calendar in use has no data for part of the next 60 days', () => {
    const config = JSON.parse(readFileSync('config/examples/china-office.json', 'utf8'));
    const dir = mkdtempSync(join(tmpdir(), 'nightshift-cdk-cn-'));
    writeFileSync(join(dir, 'schedule.json'), JSON.stringify(config));
    const until = resolveCalendarData({ country: 'CN' }, 2025, 2100).until;
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(new Date(Date.parse(`${until}T00:00:00Z`) - 30 * 86_400_000));
    const stack = new NightshiftStack(fastApp(), 'Cn', { env: ENV, configPath: join(dir, 'schedule.json') });
    Annotations.fromStack(stack).hasWarning(
      '/Cn/Nightshift',
      Match.stringLikeRegexp(
        `calendars\\.cn: holiday data ends on ${until} .*Add the dates of the official \\d{4} holiday notice to calendars\\.cn: the days off to "extraHolidays", the make-up working days to "extraWorkdays"`,
      ),
    );
  }, 60_000);
});

describe('cdk-nag AwsSolutions', () => {
  it('finds nothing unacknowledged in the stack', () => {
    const app = fastApp();
    new NightshiftStack(app, 'Nightshift', { env: ENV, alarmEmail: 'ops@example.com' });
    Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
    expect(() => app.synth()).not.toThrow();
  }, 60_000);

  it('does fail synth on an unacknowledged finding (so the test above can fail)', () => {
    const app = new App();
    const stack = new Stack(app, 'Careless', { env: ENV });
    new sqs.Queue(stack, 'Unencrypted', { encryption: sqs.QueueEncryption.UNENCRYPTED });
    Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
    expect(() => app.synth()).toThrow(/AwsSolutions-SQS/);
  });
});
