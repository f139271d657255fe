// EventBridge schedules: one rule per SCHEDULES entry on the default bus, invoking its function with the
// scheduled event, with retries and a dead-letter queue (encrypted, TLS-only, writable by that rule only).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Schedule } from 'aws-cdk-lib/aws-events';
import { Match } from 'aws-cdk-lib/assertions';
import { SCHEDULES } from '../lib/functions';
import { type Json, getAtt, logicalId, ref, resourcesOfType, synth } from './helpers';

const { stack, template } = synth();
const resources = template.toJSON().Resources;

describe('schedules', () => {
  test('escalation runs every 15 minutes', () => {
    const rule = resources[logicalId(stack.schedules.escalation)].Properties;
    assert.equal(rule.ScheduleExpression, 'rate(15 minutes)');
    assert.deepEqual(
      rule.Targets.map((t: Json) => t.Arn),
      [getAtt(stack.functions.escalation)],
    );
  });

  test('reviews runs the compliance function quarterly with the reviewCampaign task', () => {
    const rule = resources[logicalId(stack.schedules.reviews)].Properties;
    assert.equal(rule.ScheduleExpression, 'rate(90 days)');
    assert.deepEqual(
      rule.Targets.map((t: Json) => [t.Arn, JSON.parse(t.Input)]),
      [[getAtt(stack.functions.compliance), { task: 'reviewCampaign' }]],
    );
  });

  test('one rule per SCHEDULES entry, nothing else', () => {
    assert.deepEqual(Object.keys(stack.schedules).sort(), Object.keys(SCHEDULES).sort());
    assert.equal(resourcesOfType(template, 'AWS::Events::Rule').length, Object.keys(SCHEDULES).length);
  });

  for (const [key, spec] of Object.entries(SCHEDULES)) {
    const rule = () => resources[logicalId(stack.schedules[key])].Properties;
    const queue = () => stack.scheduleDeadLetterQueues[key];

    test(`${key}: rule provisio-${key} on the default bus, rate of SCHEDULES, enabled`, () => {
      const props = rule();
      assert.equal(props.Name, `provisio-${key}`);
      assert.equal(props.EventBusName, undefined);
      assert.equal(props.EventPattern, undefined);
      assert.equal(props.ScheduleExpression, Schedule.rate(spec.rate).expressionString);
      assert.equal(props.State, 'ENABLED');
    });

    test(`${key}: one target, ${spec.function} with the scheduled event, retries up to the period, then the DLQ`, () => {
      const [target, ...others] = rule().Targets;
      assert.deepEqual(others, []);
      assert.deepEqual(target.Arn, getAtt(stack.functions[spec.function]));
      if (spec.input) {
        // A constant input names the job; otherwise the function receives the scheduled event itself.
        assert.deepEqual(JSON.parse(target.Input), spec.input);
        assert.deepEqual(Object.keys(target).sort(), ['Arn', 'DeadLetterConfig', 'Id', 'Input', 'RetryPolicy']);
      } else {
        assert.deepEqual(Object.keys(target).sort(), ['Arn', 'DeadLetterConfig', 'Id', 'RetryPolicy']);
      }
      assert.deepEqual(target.DeadLetterConfig, { Arn: getAtt(queue()) });
      assert.ok(target.RetryPolicy.MaximumRetryAttempts > 0);
      const age = target.RetryPolicy.MaximumEventAgeInSeconds;
      assert.ok(age >= 60 && age <= Math.min(spec.rate.toSeconds(), 24 * 3600), `maximum event age ${age}`);
    });

    test(`${key}: EventBridge may invoke ${spec.function} from this rule only`, () => {
      const permissions = resourcesOfType(template, 'AWS::Lambda::Permission')
        .map(([, p]) => p.Properties)
        .filter((p) => p.Principal === 'events.amazonaws.com');
      const forFunction = permissions.filter(
        (p) =>
          JSON.stringify(p.FunctionName) === JSON.stringify(getAtt(stack.functions[spec.function])) &&
          // Another schedule may invoke the same function (compliance: daily sweep, quarterly reviews).
          Object.entries(SCHEDULES).every(
            ([other]) => other === key || JSON.stringify(p.SourceArn) !== JSON.stringify(getAtt(stack.schedules[other])),
          ),
      );
      assert.deepEqual(
        forFunction.map((p) => [p.Action, p.SourceArn]),
        [['lambda:InvokeFunction', getAtt(stack.schedules[key])]],
      );
    });

    test(`${key}: dead-letter queue is standard, SQS-managed SSE, kept 14 days, prefixed name`, () => {
      const props = resources[logicalId(queue())].Properties;
      assert.equal(props.QueueName, `provisio-${key}-schedule-dlq`);
      assert.equal(props.FifoQueue, undefined);
      assert.equal(props.SqsManagedSseEnabled, true);
      assert.equal(props.MessageRetentionPeriod, 14 * 24 * 3600);
    });

    test(`${key}: dead-letter queue refuses non-TLS access and only this rule may send to it`, () => {
      const [[, policy], ...others] = resourcesOfType(template, 'AWS::SQS::QueuePolicy').filter(
        ([, p]) => JSON.stringify(p.Properties.Queues) === JSON.stringify([ref(queue())]),
      );
      assert.deepEqual(others, []);
      const statements: Json[] = policy.Properties.PolicyDocument.Statement;
      assert.ok(
        statements.some(
          (s) => s.Effect === 'Deny' && JSON.stringify(s.Condition) === JSON.stringify({ Bool: { 'aws:SecureTransport': 'false' } }),
        ),
      );
      const allows = statements.filter((s) => s.Effect === 'Allow');
      assert.deepEqual(
        allows.map((s) => [s.Principal, s.Action, s.Condition]),
        [[{ Service: 'events.amazonaws.com' }, 'sqs:SendMessage', { ArnEquals: { 'aws:SourceArn': getAtt(stack.schedules[key]) } }]],
      );
    });

    test(`${key}: an alarm fires when a message is in the dead-letter queue`, () => {
      template.hasResourceProperties('AWS::CloudWatch::Alarm', {
        MetricName: 'ApproximateNumberOfMessagesVisible',
        Namespace: 'AWS/SQS',
        Dimensions: [{ Name: 'QueueName', Value: getAtt(queue(), 'QueueName') }],
        AlarmActions: [ref(stack.alarmTopic)],
        Threshold: 0,
        ComparisonOperator: 'GreaterThanThreshold',
        TreatMissingData: Match.anyValue(),
      });
    });
  }
});
