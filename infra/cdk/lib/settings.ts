// Deploy-time settings from CDK context (-c key=value or cdk.json), validated up front so that a
// missing value fails synth with a message saying what to pass.
import { RemovalPolicy } from 'aws-cdk-lib';
import type { Node } from 'constructs';

export interface Settings {
  /** Prepended to every physical name (tables, bus, queues, state machines, functions). */
  readonly namePrefix: string;
  readonly removalPolicy: RemovalPolicy;
  readonly jwtIssuer: string;
  readonly jwtAudience: string[];
}

const REMOVAL_POLICIES: Record<string, RemovalPolicy> = {
  retain: RemovalPolicy.RETAIN,
  destroy: RemovalPolicy.DESTROY,
};

function text(node: Node, key: string): string | undefined {
  const value: unknown = node.tryGetContext(key);
  if (value === undefined || value === null) return undefined;
  if (Array.isArray(value)) return value.join(',');
  return String(value).trim();
}

function required(node: Node, key: string, example: string): string {
  const value = text(node, key);
  if (!value) {
    throw new Error(
      `Missing CDK context "${key}": the HTTP API's JWT authorizer needs it. ` +
        `Pass it like: npx cdk deploy -c ${key}=${example}`,
    );
  }
  return value;
}

export function readSettings(node: Node): Settings {
  const namePrefix = text(node, 'namePrefix') ?? '';
  // Physical names allow at most [A-Za-z0-9_-] everywhere; short enough for the 64-char Lambda limit.
  if (!/^[A-Za-z0-9_-]{0,20}$/.test(namePrefix)) {
    throw new Error(`CDK context "namePrefix"="${namePrefix}" must be up to 20 characters of [A-Za-z0-9_-]`);
  }
  const removal = (text(node, 'removalPolicy') ?? 'retain').toLowerCase();
  const removalPolicy = REMOVAL_POLICIES[removal];
  if (removalPolicy === undefined) {
    throw new Error(`CDK context "removalPolicy"="${removal}" must be one of: ${Object.keys(REMOVAL_POLICIES).join(', ')}`);
  }
  const jwtIssuer = required(node, 'jwtIssuer', 'https://login.example.com/');
  const jwtAudience = required(node, 'jwtAudience', 'provisio-api')
    .split(',')
    .map((a) => a.trim())
    .filter((a) => a !== '');
  return { namePrefix, removalPolicy, jwtIssuer, jwtAudience };
}
