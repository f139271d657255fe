// cdk-nag AwsSolutions passes, every acknowledgement matches a real finding on a narrow scope, IAM has
// no wildcard action and no wildcard resource an acknowledgement does not explain, and shared secrets
// reach the functions as references, never as values.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { App, Validations } from 'aws-cdk-lib';
import { CfnPolicy } from 'aws-cdk-lib/aws-iam';
import { AwsSolutionsChecks } from 'cdk-nag';
import type { IConstruct } from 'constructs';
import { NAMES, kebab, pascal } from '../lib/config';
import { FUNCTION_NAMES, SECRETS, type SecretKey, functionSpec } from '../lib/functions';
import { ProvisioStack } from '../lib/provisio-stack';
import { readSettings } from '../lib/settings';
import { type Json, asArray, logicalId, ref, resourcesOfType, synth, testContext } from './helpers';

const { app, stack, template } = synth();

/** Rule ids acknowledged on a construct itself (not inherited), without the "Annotation::" prefix. */
function acknowledgedOn(construct: IConstruct): string[] {
  return construct.node.metadata
    .filter((m) => m.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY)
    .flatMap((m) => Object.keys(m.data as Record<string, string>))
    .map((id) => id.replace(/^annotation::/i, ''));
}

function acknowledgements(scope: IConstruct): { path: string; id: string; reason: string }[] {
  return scope.node.findAll().flatMap((c) =>
    c.node.metadata
      .filter((m) => m.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY)
      .flatMap((m) => Object.entries(m.data as Record<string, string>))
      .map(([id, reason]) => ({ path: c.node.path, id: id.replace(/^annotation::/i, ''), reason })),
  );
}

// Wildcard resources are legitimate only for actions that have no resource-level permissions.
const UNSCOPABLE_ACTIONS = new Set([
  'xray:PutTraceSegments',
  'xray:PutTelemetryRecords',
  'xray:GetSamplingRules',
  'xray:GetSamplingTargets',
  'logs:CreateLogDelivery',
  'logs:GetLogDelivery',
  'logs:UpdateLogDelivery',
  'logs:DeleteLogDelivery',
  'logs:ListLogDeliveries',
  'logs:PutResourcePolicy',
  'logs:DescribeResourcePolicies',
  'logs:DescribeLogGroups',
]);
const isWildcardAction = (action: string) => action === '*' || action.endsWith(':*');

describe('cdk-nag AwsSolutions', () => {
  test('no unacknowledged finding (errors and warnings)', () => {
    const report = new AwsSolutionsChecks().validateScope(app);
    const findings = report.violations.map(
      (v) => `${v.ruleName} (${v.severity}) at ${v.violatingResources.map((r) => r.constructPath).join(', ')}`,
    );
    assert.deepEqual(findings, []);
  });

  test('synth with the validation plugin writes a clean report', () => {
    const report = JSON.parse(readFileSync(join(app.synth().directory, 'validation-report.json'), 'utf8'));
    assert.deepEqual(
      report.pluginReports.filter((r: Json) => r.conclusion !== 'success'),
      [],
    );
  });

  test('every acknowledgement covers a finding of an unacknowledged build, on the same construct path', () => {
    const bare = new App({ context: testContext() });
    new ProvisioStack(bare, 'Provisio', { settings: readSettings(bare.node) });
    const findings = new AwsSolutionsChecks().validateScope(bare).violations.flatMap((v) =>
      v.violatingResources.map((r) => ({ id: v.ruleName, path: r.constructPath! })),
    );
    const acks = acknowledgements(app);
    assert.ok(acks.length > 0);
    for (const finding of findings) {
      assert.ok(
        acks.some((a) => a.id === finding.id && (finding.path === a.path || finding.path.startsWith(`${a.path}/`))),
        `unacknowledged: ${finding.id} at ${finding.path}`,
      );
    }
    for (const ack of acks) {
      assert.ok(
        findings.some((f) => f.id === ack.id && (f.path === ack.path || f.path.startsWith(`${ack.path}/`))),
        `stale acknowledgement: ${ack.id} at ${ack.path}`,
      );
    }
  });

  test('acknowledgements are narrow: below the stack, per finding where the rule has findings, with a reason', () => {
    for (const ack of acknowledgements(app)) {
      assert.ok(ack.path.split('/').length >= 3, `${ack.id} acknowledged on ${ack.path}: too broad`);
      if (ack.id.startsWith('AwsSolutions-IAM5')) assert.match(ack.id, /^AwsSolutions-IAM5\[Resource::.+\]$/);
      assert.ok(ack.reason.length >= 60, `${ack.id}: reason too thin`);
    }
  });
});

describe('IAM', () => {
  /** [construct, resolved statements] of every identity policy of the stack. */
  const identityPolicies = stack.node
    .findAll()
    .filter((c): c is CfnPolicy => c instanceof CfnPolicy)
    .map((policy) => [policy, stack.resolve(policy.policyDocument).Statement as Json[]] as const);

  test('no Allow statement grants a wildcard action (identity and resource policies)', () => {
    const documents: [string, Json][] = [
      ...resourcesOfType(template, 'AWS::IAM::Policy').map(([id, r]): [string, Json] => [id, r.Properties.PolicyDocument]),
      ...resourcesOfType(template, 'AWS::IAM::Role').flatMap(([id, r]) =>
        asArray<Json>(r.Properties.Policies).map((p): [string, Json] => [id, p.PolicyDocument]),
      ),
      ...resourcesOfType(template, 'AWS::IAM::ManagedPolicy').map(([id, r]): [string, Json] => [id, r.Properties.PolicyDocument]),
      ...resourcesOfType(template, 'AWS::SQS::QueuePolicy').map(([id, r]): [string, Json] => [id, r.Properties.PolicyDocument]),
      ...resourcesOfType(template, 'AWS::SNS::TopicPolicy').map(([id, r]): [string, Json] => [id, r.Properties.PolicyDocument]),
    ];
    assert.ok(documents.length > 0);
    for (const [id, document] of documents) {
      for (const statement of document.Statement.filter((s: Json) => s.Effect === 'Allow')) {
        for (const action of asArray<string>(statement.Action)) assert.ok(!isWildcardAction(action), `${id}: ${action}`);
      }
    }
  });

  test('the KMS key policy grants kms:* only to the account root (the default IAM delegation)', () => {
    for (const [id, key] of resourcesOfType(template, 'AWS::KMS::Key')) {
      for (const statement of key.Properties.KeyPolicy.Statement) {
        if (!asArray<string>(statement.Action).some(isWildcardAction)) continue;
        assert.deepEqual(asArray(statement.Action), ['kms:*'], id);
        assert.match(JSON.stringify(statement.Principal), /":iam::",\{"Ref":"AWS::AccountId"\},":root"/, id);
      }
    }
  });

  test('wildcard resources only for unscopable actions or GSI index/*, each covered by an acknowledgement', () => {
    for (const [policy, statements] of identityPolicies) {
      const acked = acknowledgedOn(policy.node.scope!);
      for (const statement of statements.filter((s) => s.Effect === 'Allow')) {
        for (const resource of asArray<Json>(statement.Resource)) {
          const where = `${policy.node.path}: ${JSON.stringify(resource)}`;
          if (resource === '*') {
            for (const action of asArray<string>(statement.Action)) assert.ok(UNSCOPABLE_ACTIONS.has(action), `${where} ${action}`);
            assert.ok(acked.includes('AwsSolutions-IAM5[Resource::*]'), `${where} not acknowledged`);
          } else if (JSON.stringify(resource).includes('*')) {
            const [base, suffix] = resource['Fn::Join'][1];
            assert.equal(suffix, '/index/*', where);
            const table = base['Fn::GetAtt'][0];
            assert.ok(acked.includes(`AwsSolutions-IAM5[Resource::<${table}.Arn>/index/*]`), `${where} not acknowledged`);
            assert.ok(asArray<string>(statement.Action).every((a) => a.startsWith('dynamodb:')), where);
          }
        }
      }
    }
  });

  test('the stack creates no IAM users, groups or managed policies', () => {
    for (const type of ['AWS::IAM::User', 'AWS::IAM::Group', 'AWS::IAM::ManagedPolicy']) {
      assert.equal(resourcesOfType(template, type).length, 0, type);
    }
  });
});

describe('shared secrets', () => {
  const resources = template.toJSON().Resources;
  const secretKeys = Object.keys(SECRETS) as SecretKey[];
  const reference = (id: string, versionId = '') => ({
    'Fn::Join': ['', ['{{resolve:secretsmanager:', { Ref: id }, `:SecretString:::${versionId}}}`]],
  });
  const users = (key: SecretKey) => FUNCTION_NAMES.filter((name) => (functionSpec(name).variables ?? []).includes(key));

  test('one generated secret per SECRETS entry, named from names.json, retained by default', () => {
    assert.deepEqual(Object.keys(stack.secrets).sort(), [...secretKeys].sort());
    assert.equal(resourcesOfType(template, 'AWS::SecretsManager::Secret').length, secretKeys.length);
    for (const key of secretKeys) {
      const secret = resources[logicalId(stack.secrets[key])];
      assert.equal(secret.Properties.Name, `provisio-${kebab(key)}`);
      assert.equal(secret.Properties.SecretString, undefined, 'value inlined');
      assert.deepEqual(secret.Properties.GenerateSecretString, { ExcludePunctuation: true, PasswordLength: 64 });
      assert.equal(secret.DeletionPolicy, 'Retain');
      assert.ok(users(key).length > 0, `${key} is used by no function`);
    }
  });

  test('functions get a dynamic reference to the current version; no secret value is in the template', () => {
    for (const key of secretKeys) {
      for (const name of users(key)) {
        const env = resources[logicalId(stack.functions[name])].Properties.Environment.Variables;
        assert.deepEqual(env[NAMES.environment[key]], reference(logicalId(stack.secrets[key])), `${name} ${key}`);
      }
    }
    // The only places a secret appears: those references and the ARN outputs.
    const text = JSON.stringify(template.toJSON());
    assert.doesNotMatch(text, /"SecretString"/);
    for (const key of secretKeys) {
      const uses = text.split(JSON.stringify(ref(stack.secrets[key]))).length - 1;
      assert.equal(uses, users(key).length + 1, key);
      assert.deepEqual(template.toJSON().Outputs[`${pascal(key)}Arn`].Value, ref(stack.secrets[key]));
    }
  });

  test('functions may not read the secrets (CloudFormation resolves them at deploy time)', () => {
    for (const [, policy] of resourcesOfType(template, 'AWS::IAM::Policy')) {
      for (const statement of policy.Properties.PolicyDocument.Statement) {
        assert.ok(!asArray<string>(statement.Action).some((a) => a.startsWith('secretsmanager:')), JSON.stringify(statement));
      }
    }
  });

  test('context <key>VersionId pins the reference to that version, so a deploy picks up a replaced value', () => {
    const versionId = '0d1e2f3a-4b5c-4d6e-8f90-a1b2c3d4e5f6';
    const pinned = synth({ hrWebhookSecretVersionId: versionId });
    const env = pinned.template.toJSON().Resources[logicalId(pinned.stack.functions['hr-webhook'])].Properties.Environment.Variables;
    assert.deepEqual(
      env[NAMES.environment.hrWebhookSecret],
      reference(logicalId(pinned.stack.secrets.hrWebhookSecret), versionId),
    );
    const scim = pinned.template.toJSON().Resources[logicalId(pinned.stack.functions.scim)].Properties.Environment.Variables;
    assert.deepEqual(scim[NAMES.environment.scimToken], reference(logicalId(pinned.stack.secrets.scimToken)));
  });
});
