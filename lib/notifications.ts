import { CfnOutput, Duration, Stack, Token, Validations } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { DynamoEventSource, SqsDlq, SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import type * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import type * as sns from 'aws-cdk-lib/aws-sns';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import type { HandlerName } from '../functions/handlers/bundle-options.ts';
import { nightshiftCount } from './metrics.ts';

export interface NightshiftEventsProps {
  /** The ledger: its stream is the outbox (it must have NEW_AND_OLD_IMAGES). */
  readonly table: dynamodb.Table;
  readonly alarmTopic: sns.ITopic;
  /** Builds a Lambda of the project the way the Nightshift construct builds all of them. */
  readonly makeFunction: (
    name: HandlerName,
    options: { timeout: Duration; memorySize: number; environment?: Record<string, string> },
  ) => nodejs.NodejsFunction;
  /** What the runtime Lambdas get: the table and where the config lives. */
  readonly environment: Record<string, string>;
  /** The AppConfig configuration the delivery function reads (routes and sinks). */
  readonly configArn: string;
  /** The sinks' secrets named in the config: the delivery function may read exactly these... */
  readonly sinkSecretNames: readonly string[];
  /** ...and those under the account secret prefix, for sinks added by `config push`. */
  readonly prefixedSecretsArn: string;
  readonly secretPrefix: string;
  /** The tick puts events on the bus itself when the ledger cannot take them. */
  readonly tickFunction: lambda.Function;
  readonly dashboard?: cloudwatch.Dashboard;
}

/**
 * Events and notifications on AWS. The ledger table's stream is the outbox: a function turns each
 * new history item, `EVT#` journal item and override change into a CloudEvent on the event bus
 * (source `nightshift`, detail-type = the event type); a rule sends every event to a queue, and
 * the delivery function routes them to the configured sinks (retried with backoff for 24 hours,
 * one message per sink per minute, each event once). What cannot be delivered, or published, ends
 * in a dead-letter queue with an alarm.
 */
export class NightshiftEvents extends Construct {
  readonly bus: events.EventBus;
  readonly publishFunction: nodejs.NodejsFunction;
  readonly deliverFunction: nodejs.NodejsFunction;
  readonly deliveryQueue: sqs.Queue;
  readonly deadLetterQueue: sqs.Queue;
  readonly deadLettersAlarm: cloudwatch.Alarm;

  constructor(scope: Construct, id: string, props: NightshiftEventsProps) {
    super(scope, id);
    const stack = Stack.of(this);
    const alarm = (alarmId: string, description: string, metric: cloudwatch.IMetric, threshold = 1) => {
      const a = new cloudwatch.Alarm(this, alarmId, {
        alarmDescription: description,
        metric,
        threshold,
        evaluationPeriods: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      });
      a.addAlarmAction(new actions.SnsAction(props.alarmTopic));
      return a;
    };

    this.bus = new events.EventBus(this, 'Bus', {
      eventBusName: `${stack.stackName}-nightshift`,
      description: 'Nightshift events (CloudEvents 1.0 in the detail; source nightshift, detail-type = type)',
    });
    this.deadLetterQueue = new sqs.Queue(this, 'DeadLetters', {
      enforceSSL: true,
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      retentionPeriod: Duration.days(14),
    });

    // ---- the stream to the bus ----
    this.publishFunction = props.makeFunction('events', {
      timeout: Duration.seconds(30),
      memorySize: 256,
      environment: {
        NIGHTSHIFT_EVENT_BUS: this.bus.eventBusName,
        POWERTOOLS_SERVICE_NAME: 'nightshift',
        NODE_OPTIONS: '--enable-source-maps',
      },
    });
    this.bus.grantPutEventsTo(this.publishFunction);
    this.publishFunction.addEventSource(
      new DynamoEventSource(props.table, {
        startingPosition: lambda.StartingPosition.TRIM_HORIZON,
        batchSize: 100,
        maxBatchingWindow: Duration.seconds(1),
        bisectBatchOnError: true,
        reportBatchItemFailures: true,
        // Until the stream drops the record (24 hours): then its metadata goes to the dead letters.
        retryAttempts: 10_000,
        maxRecordAge: Duration.hours(24),
        onFailure: new SqsDlq(this.deadLetterQueue),
        filters: [
          lambda.FilterCriteria.filter({
            eventName: lambda.FilterRule.isEqual('INSERT'),
            dynamodb: { Keys: { pk: { S: lambda.FilterRule.beginsWith('HIST#') } } },
          }),
          lambda.FilterCriteria.filter({
            eventName: lambda.FilterRule.isEqual('INSERT'),
            dynamodb: { Keys: { pk: { S: lambda.FilterRule.beginsWith('EVT#') } } },
          }),
          lambda.FilterCriteria.filter({
            eventName: lambda.FilterRule.or('INSERT', 'REMOVE'),
            dynamodb: { Keys: { pk: { S: lambda.FilterRule.isEqual('OVERRIDE') } } },
          }),
        ],
      }),
    );

    // ---- the bus to the sinks ----
    this.deliveryQueue = new sqs.Queue(this, 'Deliveries', {
      enforceSSL: true,
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      // Longer than the 24 hours of retries; the function gives up on an event after those.
      retentionPeriod: Duration.days(2),
      // Six times the function's timeout, as Lambda advises; the function sets each message's own.
      visibilityTimeout: Duration.minutes(6),
      deadLetterQueue: { queue: this.deadLetterQueue, maxReceiveCount: 100 },
    });
    new events.Rule(this, 'ToDeliveries', {
      eventBus: this.bus,
      description: 'Every Nightshift event to the delivery queue (the function routes them by the config)',
      eventPattern: { source: ['nightshift'] },
      targets: [
        new targets.SqsQueue(this.deliveryQueue, {
          deadLetterQueue: this.deadLetterQueue,
          retryAttempts: 185,
          maxEventAge: Duration.hours(24),
        }),
      ],
    });
    this.deliverFunction = props.makeFunction('deliver', {
      timeout: Duration.seconds(60),
      memorySize: 256,
      environment: {
        ...props.environment,
        NIGHTSHIFT_DELIVERY_QUEUE_URL: this.deliveryQueue.queueUrl,
        NIGHTSHIFT_EVENTS_DLQ_URL: this.deadLetterQueue.queueUrl,
      },
    });
    this.deliverFunction.addEventSource(
      new SqsEventSource(this.deliveryQueue, {
        batchSize: 100,
        // A burst lands in one batch, so it becomes one message per sink.
        maxBatchingWindow: Duration.seconds(5),
        reportBatchItemFailures: true,
      }),
    );
    props.table.grantReadWriteData(this.deliverFunction);
    this.deadLetterQueue.grantSendMessages(this.deliverFunction);
    this.deliverFunction.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ['appconfig:StartConfigurationSession', 'appconfig:GetLatestConfiguration'],
        resources: [props.configArn],
      }),
    );
    for (const name of [...new Set(props.sinkSecretNames)])
      secretsmanager.Secret.fromSecretNameV2(this, `SinkSecret:${name.replaceAll('/', '|')}`, name).grantRead(
        this.deliverFunction,
      );
    this.deliverFunction.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ['secretsmanager:GetSecretValue', 'secretsmanager:DescribeSecret'],
        resources: [props.prefixedSecretsArn],
      }),
    );

    // The tick's fallback when the ledger cannot take its events.
    props.tickFunction.addEnvironment('NIGHTSHIFT_EVENT_BUS', this.bus.eventBusName);
    this.bus.grantPutEventsTo(props.tickFunction);

    // ---- alarms, dashboard, outputs ----
    this.deadLettersAlarm = alarm(
      'DeadLettersAlarm',
      'Nightshift events could not be published or delivered (24 hours of retries): see the EventDeadLetterQueueUrl output',
      this.deadLetterQueue.metricApproximateNumberOfMessagesVisible({
        period: Duration.minutes(5),
        statistic: 'Maximum',
      }),
    );
    alarm(
      'PublishLagAlarm',
      'Nightshift events are more than 15 minutes late reaching the event bus (the events function is failing)',
      new cloudwatch.Metric({
        namespace: 'AWS/Lambda',
        metricName: 'IteratorAge',
        dimensionsMap: { FunctionName: this.publishFunction.functionName },
        statistic: 'Maximum',
        period: Duration.minutes(5),
      }),
      15 * 60_000,
    );
    props.dashboard?.addWidgets(
      new cloudwatch.GraphWidget({
        title: 'Notifications',
        left: [
          nightshiftCount('NotificationsSent'),
          nightshiftCount('NotificationsFailed'),
          nightshiftCount('NotificationsDeadLettered'),
        ],
        right: [this.deadLetterQueue.metricApproximateNumberOfMessagesVisible()],
        width: 24,
      }),
    );
    new CfnOutput(this, 'EventBusName', { value: this.bus.eventBusName });
    new CfnOutput(this, 'EventBusArn', { value: this.bus.eventBusArn });
    new CfnOutput(this, 'EventDeadLetterQueueUrl', { value: this.deadLetterQueue.queueUrl });

    Validations.of(this.deadLetterQueue).acknowledge({
      id: 'AwsSolutions-SQS3',
      reason:
        'This queue is itself the dead-letter queue of the event stream, the bus rule and the delivery queue.',
    });
    Validations.of(this.publishFunction).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason:
        'dynamodb:ListStreams, which the event source mapping needs to find the ledger stream, takes no resource narrower than "*" (the stream read itself is on the table stream ARN).',
    });
    const region = Token.isUnresolved(stack.region) ? '<AWS::Region>' : stack.region;
    const account = Token.isUnresolved(stack.account) ? '<AWS::AccountId>' : stack.account;
    Validations.of(this.deliverFunction).acknowledge({
      id: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:secretsmanager:${region}:${account}:secret:${props.secretPrefix}*]`,
      reason: `Sink secrets of sinks added later by "nightshift config push" have names under the documented prefix "${props.secretPrefix}", like account secrets; the delivery function reads them without a redeploy.`,
    });
    for (const fn of [this.publishFunction, this.deliverFunction])
      Validations.of(fn).acknowledge({
        id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]',
        reason: 'AWSLambdaBasicExecutionRole only lets the function write its own CloudWatch logs.',
      });
  }
}
