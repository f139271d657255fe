// State machines: inlined ASL, every placeholder resolved, STANDARD, logging without data, X-Ray,
// and a role that may invoke exactly the functions its definition names.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { NAMES, STATE_MACHINE_KEYS, aslFiles, aslPath, placeholders } from '../lib/config';
import { arnPlaceholder, taskFunctionsOf } from '../lib/functions';
import { type Json, asArray, getAtt, logicalId, synth } from './helpers';

const { stack, template } = synth();
const resources = template.toJSON().Resources;

describe('state machines', () => {
  test('every statemachines/*.asl.json is a names.json state machine and vice versa', () => {
    assert.deepEqual(aslFiles(), STATE_MACHINE_KEYS.map((key) => `${key}.asl.json`).sort());
    assert.equal(Object.keys(template.findResources('AWS::StepFunctions::StateMachine')).length, STATE_MACHINE_KEYS.length);
  });

  for (const key of STATE_MACHINE_KEYS) {
    const file = readFileSync(aslPath(key), 'utf8');
    const resource = () => resources[logicalId(stack.stateMachines[key])];

    test(`${key}: STANDARD, named from names.json, definition inlined verbatim`, () => {
      const props = resource().Properties;
      assert.equal(props.StateMachineType, 'STANDARD');
      assert.equal(props.StateMachineName, NAMES.stateMachines[key]);
      assert.equal(props.DefinitionString, file);
      assert.equal(props.DefinitionS3Location, undefined);
    });

    test(`${key}: every placeholder of the file is resolved to a function ARN`, () => {
      const props = resource().Properties;
      const used = placeholders(file);
      assert.ok(used.length > 0, 'the ASL file invokes no function?');
      assert.deepEqual(Object.keys(props.DefinitionSubstitutions).sort(), used);
      let resolved: string = props.DefinitionString;
      for (const [name, value] of Object.entries<Json>(props.DefinitionSubstitutions)) {
        const fn = taskFunctionsOf(`\${${name}}`, 'test')[0];
        assert.deepEqual(value, getAtt(stack.functions[fn]), name);
        resolved = resolved.replaceAll(`\${${name}}`, 'arn:aws:lambda:eu-west-1:123456789012:function:x');
      }
      assert.doesNotMatch(resolved, /\$\{[A-Za-z0-9_]+\}/);
      JSON.parse(resolved); // still valid JSON after substitution
    });

    test(`${key}: logging level ALL without execution data, to a one-month log group; X-Ray on`, () => {
      const props = resource().Properties;
      assert.equal(props.LoggingConfiguration.Level, 'ALL');
      assert.equal(props.LoggingConfiguration.IncludeExecutionData, false);
      const logGroupId = props.LoggingConfiguration.Destinations[0].CloudWatchLogsLogGroup.LogGroupArn['Fn::GetAtt'][0];
      assert.equal(resources[logGroupId].Properties.RetentionInDays, 30);
      assert.deepEqual(props.TracingConfiguration, { Enabled: true });
    });

    test(`${key}: the role may invoke exactly the functions the definition names`, () => {
      const roleId = resource().Properties.RoleArn['Fn::GetAtt'][0];
      const policies = Object.values<Json>(template.findResources('AWS::IAM::Policy')).filter((p) =>
        p.Properties.Roles.some((r: Json) => r.Ref === roleId),
      );
      const lambdaStatements = policies
        .flatMap((p) => p.Properties.PolicyDocument.Statement)
        .filter((s: Json) => asArray<string>(s.Action).some((a) => a.startsWith('lambda:')));
      assert.equal(lambdaStatements.length, 1);
      assert.deepEqual(asArray(lambdaStatements[0].Action), ['lambda:InvokeFunction']);
      const expected = [...new Set(taskFunctionsOf(file, key))].map((fn) => getAtt(stack.functions[fn]));
      const sortById = (a: Json, b: Json) => a['Fn::GetAtt'][0].localeCompare(b['Fn::GetAtt'][0]);
      assert.deepEqual(asArray<Json>(lambdaStatements[0].Resource).sort(sortById), expected.sort(sortById));
    });
  }

  test('a placeholder without a value fails synth, naming the file and placeholder', () => {
    assert.throws(
      () => taskFunctionsOf('{"FunctionName": "${NoSuchFunctionArn}"}', 'statemachines/x.asl.json'),
      /statemachines\/x\.asl\.json: no value for placeholder \$\{NoSuchFunctionArn\}/,
    );
  });

  test('placeholder names follow the cargo package names', () => {
    assert.equal(arnPlaceholder('license-check'), 'LicenseCheckFunctionArn');
    assert.equal(arnPlaceholder('deprovisioning'), 'DeprovisioningFunctionArn');
  });
});
