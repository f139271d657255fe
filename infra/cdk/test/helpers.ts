// Synth helpers shared by the tests: same feature flags as cdk.json, bundling skipped (no cargo build).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type App, type CfnElement, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import type { IConstruct } from 'constructs';
import { SKIP_BUNDLING_CONTEXT, buildApp } from '../lib/app';
import type { ProvisioStack } from '../lib/provisio-stack';

export const TEST_CONTEXT = { jwtIssuer: 'https://login.example.com/', jwtAudience: 'provisio-api,provisio-web' };

const CDK_JSON_CONTEXT: Record<string, unknown> = JSON.parse(
  readFileSync(join(__dirname, '..', 'cdk.json'), 'utf8'),
).context;

/** Context as `cdk synth` sees it in CI: cdk.json, bundling skipped, issuer and audience given. */
export function testContext(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { ...CDK_JSON_CONTEXT, ...SKIP_BUNDLING_CONTEXT, ...TEST_CONTEXT, ...extra };
}

export interface Synth {
  readonly app: App;
  readonly stack: ProvisioStack;
  readonly template: Template;
}

/** Builds the app (cdk-nag plugin included: synth throws on an unacknowledged finding). */
export function synth(extra: Record<string, unknown> = {}, outdir?: string): Synth {
  const { app, stack } = buildApp({ context: testContext(extra), outdir });
  return { app, stack, template: Template.fromStack(stack) };
}

export function logicalId(construct: IConstruct): string {
  const element = (construct.node.defaultChild ?? construct) as CfnElement;
  return Stack.of(construct).getLogicalId(element);
}

export const getAtt = (construct: IConstruct, attribute = 'Arn') => ({
  'Fn::GetAtt': [logicalId(construct), attribute],
});
export const ref = (construct: IConstruct) => ({ Ref: logicalId(construct) });

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Json = any;

export function resourcesOfType(template: Template, type: string): [string, Json][] {
  return Object.entries(template.findResources(type));
}

export function asArray<T>(value: T | T[] | undefined): T[] {
  if (value === undefined) return [];
  return Array.isArray(value) ? value : [value];
}
