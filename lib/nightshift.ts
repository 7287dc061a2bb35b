import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import {
  Annotations,
  ArnFormat,
  CfnOutput,
  Duration,
  RemovalPolicy,
  SecretValue,
  Stack,
  Token,
  Validations,
} from 'aws-cdk-lib';
import { AccessLogFormat } from 'aws-cdk-lib/aws-apigateway';
import * as apigw from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import * as appconfig from 'aws-cdk-lib/aws-appconfig';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as destinations from 'aws-cdk-lib/aws-lambda-destinations';
import * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { calendarDataEnding } from '../functions/engine/calendar/holidays.ts';
import { configJsonSchemaDraft4Text } from '../functions/engine/config/json-schema.ts';
import { parseConfigText } from '../functions/engine/config/parse-text.ts';
import { withPositions } from '../functions/engine/config/positions.ts';
import {
  checkCalendarSources,
  deployableText,
  withCalendarData,
} from '../functions/engine/config/resolve-calendars.ts';
import type { Config } from '../functions/engine/config/schema.ts';
import {
  BUNDLE_TARGET,
  ESM_REQUIRE_BANNER,
  EXTERNAL_MODULES,
  type HandlerName,
  handlerEntry,
  MAIN_FIELDS,
} from '../functions/handlers/bundle-options.ts';
import { ConfigFileError } from '../functions/stores/local-config.ts';
import { PLACEHOLDER_SECRET } from '../functions/stores/secrets.ts';
import { nightshiftCount } from './metrics.ts';
import { NightshiftEvents } from './notifications.ts';

export interface NightshiftProps {
  /** The schedule config, validated at synth. Default `config/schedule.json`. */
  readonly configPath?: string;
  /**
   * `create` (default): the stack creates each account secret named in the config as a
   * placeholder you fill in. `import`: the secrets already exist and are referenced by name.
   */
  readonly accountSecrets?: 'create' | 'import';
  /** E-mail address subscribed to the alarm topic. Default: none. */
  readonly alarmEmail?: string;
  /** Retention of the Lambda, API access and tick log groups. Default one month. */
  readonly logRetention?: logs.RetentionDays;
  /** A tick delivered later than this records its actions as missed. Default 15 minutes. */
  readonly maxLatenessMinutes?: number;
  /** Scheduler retries of a failed tick (within the lateness bound). Default 10. */
  readonly tickRetryAttempts?: number;
  /** Days history items live in the ledger. Default 90. */
  readonly historyTtlDays?: number;
  /** HTTP API stage throttling. Default 10 requests/s, bursts of 20. */
  readonly apiThrottle?: { readonly rateLimit: number; readonly burstLimit: number };
  /**
   * Reserved concurrency of the tick Lambda, so ticks never pile up. Default 1; set 0 to reserve
   * nothing (accounts with the minimum concurrency quota cannot reserve any).
   */
  readonly tickReservedConcurrency?: number;
  /** Retention of the ledger table when the stack is deleted. Default RETAIN. */
  readonly ledgerRemovalPolicy?: RemovalPolicy;
  /**
   * The name of the webhook signing-key secret the stack generates. Default: the config's
   * `webhook.secret` when the config names one, else `<stack name>-nightshift/webhook`, so two
   * stacks in one account and region never collide.
   */
  readonly webhookSecretName?: string;
  /**
   * The runtime Lambdas may read every secret whose name starts with this prefix, so an account
   * added later by `nightshift config push` can name a new secret under it without a redeploy.
   * Default `nightshift/`. Give stacks sharing an account and region different prefixes.
   */
  readonly accountSecretPrefix?: string;
}

/**
 * Nightshift on AWS: the minute tick (EventBridge Scheduler → Lambda), the HTTP API (API Gateway →
 * Lambda), the config in AppConfig with a validator, secrets, the DynamoDB ledger, alarms and a
 * dashboard. Put it in any CDK app; the config is validated when the app synthesizes.
 */
export class Nightshift extends Construct {
  readonly config: Config;
  readonly table: dynamodb.Table;
  readonly tickFunction: nodejs.NodejsFunction;
  readonly apiFunction: nodejs.NodejsFunction;
  readonly validatorFunction: nodejs.NodejsFunction;
  /** Publishes `HoursHeldOff` (per target and in total) a few minutes past each hour. */
  readonly savingsFunction: nodejs.NodejsFunction;
  readonly httpApi: apigw.HttpApi;
  readonly deadLetterQueue: sqs.Queue;
  readonly alarmTopic: sns.Topic;
  readonly webhookSecret: secretsmanager.Secret;
  readonly accountSecrets: secretsmanager.ISecret[];
  readonly webhookSecretName: string;
  readonly accountSecretPrefix: string;
  readonly dashboard: cloudwatch.Dashboard;
  /** The event bus, the event stream, the delivery queue and function (see lib/notifications.ts). */
  readonly events: NightshiftEvents;

  constructor(scope: Construct, id: string, props: NightshiftProps = {}) {
    super(scope, id);
    const stack = Stack.of(this);
    const configPath = resolve(props.configPath ?? 'config/schedule.json');
    const configText = readConfigText(configPath);
    // Synth fails here, with the same path-named errors as `nightshift validate`.
    this.config = parseConfigText(configText, configPath, {
      extraChecks: checkCalendarSources,
      deployable: true,
      locate: withPositions,
    });
    // The Lambdas carry no holiday library: calendars travel with their dates resolved.
    const deployedText = deployableText(configText, this.config);
    // `cdk synth` says when a calendar's holiday data ends soon, and what to add, as validate does.
    for (const warning of calendarDataEnding(withCalendarData(this.config), Date.now()))
      Annotations.of(this).addWarningV2(
        'nightshift:calendar-data-ending',
        `${warning.path}: ${warning.message}`,
      );
    const retention = props.logRetention ?? logs.RetentionDays.ONE_MONTH;
    const maxLatenessMinutes = props.maxLatenessMinutes ?? 15;

    // ---- ledger ----
    this.table = new dynamodb.Table(this, 'Ledger', {
      partitionKey: { name: 'pk', type: dynamodb.AttributeType.STRING },
      sortKey: { name: 'sk', type: dynamodb.AttributeType.STRING },
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      timeToLiveAttribute: 'ttl',
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      encryption: dynamodb.TableEncryption.AWS_MANAGED,
      removalPolicy: props.ledgerRemovalPolicy ?? RemovalPolicy.RETAIN,
      // The stream is the events' outbox: every outcome and override change recorded is announced.
      stream: dynamodb.StreamViewType.NEW_AND_OLD_IMAGES,
    });

    // ---- secrets ----
    this.webhookSecretName =
      props.webhookSecretName ?? explicitWebhookSecret(configText) ?? `${stack.stackName}-nightshift/webhook`;
    this.accountSecretPrefix = props.accountSecretPrefix ?? 'nightshift/';
    if (!/^[A-Za-z0-9/_+=.@-]+$/.test(this.accountSecretPrefix)) {
      throw new Error(
        `accountSecretPrefix must be a non-empty secret-name prefix (letters, digits and /_+=.@-), got "${this.accountSecretPrefix}"`,
      );
    }
    this.webhookSecret = new secretsmanager.Secret(this, 'WebhookKey', {
      secretName: this.webhookSecretName,
      description: 'Nightshift HTTP API signing key: {"key": "..."}',
      generateSecretString: {
        secretStringTemplate: '{}',
        generateStringKey: 'key',
        passwordLength: 48,
        excludePunctuation: true,
      },
    });
    const secretNames = [...new Set(Object.values(this.config.accounts).map((a) => a.secret))];
    // Construct ids follow the secret's name, not its position: adding an account before another
    // must not renumber (and so replace) the secret that holds the other's credentials.
    this.accountSecrets = secretNames.map((name) =>
      props.accountSecrets === 'import'
        ? secretNameOrArn(this, accountSecretId(name), name)
        : new secretsmanager.Secret(this, accountSecretId(name), {
            secretName: name,
            description: `Huawei Cloud credentials for Nightshift: {"aksk": {"ak", "sk", "securityToken"?}}, {"iam": {"domain", "user", "password"}} or {"token": ...}`,
            // JSON the runtime recognises as "not set" (NIGHTSHIFT.SECRET_NOT_SET: reported, not
            // failed) until the credentials are put in. A constant: CloudFormation writes the
            // value again only when this text changes, never over credentials put in later.
            secretStringValue: SecretValue.unsafePlainText(PLACEHOLDER_SECRET),
          }),
    );

    // ---- AppConfig ----
    const application = new appconfig.Application(this, 'AppConfig', {
      applicationName: `${stack.stackName}-nightshift`,
    });
    const environment = new appconfig.Environment(this, 'AppConfigEnvironment', {
      application,
      environmentName: 'live',
    });
    const strategy = new appconfig.DeploymentStrategy(this, 'AppConfigStrategy', {
      rolloutStrategy: appconfig.RolloutStrategy.linear({
        growthFactor: 100,
        deploymentDuration: Duration.minutes(0),
        finalBakeTime: Duration.minutes(0),
      }),
    });

    // ---- functions ----
    const environmentVariables: Record<string, string> = {
      NIGHTSHIFT_TABLE_NAME: this.table.tableName,
      NIGHTSHIFT_APPCONFIG_APPLICATION: application.applicationId,
      NIGHTSHIFT_APPCONFIG_ENVIRONMENT: environment.environmentId,
      NIGHTSHIFT_MAX_LATENESS_MINUTES: String(maxLatenessMinutes),
      NIGHTSHIFT_HISTORY_TTL_DAYS: String(props.historyTtlDays ?? 90),
      POWERTOOLS_SERVICE_NAME: 'nightshift',
      POWERTOOLS_METRICS_NAMESPACE: 'Nightshift',
      NODE_OPTIONS: '--enable-source-maps',
    };
    const fn = (
      name: HandlerName,
      options: { timeout: Duration; memorySize: number; environment?: Record<string, string> },
    ) =>
      new nodejs.NodejsFunction(this, `${pascal(name)}Function`, {
        entry: handlerEntry(name),
        handler: 'handler',
        runtime: lambda.Runtime.NODEJS_24_X,
        architecture: lambda.Architecture.ARM_64,
        timeout: options.timeout,
        memorySize: options.memorySize,
        environment: options.environment ?? {},
        logGroup: new logs.LogGroup(this, `${pascal(name)}Logs`, {
          retention,
          removalPolicy: RemovalPolicy.DESTROY,
        }),
        bundling: {
          format: nodejs.OutputFormat.ESM,
          minify: true,
          sourceMap: true,
          target: BUNDLE_TARGET,
          mainFields: MAIN_FIELDS,
          banner: ESM_REQUIRE_BANNER,
          externalModules: EXTERNAL_MODULES,
          forceDockerBundling: false,
        },
      });
    this.validatorFunction = fn('validate-config', { timeout: Duration.seconds(15), memorySize: 256 });

    const profile = new appconfig.HostedConfiguration(this, 'Schedule', {
      application,
      name: 'schedule',
      description: 'Nightshift schedule config (config/schedule.json)',
      content: appconfig.ConfigurationContent.fromInlineJson(deployedText),
      validators: [
        appconfig.JsonSchemaValidator.fromInline(configJsonSchemaDraft4Text()),
        appconfig.LambdaValidator.fromFunction(this.validatorFunction),
      ],
      deploymentStrategy: strategy,
      deployTo: [environment],
    });
    environmentVariables.NIGHTSHIFT_APPCONFIG_PROFILE = profile.configurationProfileId;

    this.tickFunction = fn('tick', {
      timeout: Duration.seconds(60),
      memorySize: 512,
      environment: environmentVariables,
    });
    const reserved = props.tickReservedConcurrency ?? 1;
    if (reserved > 0) {
      (this.tickFunction.node.defaultChild as lambda.CfnFunction).reservedConcurrentExecutions = reserved;
    }
    this.apiFunction = fn('api', {
      timeout: Duration.seconds(30),
      memorySize: 512,
      environment: { ...environmentVariables, NIGHTSHIFT_WEBHOOK_SECRET: this.webhookSecretName },
    });

    const configArn = stack.formatArn({
      service: 'appconfig',
      resource: 'application',
      resourceName: `${application.applicationId}/environment/${environment.environmentId}/configuration/${profile.configurationProfileId}`,
    });
    // Secrets of accounts added later by `config push` (no redeploy) live under the prefix.
    const prefixedSecretsArn = stack.formatArn({
      service: 'secretsmanager',
      resource: 'secret',
      resourceName: `${this.accountSecretPrefix}*`,
      arnFormat: ArnFormat.COLON_RESOURCE_NAME,
    });
    for (const runtime of [this.tickFunction, this.apiFunction]) {
      this.table.grantReadWriteData(runtime);
      runtime.addToRolePolicy(
        new iam.PolicyStatement({
          actions: ['appconfig:StartConfigurationSession', 'appconfig:GetLatestConfiguration'],
          resources: [configArn],
        }),
      );
      for (const secret of this.accountSecrets) secret.grantRead(runtime);
      runtime.addToRolePolicy(
        new iam.PolicyStatement({
          actions: ['secretsmanager:GetSecretValue', 'secretsmanager:DescribeSecret'],
          resources: [prefixedSecretsArn],
        }),
      );
    }
    this.webhookSecret.grantRead(this.apiFunction);

    // ---- savings: HoursHeldOff each hour (reads the ledger and the config; no secrets) ----
    this.savingsFunction = fn('savings', {
      timeout: Duration.seconds(60),
      memorySize: 512,
      environment: environmentVariables,
    });
    // Read and write: each hour is published once, held in the idempotency items.
    this.table.grantReadWriteData(this.savingsFunction);
    this.savingsFunction.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ['appconfig:StartConfigurationSession', 'appconfig:GetLatestConfiguration'],
        resources: [configArn],
      }),
    );

    // ---- tick schedule ----
    this.deadLetterQueue = new sqs.Queue(this, 'TickDeadLetters', {
      enforceSSL: true,
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      retentionPeriod: Duration.days(14),
    });
    const schedulerRole = new iam.Role(this, 'SchedulerRole', {
      assumedBy: new iam.ServicePrincipal('scheduler.amazonaws.com', {
        conditions: { StringEquals: { 'aws:SourceAccount': stack.account } },
      }),
    });
    // The function itself, not `:*`: the schedule invokes $LATEST and nothing else.
    schedulerRole.addToPolicy(
      new iam.PolicyStatement({
        actions: ['lambda:InvokeFunction'],
        resources: [this.tickFunction.functionArn, this.savingsFunction.functionArn],
      }),
    );
    this.deadLetterQueue.grantSendMessages(schedulerRole);
    // The scheduler invokes the tick asynchronously, so its retry policy and DLQ cover failed
    // deliveries only. A tick that throws (config or ledger unreadable) is retried by Lambda's
    // own async settings, which default to events 6 h old and then drop them: bound them by the
    // same lateness and send what is left to the same queue.
    this.tickFunction.configureAsyncInvoke({
      retryAttempts: 2,
      maxEventAge: Duration.minutes(maxLatenessMinutes),
      onFailure: new destinations.SqsDestination(this.deadLetterQueue),
    });
    const group = new scheduler.CfnScheduleGroup(this, 'TickGroup', {
      name: `${stack.stackName}-nightshift`,
    });
    const tickSchedule = new scheduler.CfnSchedule(this, 'Tick', {
      groupName: group.ref,
      description: 'Nightshift minute tick',
      scheduleExpression: 'rate(1 minute)',
      flexibleTimeWindow: { mode: 'OFF' },
      state: 'ENABLED',
      target: {
        arn: this.tickFunction.functionArn,
        roleArn: schedulerRole.roleArn,
        input: JSON.stringify({ scheduledTime: '<aws.scheduler.scheduled-time>' }),
        retryPolicy: {
          maximumEventAgeInSeconds: maxLatenessMinutes * 60,
          maximumRetryAttempts: props.tickRetryAttempts ?? 10,
        },
        deadLetterConfig: { arn: this.deadLetterQueue.queueArn },
      },
    });
    tickSchedule.addResourceDependency(group);
    // Five minutes past each hour, for the hour before: its last outcomes are recorded by then.
    // A figure, not an action: retried briefly, never to the tick's dead-letter alarm.
    this.savingsFunction.configureAsyncInvoke({ retryAttempts: 2, maxEventAge: Duration.hours(1) });
    const savingsSchedule = new scheduler.CfnSchedule(this, 'SavingsMetrics', {
      groupName: group.ref,
      description: 'Nightshift HoursHeldOff, each hour',
      scheduleExpression: 'cron(5 * * * ? *)',
      flexibleTimeWindow: { mode: 'OFF' },
      state: 'ENABLED',
      target: {
        arn: this.savingsFunction.functionArn,
        roleArn: schedulerRole.roleArn,
        input: JSON.stringify({ scheduledTime: '<aws.scheduler.scheduled-time>' }),
        retryPolicy: { maximumEventAgeInSeconds: 3000, maximumRetryAttempts: 5 },
      },
    });
    savingsSchedule.addResourceDependency(group);

    // ---- HTTP API ----
    const accessLogs = new logs.LogGroup(this, 'ApiAccessLogs', {
      retention,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    const integration = new HttpLambdaIntegration('ApiIntegration', this.apiFunction);
    this.httpApi = new apigw.HttpApi(this, 'HttpApi', {
      description: 'Nightshift HTTP API (requests are HMAC-signed; see the README)',
      createDefaultStage: false,
      // Unknown routes and methods reach the router too, so they get its JSON 404/405, not API Gateway's.
      defaultIntegration: integration,
    });
    const stage = new apigw.HttpStage(this, 'HttpApiStage', {
      httpApi: this.httpApi,
      stageName: '$default',
      autoDeploy: true,
      throttle: props.apiThrottle ?? { rateLimit: 10, burstLimit: 20 },
      accessLogSettings: {
        destination: new apigw.LogGroupLogDestination(accessLogs),
        format: AccessLogFormat.custom(
          JSON.stringify({
            requestId: '$context.requestId',
            ip: '$context.identity.sourceIp',
            requestTime: '$context.requestTime',
            method: '$context.httpMethod',
            path: '$context.path',
            status: '$context.status',
            latencyMs: '$context.responseLatency',
            integrationError: '$context.integrationErrorMessage',
          }),
        ),
      },
    });
    this.httpApi.addRoutes({ path: '/v1/health', methods: [apigw.HttpMethod.GET], integration });
    this.httpApi.addRoutes({ path: '/v1/actions', methods: [apigw.HttpMethod.POST], integration });
    this.httpApi.addRoutes({ path: '/v1/plan', methods: [apigw.HttpMethod.GET], integration });
    // Overrides, status and history (the api Lambda already reads and writes the ledger and reads
    // the account secrets it needs for live status reads).
    this.httpApi.addRoutes({
      path: '/v1/overrides',
      methods: [apigw.HttpMethod.GET, apigw.HttpMethod.POST],
      integration,
    });
    this.httpApi.addRoutes({ path: '/v1/overrides/{id}', methods: [apigw.HttpMethod.DELETE], integration });
    this.httpApi.addRoutes({ path: '/v1/status', methods: [apigw.HttpMethod.GET], integration });
    this.httpApi.addRoutes({ path: '/v1/history', methods: [apigw.HttpMethod.GET], integration });
    this.httpApi.addRoutes({ path: '/v1/savings', methods: [apigw.HttpMethod.GET], integration });
    // The page (functions/page/): signed-in sessions instead of request signatures.
    for (const [path, methods] of PAGE_ROUTES)
      this.httpApi.addRoutes({ path, methods: methods.map((m) => apigw.HttpMethod[m]), integration });

    // ---- alarms and dashboard ----
    this.alarmTopic = new sns.Topic(this, 'Alarms', {
      displayName: 'Nightshift alarms',
      enforceSSL: true,
      masterKey: undefined,
    });
    if (props.alarmEmail)
      this.alarmTopic.addSubscription(new subscriptions.EmailSubscription(props.alarmEmail));
    const metric = nightshiftCount;
    // Figures the tick reports each minute (a count at that minute, not events): the highest wins.
    const gauge = (metricName: string, label: string) =>
      new cloudwatch.Metric({
        namespace: 'Nightshift',
        metricName,
        label,
        dimensionsMap: { service: 'nightshift' },
        statistic: 'Maximum',
        period: Duration.minutes(5),
      });
    const alarm = (alarmId: string, description: string, m: cloudwatch.IMetric) => {
      const a = new cloudwatch.Alarm(this, alarmId, {
        alarmDescription: description,
        metric: m,
        threshold: 1,
        evaluationPeriods: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      });
      a.addAlarmAction(new actions.SnsAction(this.alarmTopic));
      return a;
    };
    alarm('FailedActionsAlarm', 'Nightshift actions failed upstream', metric('ActionsFailed'));
    alarm('MissedActionsAlarm', 'Nightshift actions were missed (tick too late)', metric('ActionsMissed'));
    alarm(
      'TickErrorsAlarm',
      'The Nightshift tick Lambda threw',
      this.tickFunction.metricErrors({ period: Duration.minutes(5) }),
    );
    alarm(
      'DeadLettersAlarm',
      'Ticks that could not be delivered are waiting in the dead-letter queue',
      this.deadLetterQueue.metricApproximateNumberOfMessagesVisible({
        period: Duration.minutes(5),
        statistic: 'Maximum',
      }),
    );
    alarm(
      'Api5xxAlarm',
      'The Nightshift HTTP API answered 5xx',
      this.httpApi.metricServerError({ period: Duration.minutes(5) }),
    );
    // The tick counts, every minute, the calendars whose resolved dates end within 60 days.
    alarm(
      'CalendarDataEndingAlarm',
      'A holiday calendar has no data for part of the next 60 days: update the holiday data and push or deploy the config again',
      new cloudwatch.Metric({
        namespace: 'Nightshift',
        metricName: 'CalendarDataEnding',
        dimensionsMap: { service: 'nightshift' },
        statistic: 'Maximum',
        period: Duration.hours(1),
      }),
    );

    this.dashboard = new cloudwatch.Dashboard(this, 'Dashboard', {
      dashboardName: `${stack.stackName}-nightshift`,
      widgets: [
        [
          new cloudwatch.GraphWidget({
            title: 'Actions by result',
            left: [metric('ActionsSucceeded'), metric('ActionsFailed'), metric('ActionsMissed')],
            width: 12,
          }),
          new cloudwatch.GraphWidget({
            title: 'Upstream latency by kind and action (p90)',
            left: [
              new cloudwatch.MathExpression({
                expression: `SEARCH('{Nightshift,action,kind,service} MetricName="UpstreamLatency"', 'p90', 300)`,
                label: '',
                period: Duration.minutes(5),
              }),
            ],
            width: 12,
          }),
        ],
        [
          new cloudwatch.GraphWidget({
            title: 'Tick health',
            left: [
              this.tickFunction.metricInvocations(),
              this.tickFunction.metricErrors(),
              this.tickFunction.metricThrottles(),
            ],
            right: [this.tickFunction.metricDuration({ statistic: 'p99' })],
            width: 12,
          }),
          new cloudwatch.GraphWidget({
            title: 'Dead letters and API errors',
            left: [
              this.deadLetterQueue.metricApproximateNumberOfMessagesVisible(),
              this.httpApi.metricServerError(),
              this.httpApi.metricClientError(),
            ],
            width: 12,
          }),
        ],
        [
          new cloudwatch.GraphWidget({
            title: 'Overrides and targets out of sync',
            left: [
              gauge('OverridesActive', 'active overrides'),
              gauge('TargetsOutOfSync', 'targets out of sync'),
            ],
            right: [metric('OverridesExpiring')],
            width: 24,
          }),
        ],
        [
          new cloudwatch.GraphWidget({
            title: 'Hours held off per day (all targets)',
            left: [
              new cloudwatch.Metric({
                namespace: 'Nightshift',
                metricName: 'HoursHeldOff',
                label: 'hours held off',
                dimensionsMap: { service: 'nightshift' },
                statistic: 'Sum',
                period: Duration.days(1),
              }),
            ],
            width: 12,
          }),
          new cloudwatch.GraphWidget({
            title: 'Hours held off per day, by target',
            left: [
              new cloudwatch.MathExpression({
                expression: `SEARCH('{Nightshift,service,target} MetricName="HoursHeldOff"', 'Sum', 86400)`,
                label: '',
                period: Duration.days(1),
              }),
            ],
            width: 12,
          }),
        ],
      ],
    });

    // ---- events and notifications ----
    this.events = new NightshiftEvents(this, 'Events', {
      table: this.table,
      alarmTopic: this.alarmTopic,
      makeFunction: fn,
      environment: environmentVariables,
      configArn,
      sinkSecretNames: Object.values(this.config.notifications?.sinks ?? {}).map((sink) => sink.secret),
      prefixedSecretsArn,
      secretPrefix: this.accountSecretPrefix,
      tickFunction: this.tickFunction,
      dashboard: this.dashboard,
    });

    // ---- outputs, read by `nightshift config push/pull` ----
    new CfnOutput(this, 'ApiUrl', { value: stage.url, description: 'Nightshift HTTP API' });
    new CfnOutput(this, 'AppConfigApplicationId', { value: application.applicationId });
    new CfnOutput(this, 'AppConfigEnvironmentId', { value: environment.environmentId });
    new CfnOutput(this, 'AppConfigProfileId', { value: profile.configurationProfileId });
    new CfnOutput(this, 'AppConfigDeploymentStrategyId', { value: strategy.deploymentStrategyId });
    new CfnOutput(this, 'LedgerTableName', { value: this.table.tableName });
    new CfnOutput(this, 'WebhookSecretName', { value: this.webhookSecretName });
    // `config push` refuses an account whose secret the runtime could not read (see above).
    new CfnOutput(this, 'AccountSecretPrefix', { value: this.accountSecretPrefix });
    new CfnOutput(this, 'AccountSecretNames', { value: secretNames.join(',') });
    new CfnOutput(this, 'DeadLetterQueueUrl', { value: this.deadLetterQueue.queueUrl });
    new CfnOutput(this, 'TickScheduleName', { value: tickSchedule.ref });

    this.suppressAcknowledgedFindings();
  }

  /** cdk-nag findings that are deliberate, each acknowledged with its reason. */
  private suppressAcknowledgedFindings(): void {
    const acknowledge = (scopes: Construct[], id: string, reason: string) => {
      for (const scope of scopes) Validations.of(scope).acknowledge({ id, reason });
    };
    acknowledge(
      [this.tickFunction, this.apiFunction, this.validatorFunction, this.savingsFunction],
      'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]',
      'AWSLambdaBasicExecutionRole only lets the function write its own CloudWatch logs.',
    );
    acknowledge(
      [
        this.webhookSecret,
        ...this.accountSecrets.filter((s): s is secretsmanager.Secret => s instanceof secretsmanager.Secret),
      ],
      'AwsSolutions-SMG4',
      'The webhook key is rotated by hand (its clients must change with it); Huawei tokens are rotated by whoever issues them, IAM passwords by the Huawei account owner.',
    );
    const stack = Stack.of(this);
    const region = Token.isUnresolved(stack.region) ? '<AWS::Region>' : stack.region;
    const account = Token.isUnresolved(stack.account) ? '<AWS::AccountId>' : stack.account;
    acknowledge(
      [this.tickFunction, this.apiFunction],
      `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:secretsmanager:${region}:${account}:secret:${this.accountSecretPrefix}*]`,
      `Secrets of accounts added later by "nightshift config push" have names under the documented prefix "${this.accountSecretPrefix}"; the runtime Lambdas read them without a redeploy (README, Secrets).`,
    );
    acknowledge(
      [this.deadLetterQueue],
      'AwsSolutions-SQS3',
      'This queue is itself the dead-letter queue of the tick schedule and of the tick Lambda.',
    );
    acknowledge(
      [this.httpApi],
      'AwsSolutions-APIG4',
      'Every route but /v1/health verifies an HMAC-SHA256 signature of the request inside the Lambda (README, HTTP API); the page routes (/, /signin, /signout, /overrides) need a session from a one-time sign-in link signed with the same key, checked inside the Lambda (docs/page.md).',
    );
  }
}

/** The page's routes and their methods (functions/page/routes.ts serves them). */
export const PAGE_ROUTES: readonly [string, readonly ('GET' | 'HEAD' | 'POST')[]][] = [
  ['/', ['GET', 'HEAD']],
  ['/signin', ['GET', 'POST']],
  ['/signout', ['POST']],
  ['/overrides', ['POST']],
  ['/overrides/remove', ['POST']],
];

/** The config file's text; a file that cannot be read is a ConfigFileError naming the fix. */
function readConfigText(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const reason = code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'is a directory' : String(error);
    throw new ConfigFileError(
      `cannot read config ${path}: ${reason} (give another with -c configPath=FILE, or the configPath prop)`,
      { cause: error },
    );
  }
}

/** A construct id per secret name ('/' is the construct path separator, so it is replaced). */
function accountSecretId(name: string): string {
  return `AccountSecret:${name.replaceAll('/', '|')}`;
}

/** The config's own `webhook.secret`, when it names one (the schema's default does not count). */
function explicitWebhookSecret(configText: string): string | undefined {
  const document = JSON.parse(configText.replace(/^\uFEFF/, '')) as { webhook?: { secret?: unknown } };
  const name = document.webhook?.secret;
  return typeof name === 'string' ? name : undefined;
}

/** An existing secret, by ARN or by name. */
function secretNameOrArn(scope: Construct, id: string, name: string): secretsmanager.ISecret {
  return name.startsWith('arn:')
    ? secretsmanager.Secret.fromSecretCompleteArn(scope, id, name)
    : secretsmanager.Secret.fromSecretNameV2(scope, id, name);
}

function pascal(name: string): string {
  return name.replace(/(^|-)([a-z])/g, (_, __, c: string) => c.toUpperCase());
}
