import { randomUUID } from 'node:crypto';
import { type AttributeValue, ScanCommand } from '@aws-sdk/client-dynamodb';
import type { PutEventsRequestEntry } from '@aws-sdk/client-eventbridge';
import type { DynamoDBRecord, DynamoDBStreamEvent, SQSEvent, SQSRecord } from 'aws-lambda';
import type { LocalDynamo } from './dynalite.ts';

let sequence = 1000;

/** A DynamoDB Streams record (NEW_AND_OLD_IMAGES) as Lambda receives it, for an item of the ledger. */
export function streamRecord(
  eventName: 'INSERT' | 'MODIFY' | 'REMOVE',
  item: Record<string, AttributeValue>,
  options: { old?: Record<string, AttributeValue>; byTtl?: boolean } = {},
): DynamoDBRecord {
  const keys = { pk: item.pk!, sk: item.sk! };
  return {
    eventID: randomUUID().replaceAll('-', ''),
    eventName,
    eventVersion: '1.1',
    eventSource: 'aws:dynamodb',
    awsRegion: 'eu-central-1',
    dynamodb: {
      ApproximateCreationDateTime: Math.floor(Date.now() / 1000),
      Keys: keys,
      ...(eventName === 'REMOVE' ? { OldImage: item } : { NewImage: item }),
      ...(options.old ? { OldImage: options.old } : {}),
      SequenceNumber: String(++sequence).padStart(21, '0'),
      SizeBytes: 200,
      StreamViewType: 'NEW_AND_OLD_IMAGES',
    },
    eventSourceARN:
      'arn:aws:dynamodb:eu-central-1:123456789012:table/Nightshift-Ledger/stream/2027-03-29T00:00:00.000',
    ...(options.byTtl ? { userIdentity: { type: 'Service', principalId: 'dynamodb.amazonaws.com' } } : {}),
  } as DynamoDBRecord;
}

export const streamEvent = (records: DynamoDBRecord[]): DynamoDBStreamEvent => ({ Records: records });

/** Every item of a table whose pk starts with `prefix`. */
export async function itemsOf(dynamo: LocalDynamo, table: string, prefix: string) {
  const { Items } = await dynamo.client.send(new ScanCommand({ TableName: table }));
  return (Items ?? []).filter((item) => item.pk?.S?.startsWith(prefix));
}

/**
 * An EventBridge event as a rule's SQS target puts it on the queue, from a PutEvents entry: the
 * envelope, with the CloudEvent as `detail`.
 */
export function sqsRecordOf(entry: PutEventsRequestEntry, receiveCount = 1): SQSRecord {
  const body = JSON.stringify({
    version: '0',
    id: randomUUID(),
    'detail-type': entry.DetailType,
    source: entry.Source,
    account: '123456789012',
    time: (entry.Time ?? new Date()).toISOString().replace(/\.\d{3}Z$/, 'Z'),
    region: 'eu-central-1',
    resources: [],
    detail: JSON.parse(entry.Detail!),
  });
  return sqsRecord(body, receiveCount);
}

export function sqsRecord(body: string, receiveCount = 1): SQSRecord {
  return {
    messageId: randomUUID(),
    receiptHandle: `AQEB${randomUUID().replaceAll('-', '')}`,
    body,
    attributes: {
      ApproximateReceiveCount: String(receiveCount),
      SentTimestamp: String(Date.now()),
      SenderId: 'AIDAEVENTBRIDGE',
      ApproximateFirstReceiveTimestamp: String(Date.now()),
    },
    messageAttributes: {},
    md5OfBody: '0',
    eventSource: 'aws:sqs',
    eventSourceARN: 'arn:aws:sqs:eu-central-1:123456789012:Nightshift-Deliveries',
    awsRegion: 'eu-central-1',
  };
}

export const sqsEvent = (records: SQSRecord[]): SQSEvent => ({ Records: records });
