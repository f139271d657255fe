// The two declarative tables of the app: what each Lambda is sized at, and what it may touch.
// Keys are cargo package names (= binary names, = functions/<name>).
import { pascal, placeholders } from './config';

export interface FunctionSpec {
  readonly memoryMiB: number;
  readonly timeoutSeconds: number;
}

// HTTP handlers and the store-only tasks answer in well under a second; provisioning and
// deprovisioning call external connectors (bounded by PROVISIO_CONNECTOR_TIMEOUT_MS) and retry in ASL.
export const FUNCTIONS = {
  intake: { memoryMiB: 256, timeoutSeconds: 10 },
  admin: { memoryMiB: 256, timeoutSeconds: 10 },
  'approval-callback': { memoryMiB: 256, timeoutSeconds: 10 },
  eligibility: { memoryMiB: 256, timeoutSeconds: 10 },
  'license-check': { memoryMiB: 256, timeoutSeconds: 10 },
  approval: { memoryMiB: 256, timeoutSeconds: 10 },
  provisioning: { memoryMiB: 256, timeoutSeconds: 60 },
  deprovisioning: { memoryMiB: 256, timeoutSeconds: 60 },
} as const satisfies Record<string, FunctionSpec>;

export type FunctionName = keyof typeof FUNCTIONS;
export const FUNCTION_NAMES = Object.keys(FUNCTIONS) as FunctionName[];

/**
 * Least privilege per function. Tables and state machines are the logical names of
 * shared/names.json; the stack refuses a name that is not there.
 */
export interface Access {
  /** Tables read (GetItem, Query, Scan, BatchGetItem, ConditionCheckItem, DescribeTable). */
  readonly read?: readonly string[];
  /** Tables read and written (adds PutItem, UpdateItem, DeleteItem, BatchWriteItem). */
  readonly readWrite?: readonly string[];
  /** State machines it may start (states:StartExecution). */
  readonly start?: readonly string[];
  /** State machines whose task tokens it answers (states:SendTask{Success,Failure,Heartbeat}). */
  readonly taskResponse?: readonly string[];
  /** events:PutEvents on the Provisio bus. */
  readonly putEvents?: boolean;
}

export const ACCESS: Record<FunctionName, Access> = {
  intake: {
    read: ['catalog', 'identities', 'approvals', 'licenses'],
    readWrite: ['requests', 'assignments', 'audit', 'idempotency'],
    start: ['fulfilment', 'deprovision'],
    putEvents: true,
  },
  admin: {
    read: ['identities'],
    readWrite: ['catalog', 'licenses', 'audit'],
    putEvents: true,
  },
  'approval-callback': {
    read: ['identities', 'catalog'],
    readWrite: ['approvals', 'requests', 'audit'],
    taskResponse: ['fulfilment'],
    putEvents: true,
  },
  eligibility: {
    read: ['catalog', 'identities', 'licenses'],
    readWrite: ['requests', 'audit'],
    putEvents: true,
  },
  'license-check': {
    read: ['catalog'],
    readWrite: ['requests', 'licenses', 'audit'],
    putEvents: true,
  },
  approval: {
    read: ['catalog', 'identities'],
    readWrite: ['approvals', 'requests', 'audit'],
    putEvents: true,
  },
  provisioning: {
    read: ['catalog', 'identities'],
    readWrite: ['requests', 'assignments', 'licenses', 'audit'],
    putEvents: true,
  },
  deprovisioning: {
    read: ['catalog'],
    readWrite: ['requests', 'assignments', 'licenses', 'audit'],
    putEvents: true,
  },
};

/** ASL placeholder of a function's ARN: "license-check" -> "LicenseCheckFunctionArn". */
export function arnPlaceholder(fn: FunctionName): string {
  return `${pascal(fn)}FunctionArn`;
}

/**
 * The functions an ASL definition invokes, from its `${XFunctionArn}` placeholders. Fails for a
 * placeholder no function provides, so a typo in an ASL file fails synth instead of deploy.
 */
export function taskFunctionsOf(definition: string, file: string): FunctionName[] {
  const byPlaceholder = new Map(FUNCTION_NAMES.map((name) => [arnPlaceholder(name), name]));
  return placeholders(definition).map((placeholder) => {
    const name = byPlaceholder.get(placeholder);
    if (!name) {
      throw new Error(
        `${file}: no value for placeholder \${${placeholder}} (known: ${[...byPlaceholder.keys()].join(', ')})`,
      );
    }
    return name;
  });
}
