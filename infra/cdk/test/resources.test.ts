// Tables, event bus, HR queue and its consumer, alarms, outputs, and the namePrefix/removalPolicy contexts.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { Match } from 'aws-cdk-lib/assertions';
import { NAMES, STATE_MACHINE_KEYS, TABLES, TABLE_KEYS, entries, pascal } from '../lib/config';
import { FUNCTIONS, FUNCTION_NAMES, QUEUES, SCHEDULES, SECRETS } from '../lib/functions';
import { type Json, getAtt, logicalId, ref, resourcesOfType, synth } from './helpers';

const { stack, template } = synth();
const resources = template.toJSON().Resources;

const keySchema = (key: { partitionKey: { name: string }; sortKey?: { name: string } }) => [
  { AttributeName: key.partitionKey.name, KeyType: 'HASH' },
  ...(key.sortKey ? [{ AttributeName: key.sortKey.name, KeyType: 'RANGE' }] : []),
];

describe('tables', () => {
  test('one table per names.json table', () => {
    assert.equal(resourcesOfType(template, 'AWS::DynamoDB::Table').length, TABLE_KEYS.length);
  });

  for (const key of TABLE_KEYS) {
    test(`${key}: keys, GSIs (projection ALL), TTL of tables.json; on-demand, PITR, AWS-managed SSE, retained`, () => {
      const schema = TABLES[key];
      const table = resources[logicalId(stack.tables[key])];
      const props = table.Properties;
      assert.equal(props.TableName, NAMES.tables[key]);
      assert.deepEqual(props.KeySchema, keySchema(schema));
      const indexes = entries(schema.indexes ?? {});
      assert.deepEqual(
        (props.GlobalSecondaryIndexes ?? []).map((gsi: Json) => [gsi.IndexName, gsi.KeySchema, gsi.Projection]),
        indexes.map(([name, index]) => [name, keySchema(index), { ProjectionType: 'ALL' }]),
      );
      const attributes = [schema, ...indexes.map(([, index]) => index)].flatMap((k) =>
        [k.partitionKey, k.sortKey].filter((a) => a !== undefined),
      );
      const expectedDefinitions = new Map(attributes.map((a) => [a.name, a.type]));
      assert.deepEqual(
        new Map(props.AttributeDefinitions.map((a: Json) => [a.AttributeName, a.AttributeType])),
        expectedDefinitions,
      );
      assert.deepEqual(
        props.TimeToLiveSpecification,
        schema.timeToLive ? { AttributeName: schema.timeToLive, Enabled: true } : undefined,
      );
      assert.equal(props.BillingMode, 'PAY_PER_REQUEST');
      assert.deepEqual(props.PointInTimeRecoverySpecification, { PointInTimeRecoveryEnabled: true });
      assert.deepEqual(props.SSESpecification, { SSEEnabled: true });
      assert.equal(props.DeletionProtectionEnabled, true);
      assert.equal(table.DeletionPolicy, 'Retain');
      assert.equal(table.UpdateReplacePolicy, 'Retain');
    });
  }
});

describe('event bus', () => {
  test('custom bus named provisio, archive of Provisio events for 30 days', () => {
    template.hasResourceProperties('AWS::Events::EventBus', { Name: 'provisio' });
    template.hasResourceProperties('AWS::Events::Archive', {
      SourceArn: getAtt(stack.bus),
      EventPattern: { source: [NAMES.eventSource] },
      RetentionDays: 30,
    });
  });

  test('the events reference (docs/events.md) documents the source and every detail-type', () => {
    const reference = readFileSync(join(__dirname, '..', '..', '..', 'docs', 'events.md'), 'utf8');
    assert.ok(reference.includes(`source \`${NAMES.eventSource}\``));
    for (const [, detailType] of entries(NAMES.eventTypes)) assert.ok(reference.includes(`| \`${detailType}\` |`), detailType);
  });
});

describe('HR events queue', () => {
  const spec = QUEUES.hr;

  test('the stack builds the queues of QUEUES', () => {
    assert.deepEqual(Object.keys(stack.queues).sort(), Object.keys(QUEUES).sort());
    assert.equal(stack.queues.hr, stack.hrQueue);
  });

  test('FIFO, no content-based dedup, SQS-managed SSE, DLQ after 5 receives', () => {
    const queue = resources[logicalId(stack.hrQueue)].Properties;
    const dlq = resources[logicalId(stack.hrDeadLetterQueue)].Properties;
    assert.equal(queue.QueueName, 'provisio-hr-events.fifo');
    assert.equal(queue.FifoQueue, true);
    assert.equal(queue.ContentBasedDeduplication, false);
    assert.equal(queue.SqsManagedSseEnabled, true);
    assert.equal(queue.MessageRetentionPeriod, 14 * 24 * 3600);
    assert.equal(spec.maxReceiveCount, NAMES.queues.hr.maxReceiveCount);
    assert.equal(spec.maxReceiveCount, 5);
    assert.deepEqual(queue.RedrivePolicy, { deadLetterTargetArn: getAtt(stack.hrDeadLetterQueue), maxReceiveCount: 5 });
    assert.equal(dlq.FifoQueue, true);
    assert.equal(dlq.SqsManagedSseEnabled, true);
    assert.match(dlq.QueueName, /\.fifo$/);
  });

  test(`visibility timeout is at least six times the ${spec.consumer} timeout`, () => {
    const queue = resources[logicalId(stack.hrQueue)].Properties;
    assert.ok(queue.VisibilityTimeout >= 6 * FUNCTIONS[spec.consumer].timeoutSeconds, `${queue.VisibilityTimeout} s`);
    assert.ok(queue.VisibilityTimeout <= 12 * 3600);
  });

  test(`${spec.consumer} consumes it in batches of 10 with partial batch responses; no other event source`, () => {
    const mappings = resourcesOfType(template, 'AWS::Lambda::EventSourceMapping').map(([, m]) => m.Properties);
    assert.deepEqual(mappings, [
      {
        FunctionName: ref(stack.functions[spec.consumer]),
        EventSourceArn: getAtt(stack.hrQueue),
        BatchSize: 10,
        FunctionResponseTypes: ['ReportBatchItemFailures'],
      },
    ]);
    assert.equal(spec.batchSize, 10);
  });

  test('both queues refuse non-TLS access', () => {
    for (const queue of [stack.hrQueue, stack.hrDeadLetterQueue]) {
      template.hasResourceProperties('AWS::SQS::QueuePolicy', {
        Queues: [ref(queue)],
        PolicyDocument: {
          Statement: Match.arrayWith([
            Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
          ]),
        },
      });
    }
  });
});

describe('alarms', () => {
  const alarms = resourcesOfType(template, 'AWS::CloudWatch::Alarm').map(([, a]) => a.Properties);
  const alarmOn = (metricName: string, dimension: Json) =>
    alarms.filter(
      (a) => a.MetricName === metricName && JSON.stringify(a.Dimensions?.[0]?.Value) === JSON.stringify(dimension),
    );

  test('topic is KMS-encrypted (rotating key), TLS-only, and CloudWatch may publish', () => {
    const topic = resources[logicalId(stack.alarmTopic)].Properties;
    const keyId = topic.KmsMasterKeyId['Fn::GetAtt'][0];
    assert.equal(resources[keyId].Properties.EnableKeyRotation, true);
    template.hasResourceProperties('AWS::SNS::TopicPolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
          Match.objectLike({ Effect: 'Allow', Action: 'sns:Publish', Principal: { Service: 'cloudwatch.amazonaws.com' } }),
        ]),
      },
    });
  });

  test('one alarm per function (Errors), state machine (ExecutionsFailed) and dead-letter queue', () => {
    const scheduleKeys = Object.keys(SCHEDULES);
    assert.equal(alarms.length, FUNCTION_NAMES.length + STATE_MACHINE_KEYS.length + 1 + scheduleKeys.length);
    for (const name of FUNCTION_NAMES) assert.equal(alarmOn('Errors', ref(stack.functions[name])).length, 1, name);
    for (const key of STATE_MACHINE_KEYS) {
      assert.equal(alarmOn('ExecutionsFailed', ref(stack.stateMachines[key])).length, 1, key);
    }
    assert.equal(
      alarmOn('ApproximateNumberOfMessagesVisible', getAtt(stack.hrDeadLetterQueue, 'QueueName')).length,
      1,
    );
    for (const key of scheduleKeys) {
      const queue = stack.scheduleDeadLetterQueues[key];
      assert.equal(alarmOn('ApproximateNumberOfMessagesVisible', getAtt(queue, 'QueueName')).length, 1, key);
    }
  });

  test('every alarm fires above 0 and notifies the alarm topic', () => {
    for (const alarm of alarms) {
      assert.equal(alarm.Threshold, 0);
      assert.equal(alarm.ComparisonOperator, 'GreaterThanThreshold');
      assert.deepEqual(alarm.AlarmActions, [ref(stack.alarmTopic)]);
    }
  });
});

describe('outputs', () => {
  test('API URL, bus, HR queue, alarm topic, secret ARNs, state machine ARNs, table names', () => {
    const outputs = Object.keys(template.toJSON().Outputs);
    const expected = [
      'ApiUrl',
      'EventBusName',
      'HrQueueUrl',
      'AlarmTopicArn',
      ...Object.keys(SECRETS).map((key) => `${pascal(key)}Arn`),
      ...STATE_MACHINE_KEYS.map((key) => `${pascal(key)}StateMachineArn`),
      ...TABLE_KEYS.map((key) => `${pascal(key)}TableName`),
    ];
    assert.deepEqual(outputs.sort(), expected.sort());
    for (const [key, secret] of Object.entries(stack.secrets)) {
      assert.deepEqual(template.toJSON().Outputs[`${pascal(key)}Arn`].Value, ref(secret));
    }
  });
});

describe('contexts', () => {
  const prefixed = synth({ namePrefix: 'dev-', removalPolicy: 'destroy' });
  const prefixedResources = Object.values<Json>(prefixed.template.toJSON().Resources);
  const names = (type: string, property: string) =>
    prefixedResources.filter((r) => r.Type === type).map((r) => r.Properties[property]);

  test('namePrefix prefixes every physical name', () => {
    for (const name of [
      ...names('AWS::DynamoDB::Table', 'TableName'),
      ...names('AWS::StepFunctions::StateMachine', 'StateMachineName'),
      ...names('AWS::SQS::Queue', 'QueueName'),
      ...names('AWS::Events::EventBus', 'Name'),
      ...names('AWS::Events::Rule', 'Name'),
      ...names('AWS::Lambda::Function', 'FunctionName'),
      ...names('AWS::SNS::Topic', 'TopicName'),
      ...names('AWS::ApiGatewayV2::Api', 'Name'),
      ...names('AWS::SecretsManager::Secret', 'Name'),
    ]) {
      assert.match(name, /^dev-/);
    }
    const env = prefixedResources.find((r) => r.Type === 'AWS::Lambda::Function').Properties.Environment.Variables;
    assert.ok(JSON.stringify(env).includes(':stateMachine:dev-fulfilment'));
    assert.equal(prefixed.stack.stackName, 'dev-Provisio');
  });

  test('removalPolicy=destroy deletes tables (unprotected), queues, log groups and secrets with the stack', () => {
    for (const type of ['AWS::DynamoDB::Table', 'AWS::SQS::Queue', 'AWS::Logs::LogGroup', 'AWS::SecretsManager::Secret']) {
      for (const resource of prefixedResources.filter((r) => r.Type === type)) {
        assert.equal(resource.DeletionPolicy, 'Delete', type);
      }
    }
    for (const table of prefixedResources.filter((r) => r.Type === 'AWS::DynamoDB::Table')) {
      assert.equal(table.Properties.DeletionProtectionEnabled, false);
    }
  });
});
