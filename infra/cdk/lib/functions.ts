// The declarative tables of the app: what each Lambda is sized at, what it may touch, and which
// functions run on a schedule. Keys are cargo package names (= binary names, = functions/<name>).
import { Duration } from 'aws-cdk-lib';
import { NAMES, entries, pascal, placeholders } from './config';

export interface FunctionSpec {
  readonly memoryMiB: number;
  readonly timeoutSeconds: number;
}

// HTTP handlers and the store-only tasks answer in well under a second; provisioning and
// deprovisioning call external connectors (bounded by PROVISIO_CONNECTOR_TIMEOUT_MS) and retry in ASL;
// the sweeps work through every due task or holding in one invocation.
export const FUNCTIONS = {
  intake: { memoryMiB: 256, timeoutSeconds: 10 },
  admin: { memoryMiB: 256, timeoutSeconds: 10 },
  'approval-callback': { memoryMiB: 256, timeoutSeconds: 10 },
  eligibility: { memoryMiB: 256, timeoutSeconds: 10 },
  'license-check': { memoryMiB: 256, timeoutSeconds: 10 },
  approval: { memoryMiB: 256, timeoutSeconds: 10 },
  provisioning: { memoryMiB: 256, timeoutSeconds: 60 },
  deprovisioning: { memoryMiB: 256, timeoutSeconds: 60 },
  escalation: { memoryMiB: 256, timeoutSeconds: 60 },
  compliance: { memoryMiB: 256, timeoutSeconds: 300 },
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
  // Cancel closes open approval tasks and fails their waiting token; return starts a deprovision;
  // assignments are only read (list, own holding); licenses are untouched.
  intake: {
    read: ['catalog', 'identities', 'assignments'],
    readWrite: ['requests', 'approvals', 'audit', 'idempotency'],
    start: ['fulfilment', 'deprovision'],
    taskResponse: ['fulfilment'],
    putEvents: true,
  },
  // Publishes no domain event.
  admin: {
    read: ['identities'],
    readWrite: ['catalog', 'licenses', 'audit'],
  },
  'approval-callback': {
    read: ['identities'],
    readWrite: ['approvals', 'requests', 'audit'],
    taskResponse: ['fulfilment'],
    putEvents: true,
  },
  eligibility: {
    read: ['catalog', 'identities'],
    readWrite: ['requests', 'audit'],
    putEvents: true,
  },
  // Commit moves seats onto holdings (assignments); release closes the request's open approval tasks.
  'license-check': {
    read: ['catalog'],
    readWrite: ['requests', 'licenses', 'assignments', 'approvals', 'audit'],
    putEvents: true,
  },
  approval: {
    read: ['catalog', 'identities'],
    readWrite: ['approvals', 'requests', 'audit'],
    putEvents: true,
  },
  // Seats are committed later by license-check, so no licenses here.
  provisioning: {
    read: ['catalog'],
    readWrite: ['requests', 'assignments', 'audit'],
    putEvents: true,
  },
  // Works on the assignment alone: no request is read or written.
  deprovisioning: {
    read: ['catalog'],
    readWrite: ['assignments', 'licenses', 'audit'],
    putEvents: true,
  },
  // Reads due tasks (approvals byEscalation) and records each step on them; escalation reads the
  // request, its pinned catalog version and the approvers' identities (managers) and audits; expiry
  // fails the fulfilment task token (SendTaskFailure Provisio.Expired).
  escalation: {
    read: ['catalog', 'identities', 'requests'],
    readWrite: ['approvals', 'audit'],
    taskResponse: ['fulfilment'],
    putEvents: true,
  },
  // Reads the expired holdings (assignments byExpiry) and starts a deprovision for each; the
  // deprovision state machine does the writing.
  compliance: {
    read: ['assignments'],
    start: ['deprovision'],
  },
};

export interface ScheduleSpec {
  /** The function the schedule invokes (asynchronously, with the scheduled event as input). */
  readonly function: FunctionName;
  /** EventBridge rate; a delivery is retried until the next run is due, then goes to the schedule's DLQ. */
  readonly rate: Duration;
}

/**
 * EventBridge schedules (rules on the default bus: schedules cannot use a custom bus). Keys name the
 * rule (`<namePrefix>provisio-<key>`) and its constructs; each gets a retry policy, a dead-letter queue
 * and an alarm on that queue.
 */
export const SCHEDULES: Record<string, ScheduleSpec> = Object.fromEntries(
  entries(NAMES.schedules).map(([key, s]) => {
    if (!(s.function in FUNCTIONS)) {
      throw new Error(`names.json schedule ${key} names no function: ${s.function}`);
    }
    return [key, { function: s.function as FunctionName, rate: Duration.minutes(s.rateMinutes) }];
  }),
);

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
