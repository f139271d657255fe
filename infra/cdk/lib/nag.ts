// Every cdk-nag acknowledgement of the app, in one place for review. Each one is attached to the
// construct the finding is on and names the exact finding (rule[finding]), never a whole rule or stack.
import { type CfnElement, Validations } from 'aws-cdk-lib';
import type { IConstruct } from 'constructs';
import { TABLES } from './config';
import { ACCESS, FUNCTION_NAMES, type FunctionName } from './functions';
import type { ProvisioStack } from './provisio-stack';

export const REASONS = {
  xray:
    'X-Ray PutTraceSegments/PutTelemetryRecords do not support resource-level permissions; ' +
    'this wildcard is the only statement on "*" (added by Lambda active tracing).',
  stateMachineDelivery:
    'CloudWatch Logs vended log delivery (logs:*LogDelivery, DescribeLogGroups, DescribeResourcePolicies, ' +
    'PutResourcePolicy) and X-Ray tracing actions do not support resource-level permissions; ' +
    'required for Step Functions logging level ALL and tracing.',
  gsi:
    'Added by the table grant so that the function may Query the GSIs of this one table ' +
    '(<table ARN>/index/*, the indexes of shared/tables.json); no other table or account resource is covered.',
  /** Per function serving routes of names.json routes.public; the acknowledgement is on each such route only. */
  publicRoute: {
    intake:
      'Listed in shared/names.json routes.public, public by contract (CONTRACT.md: GET /openapi.json is for ' +
      'anyone); the acknowledgement is on this route only, every route not in routes.public has the JWT authorizer.',
    'hr-webhook':
      'Listed in shared/names.json routes.public: the HR system calls it without a JWT of the employee IdP; ' +
      'the hr-webhook function authenticates each call itself by its HMAC-SHA256 signature ' +
      '(X-Provisio-Signature, shared secret PROVISIO_HR_WEBHOOK_SECRET, 300 s replay window) and answers 401 ' +
      'otherwise (CONTRACT.md, HR webhook).',
    scim:
      'Listed in shared/names.json routes.public: SCIM 2.0 clients (identity providers) send a static bearer ' +
      'token, not a JWT of this API\'s issuer; the scim function compares it with the shared secret ' +
      'PROVISIO_SCIM_TOKEN and answers 401 otherwise (CONTRACT.md, SCIM 2.0).',
  } as Partial<Record<FunctionName, string>>,
  sharedSecretRotation:
    'Shared with a system outside AWS (the HR system\'s webhook signing key, the identity provider\'s SCIM ' +
    'token), which Secrets Manager rotation cannot update: ops rotate it together with the other side ' +
    '(put-secret-value, then cdk deploy with its version id, see infra/cdk/README.md).',
  scheduleDeadLetterQueue:
    'This queue is itself a dead-letter queue: the DeadLetterConfig of its schedule rule\'s Lambda target, ' +
    'which cdk-nag does not recognize (it looks only at SQS redrive policies and Lambda DeadLetterConfig); ' +
    'messages in it raise an alarm.',
} as const;

function acknowledge(scope: IConstruct, id: string, reason: string): void {
  Validations.of(scope).acknowledge({ id, reason });
}

export function acknowledgeNagFindings(stack: ProvisioStack): void {
  for (const name of FUNCTION_NAMES) {
    const policy = stack.functions[name].role!.node.findChild('DefaultPolicy');
    acknowledge(policy, 'AwsSolutions-IAM5[Resource::*]', REASONS.xray);
    const access = ACCESS[name];
    const tablesWithIndexes = [...(access.read ?? []), ...(access.readWrite ?? [])].filter(
      (key) => Object.keys(TABLES[key]?.indexes ?? {}).length > 0,
    );
    for (const key of new Set(tablesWithIndexes)) {
      const logicalId = stack.getLogicalId(stack.tables[key].node.defaultChild as CfnElement);
      acknowledge(policy, `AwsSolutions-IAM5[Resource::<${logicalId}.Arn>/index/*]`, REASONS.gsi);
    }
  }
  for (const stateMachine of Object.values(stack.stateMachines)) {
    const policy = stateMachine.role.node.findChild('DefaultPolicy');
    acknowledge(policy, 'AwsSolutions-IAM5[Resource::*]', REASONS.stateMachineDelivery);
  }
  for (const queue of Object.values(stack.scheduleDeadLetterQueues)) {
    acknowledge(queue.node.defaultChild!, 'AwsSolutions-SQS3', REASONS.scheduleDeadLetterQueue);
  }
  for (const [routeKey, { route, function: name }] of Object.entries(stack.publicRoutes)) {
    const reason = REASONS.publicRoute[name];
    if (!reason) throw new Error(`${routeKey} is public (names.json routes.public): write why ${name} needs no JWT in lib/nag.ts`);
    acknowledge(route, 'AwsSolutions-APIG4', reason);
  }
  for (const secret of Object.values(stack.secrets)) {
    acknowledge(secret.node.defaultChild!, 'AwsSolutions-SMG4', REASONS.sharedSecretRotation);
  }
}
