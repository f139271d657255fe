// Lambdas: one factory, ARM64 on provided.al2023, sizes from lib/functions.ts, the environment each
// declares, and IAM exactly as the ACCESS and QUEUES tables say.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { CfnPolicy } from 'aws-cdk-lib/aws-iam';
import { NAMES, REPO_ROOT, TABLES, entries, kebab } from '../lib/config';
import {
  ACCESS,
  FUNCTIONS,
  FUNCTION_NAMES,
  type FunctionName,
  QUEUES,
  type QueueKey,
  SCHEDULES,
  SECRETS,
  functionSpec,
} from '../lib/functions';
import { RUST_RUNTIME } from '../lib/provisio-stack';
import { type Json, asArray, getAtt, logicalId, ref, resourcesOfType, synth } from './helpers';

const { stack, template } = synth();
const functionResource = (name: FunctionName): Json =>
  template.toJSON().Resources[logicalId(stack.functions[name])];

/** Resolved statements of a function's role policy. */
function statements(name: FunctionName): Json[] {
  const policy = stack.functions[name].role!.node.findChild('DefaultPolicy').node.defaultChild as CfnPolicy;
  return stack.resolve(policy.policyDocument).Statement;
}

/** "action resource" pairs of a function's statements whose actions start with `prefix`, sorted. */
function grants(name: FunctionName, prefix: string): string[] {
  return statements(name)
    .flatMap((s) => asArray<string>(s.Action).flatMap((a) => asArray<Json>(s.Resource).map((r) => `${a} ${JSON.stringify(r)}`)))
    .filter((pair) => pair.startsWith(prefix))
    .sort();
}

/** Queues a function consumes (QUEUES consumer). */
const consumedBy = (name: FunctionName) =>
  (Object.keys(QUEUES) as QueueKey[]).filter((key) => QUEUES[key].consumer === name);

// What the SQS event source needs of its queue (SqsEventSource grants exactly these).
const CONSUME_ACTIONS = [
  'sqs:ChangeMessageVisibility',
  'sqs:DeleteMessage',
  'sqs:GetQueueAttributes',
  'sqs:GetQueueUrl',
  'sqs:ReceiveMessage',
];

describe('functions', () => {
  test('there is one Lambda per FUNCTIONS entry, nothing else', () => {
    assert.equal(resourcesOfType(template, 'AWS::Lambda::Function').length, FUNCTION_NAMES.length);
  });

  test('every function has a trigger: an HTTP route, a state machine task, a schedule or a queue', () => {
    const triggered = new Set<string>([
      ...entries(NAMES.routes)
        .filter(([key]) => key !== 'public')
        .map(([key]) => kebab(key)),
      ...Object.values(stack.taskFunctions).flat(),
      ...Object.values(SCHEDULES).map((schedule) => schedule.function),
      ...Object.values(QUEUES).map((queue) => queue.consumer),
    ]);
    assert.deepEqual(FUNCTION_NAMES.filter((name) => !triggered.has(name)), []);
  });

  test('every binary is a package of the cargo workspace', () => {
    const root = readFileSync(join(REPO_ROOT, 'Cargo.toml'), 'utf8');
    const members = [...root.matchAll(/^\s*"([^"]+)",?\s*$/gm)].map((m) => m[1]);
    const packages = members.map(
      (member) => /\[package\][^[]*?\nname\s*=\s*"([^"]+)"/.exec(readFileSync(join(REPO_ROOT, member, 'Cargo.toml'), 'utf8'))?.[1],
    );
    for (const name of FUNCTION_NAMES) assert.ok(packages.includes(name), `${name} is not a workspace package`);
  });

  for (const name of FUNCTION_NAMES) {
    test(`${name}: ARM_64, ${RUST_RUNTIME}, bootstrap, size and timeout from FUNCTIONS, X-Ray active`, () => {
      const props = functionResource(name).Properties;
      assert.deepEqual(props.Architectures, ['arm64']);
      assert.equal(props.Runtime, 'provided.al2023');
      assert.equal(props.Handler, 'bootstrap');
      assert.equal(props.MemorySize, FUNCTIONS[name].memoryMiB);
      assert.equal(props.Timeout, FUNCTIONS[name].timeoutSeconds);
      assert.deepEqual(props.TracingConfig, { Mode: 'Active' });
      assert.equal(props.FunctionName, `provisio-${name}`);
    });

    test(`${name}: logs to its own log group, kept one month, and may write only there`, () => {
      const props = functionResource(name).Properties;
      const logGroupId = props.LoggingConfig.LogGroup.Ref;
      const logGroup = template.toJSON().Resources[logGroupId];
      assert.equal(logGroup.Properties.RetentionInDays, 30);
      assert.equal(logGroup.Properties.LogGroupName, `/aws/lambda/provisio-${name}`);
      const logStatements = statements(name).filter((s) => asArray<string>(s.Action).some((a) => a.startsWith('logs:')));
      assert.deepEqual(logStatements, [
        {
          Action: ['logs:CreateLogStream', 'logs:PutLogEvents'],
          Effect: 'Allow',
          Resource: { 'Fn::GetAtt': [logGroupId, 'Arn'] },
        },
      ]);
    });

    test(`${name}: environment is the store's${functionSpec(name).store === false ? ' (opted out)' : ''}, its queues' URLs and its variables`, () => {
      const spec = functionSpec(name);
      const env = functionResource(name).Properties.Environment.Variables;
      const names = NAMES.environment;
      assert.equal(env.RUST_LOG, 'info');
      const expected = ['RUST_LOG'];
      if (spec.store ?? true) {
        assert.equal(env[names.backend], 'dynamodb');
        assert.deepEqual(env[names.eventBusName], ref(stack.bus));
        assert.match(env[names.connectorTimeoutMs], /^[1-9][0-9]*$/);
        assert.ok(Number(env[names.connectorTimeoutMs]) < spec.timeoutSeconds * 1000);
        for (const [key, variable] of entries(names.tables)) assert.deepEqual(env[variable], ref(stack.tables[key]));
        // Every state machine of names.json: the Rust wiring requires all of them.
        assert.deepEqual(
          entries(names.stateMachineArns).map(([key]) => key).sort(),
          entries(NAMES.stateMachines).map(([key]) => key).sort(),
        );
        for (const [key, variable] of entries(names.stateMachineArns)) {
          const arn = JSON.stringify(env[variable]);
          assert.ok(arn.includes(`":states:"`) && arn.endsWith(`":stateMachine:${NAMES.stateMachines[key]}"]]}`), arn);
        }
        expected.push(
          names.backend,
          names.eventBusName,
          names.connectorTimeoutMs,
          ...entries(names.tables).map(([, v]) => v),
          ...entries(names.stateMachineArns).map(([, v]) => v),
        );
      }
      for (const key of ACCESS[name].send ?? []) {
        const variable = names[QUEUES[key].urlVariable];
        assert.deepEqual(env[variable], ref(stack.queues[key]));
        expected.push(variable);
      }
      for (const key of spec.variables ?? []) {
        if (key === 'moverGraceHours' || key === 'expiryNoticeHours') assert.equal(env[names[key]], '168');
        else assert.match(JSON.stringify(env[names[key]]), /\{\{resolve:secretsmanager:/);
        expected.push(names[key]);
      }
      assert.deepEqual(Object.keys(env).sort(), expected.sort());
    });

    test(`${name}: IAM is exactly its ACCESS row`, () => {
      const access = ACCESS[name];
      const all = statements(name);
      const tablesWith = (action: string) =>
        all
          .filter((s) => asArray<string>(s.Action).includes(action))
          .flatMap((s) => asArray<Json>(s.Resource))
          .filter((r) => r['Fn::GetAtt'])
          .map((r) => r['Fn::GetAtt'][0])
          .sort();
      const ids = (keys: readonly string[] = []) => keys.map((key) => logicalId(stack.tables[key])).sort();
      assert.deepEqual(tablesWith('dynamodb:GetItem'), ids([...(access.read ?? []), ...(access.readWrite ?? [])]));
      assert.deepEqual(tablesWith('dynamodb:PutItem'), ids(access.readWrite));
      assert.deepEqual(tablesWith('dynamodb:UpdateItem'), ids(access.readWrite));

      const stateMachinesWith = (action: string) =>
        all
          .filter((s) => asArray<string>(s.Action).includes(action))
          .flatMap((s) => asArray<Json>(s.Resource))
          .map((r) => JSON.stringify(r).match(/:stateMachine:([^"]+)"/)![1])
          .sort();
      const smNames = (keys: readonly string[] = []) => keys.map((key) => NAMES.stateMachines[key]).sort();
      assert.deepEqual(stateMachinesWith('states:StartExecution'), smNames(access.start));
      for (const action of ['states:SendTaskSuccess', 'states:SendTaskFailure', 'states:SendTaskHeartbeat']) {
        assert.deepEqual(stateMachinesWith(action), smNames(access.taskResponse));
      }

      const putEvents = all.filter((s) => asArray<string>(s.Action).includes('events:PutEvents'));
      assert.deepEqual(putEvents.map((s) => s.Resource), access.putEvents ? [getAtt(stack.bus)] : []);

      const queueArn = (key: QueueKey) => JSON.stringify(getAtt(stack.queues[key]));
      assert.deepEqual(
        grants(name, 'sqs:'),
        [
          ...(access.send ?? []).map((key) => `sqs:SendMessage ${queueArn(key)}`),
          ...consumedBy(name).flatMap((key) => CONSUME_ACTIONS.map((action) => `${action} ${queueArn(key)}`)),
        ].sort(),
      );

      // Index-only queries: exactly the named indexes, nothing else on their tables.
      const queried = all
        .filter((s) => asArray<string>(s.Action).join() === 'dynamodb:Query')
        .flatMap((s) => asArray<Json>(s.Resource))
        .map((r) => `${r['Fn::Join'][1][0]['Fn::GetAtt'][0]}${r['Fn::Join'][1][1]}`)
        .sort();
      assert.deepEqual(
        queried,
        entries(access.query ?? {})
          .flatMap(([key, indexes]) => indexes.map((index) => `${logicalId(stack.tables[key])}/index/${index}`))
          .sort(),
      );

      const services = new Set(all.flatMap((s) => asArray<string>(s.Action)).map((a) => a.split(':')[0]));
      const expected = ['logs', 'xray'];
      if (access.read?.length || access.readWrite?.length || queried.length) expected.push('dynamodb');
      if (access.putEvents) expected.push('events');
      if (access.start?.length || access.taskResponse?.length) expected.push('states');
      if (access.send?.length || consumedBy(name).length) expected.push('sqs');
      assert.deepEqual([...services].sort(), expected.sort());
    });

    test(`${name}: the index/* grants cover only tables that have GSIs`, () => {
      const indexTables = statements(name)
        .flatMap((s) => asArray<Json>(s.Resource))
        .filter((r) => r['Fn::Join'] && r['Fn::Join'][1][1] === '/index/*')
        .map((r) => r['Fn::Join'][1][0]['Fn::GetAtt'][0]);
      for (const id of indexTables) {
        const key = Object.keys(stack.tables).find((k) => logicalId(stack.tables[k]) === id)!;
        assert.ok(Object.keys(TABLES[key].indexes ?? {}).length > 0, `${key} has no GSI`);
      }
    });
  }

  test('hr-webhook: sqs:SendMessage on the HR queue is all it may do besides logs and X-Ray; no store in env', () => {
    assert.deepEqual(grants('hr-webhook', 'sqs:'), [`sqs:SendMessage ${JSON.stringify(getAtt(stack.hrQueue))}`]);
    const others = statements('hr-webhook')
      .flatMap((s) => asArray<string>(s.Action))
      .filter((a) => !/^(logs|xray|sqs):/.test(a));
    assert.deepEqual(others, []);
    const env = functionResource('hr-webhook').Properties.Environment.Variables;
    assert.deepEqual(Object.keys(env).sort(), ['RUST_LOG', NAMES.environment.hrQueueUrl, NAMES.environment.hrWebhookSecret].sort());
  });

  test('every names.json environment variable is set on some function', () => {
    const set = new Set(FUNCTION_NAMES.flatMap((name) => Object.keys(functionResource(name).Properties.Environment.Variables)));
    const { tables, stateMachineArns, ...single } = NAMES.environment;
    const variables = [...entries(single), ...entries(tables), ...entries(stateMachineArns)].map(([, v]) => v as string);
    assert.deepEqual(variables.filter((v) => !set.has(v)), []);
  });

  test('the secret variables are exactly SECRETS, and only the functions naming them get them', () => {
    for (const name of FUNCTION_NAMES) {
      const env = functionResource(name).Properties.Environment.Variables;
      for (const key of Object.keys(SECRETS) as (keyof typeof SECRETS)[]) {
        const named = (functionSpec(name).variables ?? []).includes(key);
        assert.equal(NAMES.environment[key] in env, named, `${name} ${key}`);
      }
    }
  });

  test('function roles carry no managed policy (no AWSLambdaBasicExecutionRole)', () => {
    for (const name of FUNCTION_NAMES) {
      const role = template.toJSON().Resources[logicalId(stack.functions[name].role!)];
      assert.equal(role.Properties.ManagedPolicyArns, undefined, name);
    }
  });
});
