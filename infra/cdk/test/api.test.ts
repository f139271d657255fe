// HTTP API: every names.json route on its function, JWT everywhere but routes.public, access logs,
// throttling; settings fail clearly when missing.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { NAMES, entries, kebab } from '../lib/config';
import type { FunctionName } from '../lib/functions';
import { TEST_CONTEXT, getAtt, logicalId, resourcesOfType, synth } from './helpers';

const { stack, template } = synth();
const resources = template.toJSON().Resources;
const routes = resourcesOfType(template, 'AWS::ApiGatewayV2::Route').map(([, r]) => r.Properties);
const [[authorizerId, authorizer]] = resourcesOfType(template, 'AWS::ApiGatewayV2::Authorizer');
const publicRoutes = new Set(NAMES.routes.public);
const served = entries(NAMES.routes).filter(([key]) => key !== 'public');

describe('HTTP API', () => {
  test('the JWT authorizer takes issuer and audience from context', () => {
    assert.equal(authorizer.Properties.AuthorizerType, 'JWT');
    assert.deepEqual(authorizer.Properties.JwtConfiguration, {
      Issuer: TEST_CONTEXT.jwtIssuer,
      Audience: TEST_CONTEXT.jwtAudience.split(','),
    });
    assert.deepEqual(authorizer.Properties.IdentitySource, ['$request.header.Authorization']);
  });

  test('exactly the routes of names.json exist', () => {
    const expected = served.flatMap(([, keys]) => keys).sort();
    assert.deepEqual(routes.map((r) => r.RouteKey).sort(), expected);
  });

  test('the routes without an authorizer are exactly names.json routes.public', () => {
    const open = routes.filter((r) => r.AuthorizationType !== 'JWT' || r.AuthorizerId === undefined);
    assert.deepEqual(open.map((r) => r.RouteKey).sort(), [...publicRoutes].sort());
    assert.deepEqual(Object.keys(stack.publicRoutes).sort(), [...publicRoutes].sort());
  });

  test('the HR webhook and every SCIM route are public (their functions authenticate the caller)', () => {
    for (const routeKey of [...NAMES.routes.hrWebhook, ...NAMES.routes.scim]) {
      assert.ok(publicRoutes.has(routeKey), routeKey);
      assert.ok(routeKey.includes(' /scim/v2/') || routeKey === 'POST /hr/events', routeKey);
    }
  });

  for (const [routesKey, keys] of served) {
    const fn = kebab(routesKey) as FunctionName;
    for (const routeKey of keys) {
      const isPublic = publicRoutes.has(routeKey);
      test(`${routeKey} -> ${fn}, ${isPublic ? 'public (no authorizer)' : 'JWT'}`, () => {
        const route = routes.find((r) => r.RouteKey === routeKey);
        assert.ok(route, 'route missing');
        const integrationId = route.Target['Fn::Join'][1][1].Ref;
        const integration = resources[integrationId].Properties;
        assert.equal(integration.IntegrationType, 'AWS_PROXY');
        assert.equal(integration.PayloadFormatVersion, '2.0');
        assert.deepEqual(integration.IntegrationUri, getAtt(stack.functions[fn]));
        if (isPublic) {
          assert.equal(route.AuthorizationType, 'NONE');
          assert.equal(route.AuthorizerId, undefined);
        } else {
          assert.equal(route.AuthorizationType, 'JWT');
          assert.deepEqual(route.AuthorizerId, { Ref: authorizerId });
        }
      });
    }
  }

  test('API Gateway may invoke each HTTP function, scoped to this API', () => {
    for (const [routesKey] of served) {
      const fn = stack.functions[kebab(routesKey) as FunctionName];
      const permissions = resourcesOfType(template, 'AWS::Lambda::Permission')
        .map(([, p]) => p.Properties)
        .filter((p) => JSON.stringify(p.FunctionName) === JSON.stringify(getAtt(fn)));
      assert.ok(permissions.length > 0, routesKey);
      for (const p of permissions) {
        assert.equal(p.Principal, 'apigateway.amazonaws.com');
        assert.ok(JSON.stringify(p.SourceArn).includes(logicalId(stack.api)), 'source ARN is not this API');
      }
    }
  });

  test('$default stage: auto-deploy, access logs (one month), throttling defaults', () => {
    const [[, stage]] = resourcesOfType(template, 'AWS::ApiGatewayV2::Stage');
    const props = stage.Properties;
    assert.equal(props.StageName, '$default');
    assert.equal(props.AutoDeploy, true);
    const logGroupId = props.AccessLogSettings.DestinationArn['Fn::GetAtt'][0];
    assert.equal(resources[logGroupId].Properties.RetentionInDays, 30);
    const format = JSON.parse(props.AccessLogSettings.Format);
    assert.equal(format.requestId, '$context.requestId');
    assert.ok(props.DefaultRouteSettings.ThrottlingRateLimit > 0);
    assert.ok(props.DefaultRouteSettings.ThrottlingBurstLimit > 0);
  });

  test('ApiUrl output points at the $default stage', () => {
    const url = JSON.stringify(template.toJSON().Outputs.ApiUrl.Value);
    assert.ok(url.includes(logicalId(stack.api)) && url.includes('execute-api'), url);
  });
});

describe('settings', () => {
  for (const missing of ['jwtIssuer', 'jwtAudience']) {
    test(`synth fails with a clear message without context ${missing}`, () => {
      assert.throws(() => synth({ [missing]: undefined }), new RegExp(`Missing CDK context "${missing}".*-c ${missing}=`));
    });
  }

  test('removalPolicy accepts only retain or destroy', () => {
    assert.throws(() => synth({ removalPolicy: 'snapshot' }), /"removalPolicy"="snapshot" must be one of: retain, destroy/);
  });

  test('namePrefix must be a short physical-name prefix', () => {
    assert.throws(() => synth({ namePrefix: 'has space' }), /"namePrefix"="has space"/);
  });

  test('moverGraceHours and expiryNoticeHours must be whole numbers of hours', () => {
    for (const key of ['moverGraceHours', 'expiryNoticeHours']) {
      for (const bad of ['-1', '1.5', 'week']) {
        assert.throws(() => synth({ [key]: bad }), new RegExp(`"${key}"="${bad}" must be a whole number`));
      }
    }
  });

  test('a secret version id must look like one', () => {
    assert.throws(() => synth({ scimTokenVersionId: 'AWSCURRENT' }), /"scimTokenVersionId"="AWSCURRENT" is not a Secrets Manager version id/);
  });
});

