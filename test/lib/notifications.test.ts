import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, Validations } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { beforeAll, describe, expect, it } from 'vitest';
import { NightshiftStack } from '../../lib/nightshift-stack.ts';

const ENV = { account: '123456789012', region: 'eu-central-1' };
const fastApp = () => new App({ context: { 'aws:cdk:bundling-stacks': [] } });

/** The example config with a Slack sink and a webhook sink whose secret lives elsewhere. */
function configWithSinks(): string {
  const config = JSON.parse(readFileSync('config/schedule.json', 'utf8'));
  config.notifications = {
    sinks: {
      oncall: { type: 'slack', secret: 'nightshift/slack' },
      hook: { type: 'webhook', secret: 'ops/nightshift-hook' },
    },
    routes: [{ sink: 'oncall' }, { sink: 'hook', events: ['*'] }],
  };
  const path = join(mkdtempSync(join(tmpdir(), 'nightshift-cdk-notify-')), 'schedule.json');
  writeFileSync(path, JSON.stringify(config));
  return path;
}

describe('events and notifications on AWS', () => {
  let template: Template;
  let stack: NightshiftStack;
  const id = (construct: { node: { defaultChild?: unknown } }) =>
    stack.getLogicalId(construct.node.defaultChild as never);
  beforeAll(() => {
    // cdk-nag runs at this synth: any finding not acknowledged (with a reason) would throw here.
    const app = fastApp();
    Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
    stack = new NightshiftStack(app, 'Nightshift', { env: ENV, configPath: configWithSinks() });
    template = Template.fromStack(stack);
  }, 60_000);

  it('the ledger’s stream (new and old images) is the outbox, read from its start by the events function', () => {
    const events = stack.nightshift.events;
    template.hasResourceProperties('AWS::DynamoDB::Table', {
      StreamSpecification: { StreamViewType: 'NEW_AND_OLD_IMAGES' },
    });
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      FunctionName: { Ref: id(events.publishFunction) },
      EventSourceArn: { 'Fn::GetAtt': [id(stack.nightshift.table), 'StreamArn'] },
      StartingPosition: 'TRIM_HORIZON',
      BatchSize: 100,
      BisectBatchOnFunctionError: true,
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      MaximumRecordAgeInSeconds: 86400,
      DestinationConfig: {
        OnFailure: { Destination: { 'Fn::GetAtt': [id(events.deadLetterQueue), 'Arn'] } },
      },
      FilterCriteria: {
        Filters: [
          {
            Pattern: JSON.stringify({
              eventName: ['INSERT'],
              dynamodb: { Keys: { pk: { S: [{ prefix: 'HIST#' }] } } },
            }),
          },
          {
            Pattern: JSON.stringify({
              eventName: ['INSERT'],
              dynamodb: { Keys: { pk: { S: [{ prefix: 'EVT#' }] } } },
            }),
          },
          {
            Pattern: JSON.stringify({
              eventName: ['INSERT', 'REMOVE'],
              dynamodb: { Keys: { pk: { S: ['OVERRIDE'] } } },
            }),
          },
        ],
      },
    });
  });

  it('every event goes to the stack’s own bus (source nightshift), put there by the events function (and the tick)', () => {
    const events = stack.nightshift.events;
    template.hasResourceProperties('AWS::Events::EventBus', { Name: 'Nightshift-nightshift' });
    template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: Match.objectLike({ NIGHTSHIFT_EVENT_BUS: { Ref: id(events.bus) } }) },
      FunctionName: Match.absent(),
    });
    for (const fn of [events.publishFunction, stack.nightshift.tickFunction])
      template.hasResourceProperties('AWS::IAM::Policy', {
        PolicyDocument: {
          Statement: Match.arrayWith([
            Match.objectLike({
              Action: 'events:PutEvents',
              Resource: { 'Fn::GetAtt': [id(events.bus), 'Arn'] },
            }),
          ]),
        },
        Roles: [
          {
            Ref: Match.stringLikeRegexp(
              `${fn === events.publishFunction ? 'EventsFunction' : 'TickFunction'}ServiceRole`,
            ),
          },
        ],
      });
  });

  it('a rule sends every event to the delivery queue, with retries and the dead-letter queue', () => {
    const events = stack.nightshift.events;
    template.hasResourceProperties('AWS::Events::Rule', {
      EventBusName: { Ref: id(events.bus) },
      EventPattern: { source: ['nightshift'] },
      Targets: [
        Match.objectLike({
          Arn: { 'Fn::GetAtt': [id(events.deliveryQueue), 'Arn'] },
          DeadLetterConfig: { Arn: { 'Fn::GetAtt': [id(events.deadLetterQueue), 'Arn'] } },
          RetryPolicy: { MaximumEventAgeInSeconds: 86400, MaximumRetryAttempts: 185 },
        }),
      ],
    });
    template.hasResourceProperties('AWS::SQS::Queue', {
      MessageRetentionPeriod: 172800,
      VisibilityTimeout: 360,
      SqsManagedSseEnabled: true,
      RedrivePolicy: {
        deadLetterTargetArn: { 'Fn::GetAtt': [id(events.deadLetterQueue), 'Arn'] },
        maxReceiveCount: 100,
      },
    });
  });

  it('the delivery function drains the queue in batches, reads the config and exactly the sinks’ secrets', () => {
    const events = stack.nightshift.events;
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      FunctionName: { Ref: id(events.deliverFunction) },
      EventSourceArn: { 'Fn::GetAtt': [id(events.deliveryQueue), 'Arn'] },
      BatchSize: 100,
      MaximumBatchingWindowInSeconds: 5,
      FunctionResponseTypes: ['ReportBatchItemFailures'],
    });
    template.hasResourceProperties('AWS::Lambda::Function', {
      Timeout: 60,
      Environment: {
        Variables: Match.objectLike({
          NIGHTSHIFT_TABLE_NAME: { Ref: id(stack.nightshift.table) },
          NIGHTSHIFT_APPCONFIG_PROFILE: Match.anyValue(),
          NIGHTSHIFT_DELIVERY_QUEUE_URL: { Ref: id(events.deliveryQueue) },
          NIGHTSHIFT_EVENTS_DLQ_URL: { Ref: id(events.deadLetterQueue) },
        }),
      },
    });
    const policies = template.findResources('AWS::IAM::Policy', {
      Properties: { Roles: [{ Ref: Match.stringLikeRegexp('DeliverFunctionServiceRole') }] },
    });
    const statements = Object.values(policies).flatMap((p) => p.Properties.PolicyDocument.Statement);
    const secretResources = statements
      .filter((s) => JSON.stringify(s.Action).includes('secretsmanager:GetSecretValue'))
      .map((s) => JSON.stringify(s.Resource));
    expect(secretResources.some((r) => r.includes(':secret:ops/nightshift-hook-??????'))).toBe(true);
    expect(secretResources.some((r) => r.includes(':secret:nightshift/slack-??????'))).toBe(true);
    expect(secretResources.some((r) => r.includes(':secret:nightshift/*'))).toBe(true);
    expect(statements).toContainEqual(
      expect.objectContaining({
        Action: ['appconfig:StartConfigurationSession', 'appconfig:GetLatestConfiguration'],
      }),
    );
    expect(statements).toContainEqual(
      expect.objectContaining({
        Action: expect.arrayContaining(['sqs:SendMessage']),
        Resource: { 'Fn::GetAtt': [id(events.deadLetterQueue), 'Arn'] },
      }),
    );
  });

  it('alarms when anything reaches the dead letters, or events lag, to the alarm topic', () => {
    const events = stack.nightshift.events;
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'ApproximateNumberOfMessagesVisible',
      Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [id(events.deadLetterQueue), 'QueueName'] } }],
      Threshold: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      AlarmActions: [{ Ref: id(stack.nightshift.alarmTopic) }],
    });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'AWS/Lambda',
      MetricName: 'IteratorAge',
      Threshold: 900_000,
      AlarmActions: [{ Ref: id(stack.nightshift.alarmTopic) }],
    });
  });

  it('names the bus and the dead letters in its outputs', () => {
    const outputs = Object.keys(template.findOutputs('*'));
    for (const name of ['EventBusName', 'EventBusArn', 'EventDeadLetterQueueUrl'])
      expect(outputs.some((key) => key.includes(name))).toBe(true);
  });

  it('cdk-nag finds nothing unacknowledged with sinks configured (checked at the synth above)', () => {
    expect(template.findResources('AWS::Events::EventBus')).not.toEqual({});
  });
});
