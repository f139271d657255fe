// Deploy-time settings from CDK context (-c key=value or cdk.json), validated up front so that a
// missing value fails synth with a message saying what to pass.
import { RemovalPolicy } from 'aws-cdk-lib';
import type { Node } from 'constructs';
import { SECRETS, type HoursKey, type SecretKey } from './functions';

export interface Settings {
  /** Prepended to every physical name (tables, bus, queues, state machines, functions). */
  readonly namePrefix: string;
  readonly removalPolicy: RemovalPolicy;
  readonly jwtIssuer: string;
  readonly jwtAudience: string[];
  /**
   * Durations in whole hours, by names.json `environment` key: PROVISIO_MOVER_GRACE_HOURS (how long a
   * mover keeps access the new position no longer grants) and PROVISIO_EXPIRY_NOTICE_HOURS (how long
   * before a time-bound holding ends its holder is notified).
   */
  readonly hours: Record<HoursKey, number>;
  /**
   * Secrets Manager version id per secret (context `<key>VersionId`), or undefined for the current
   * version. CloudFormation resolves a dynamic reference only when the reference itself changes, so a
   * replaced secret value reaches the functions by deploying with its new version id.
   */
  readonly secretVersionIds: Record<SecretKey, string | undefined>;
}

// The Rust defaults (DEFAULT_MOVER_GRACE_HOURS, DEFAULT_EXPIRY_NOTICE_HOURS: one week each), set
// explicitly so the deployed values are visible.
const DEFAULT_HOURS: Record<HoursKey, number> = { moverGraceHours: 168, expiryNoticeHours: 168 };

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
  const hours = {} as Record<HoursKey, number>;
  for (const key of Object.keys(DEFAULT_HOURS) as HoursKey[]) {
    const value = text(node, key) ?? String(DEFAULT_HOURS[key]);
    if (!/^[0-9]{1,6}$/.test(value)) {
      throw new Error(`CDK context "${key}"="${value}" must be a whole number of hours`);
    }
    hours[key] = Number(value);
  }
  const secretVersionIds = {} as Record<SecretKey, string | undefined>;
  for (const key of Object.keys(SECRETS) as SecretKey[]) {
    const contextKey = `${key}VersionId`;
    const versionId = text(node, contextKey) || undefined;
    // Secrets Manager version ids: 32 to 64 characters (UUIDs when Secrets Manager makes them).
    if (versionId !== undefined && !/^[A-Za-z0-9-]{32,64}$/.test(versionId)) {
      throw new Error(`CDK context "${contextKey}"="${versionId}" is not a Secrets Manager version id`);
    }
    secretVersionIds[key] = versionId;
  }
  return { namePrefix, removalPolicy, jwtIssuer, jwtAudience, hours, secretVersionIds };
}
