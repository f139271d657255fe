// The declarative tables of the app: what each Lambda is sized at, what it reads from its environment,
// what it may touch, which queues feed which function, and which functions run on a schedule. Keys are
// cargo package names (= binary names, = functions/<name>).
import { Duration } from 'aws-cdk-lib';
import { NAMES, type VariableKey, entries, pascal, placeholders } from './config';

/**
 * Shared secrets: the stack creates each in Secrets Manager with a generated value (ops replace it with
 * the one agreed with the other side) and passes it to the functions that name it in `variables` as a
 * CloudFormation dynamic reference. Keys are names.json `environment` keys.
 */
export const SECRETS = {
  hrWebhookSecret: 'HMAC-SHA256 key of the HR webhook signature, shared with the HR system',
  scimToken: 'Bearer token of the SCIM 2.0 API, shared with the identity provider',
} as const satisfies Partial<Record<VariableKey, string>>;
export type SecretKey = keyof typeof SECRETS;

/** names.json `environment` keys of durations in whole hours, set from CDK context (lib/settings.ts). */
export type HoursKey = Extract<VariableKey, 'moverGraceHours' | 'expiryNoticeHours'>;

/** names.json `environment` keys a function may read besides the store's; the stack supplies each value. */
export type Variable = SecretKey | HoursKey;

export interface FunctionSpec {
  readonly memoryMiB: number;
  readonly timeoutSeconds: number;
  /**
   * Whether it runs on the store wiring (shared/lambda `ports_from_env`) and so gets its variables:
   * backend, tables, bus, state machine ARNs, connector timeout. Default true.
   */
  readonly store?: boolean;
  readonly variables?: readonly Variable[];
}

// HTTP handlers and the store-only tasks answer in well under a second; provisioning and
// deprovisioning call external connectors (bounded by PROVISIO_CONNECTOR_TIMEOUT_MS) and retry in ASL;
// the sweeps work through every due task or holding in one invocation. hr-sync applies up to a batch
// of ten lifecycle changes, each touching all holdings, requests and approvals of one person; scim applies
// one synchronously, within the HTTP API's 30 s integration limit; offboarding tasks walk a leaver's
// requests and approvals.
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
  compliance: { memoryMiB: 256, timeoutSeconds: 300, variables: ['expiryNoticeHours'] },
  // Verifies a signature and queues the event: no store, so none of its variables or grants.
  'hr-webhook': { memoryMiB: 256, timeoutSeconds: 10, store: false, variables: ['hrWebhookSecret'] },
  'hr-sync': { memoryMiB: 256, timeoutSeconds: 60, variables: ['moverGraceHours'] },
  offboarding: { memoryMiB: 256, timeoutSeconds: 60 },
  scim: { memoryMiB: 256, timeoutSeconds: 30, variables: ['scimToken', 'moverGraceHours'] },
} as const satisfies Record<string, FunctionSpec>;

export type FunctionName = keyof typeof FUNCTIONS;
export const FUNCTION_NAMES = Object.keys(FUNCTIONS) as FunctionName[];

/** FUNCTIONS[name] with the optional fields visible (the `as const` literal types omit them). */
export function functionSpec(name: FunctionName): FunctionSpec {
  return FUNCTIONS[name];
}

export interface QueueSpec {
  /** The function an SQS event source feeds, with partial batch responses. */
  readonly consumer: FunctionName;
  readonly batchSize: number;
  /** names.json `environment` key of its URL, set on the functions that may send to it (ACCESS `send`). */
  readonly urlVariable: VariableKey;
  /** Receives before a message moves to the queue's dead-letter queue (names.json `queues`). */
  readonly maxReceiveCount: number;
}

// How the names.json queues are wired here. HR events, FIFO per employee: hr-sync applies up to ten
// at a time and reports the failed ones, so that only those come back.
const QUEUE_WIRING = {
  hr: { consumer: 'hr-sync', batchSize: 10, urlVariable: 'hrQueueUrl' },
} as const satisfies Record<string, Omit<QueueSpec, 'maxReceiveCount'>>;
export type QueueKey = keyof typeof QUEUE_WIRING;

/** names.json `queues` with their wiring; the stack builds each with a dead-letter queue and its alarm. */
export const QUEUES = Object.fromEntries(
  entries(NAMES.queues).map(([key, q]) => {
    if (!(key in QUEUE_WIRING)) throw new Error(`names.json queue ${key}: no consumer in lib/functions.ts QUEUE_WIRING`);
    return [key, { ...QUEUE_WIRING[key as QueueKey], maxReceiveCount: q.maxReceiveCount }];
  }),
) as Record<QueueKey, QueueSpec>;
for (const key of Object.keys(QUEUE_WIRING)) {
  if (!(key in QUEUES)) throw new Error(`lib/functions.ts QUEUE_WIRING.${key}: no such queue in names.json queues`);
}

/**
 * Least privilege per function. Tables and state machines are the logical names of
 * shared/names.json, queues the keys of QUEUES; the stack refuses a name that is not there.
 */
export interface Access {
  /** Tables read (GetItem, Query, Scan, BatchGetItem, ConditionCheckItem, DescribeTable). */
  readonly read?: readonly string[];
  /** Tables read and written (adds PutItem, UpdateItem, DeleteItem, BatchWriteItem). */
  readonly readWrite?: readonly string[];
  /**
   * Indexes it queries without reading their table otherwise (dynamodb:Query on `<table>/index/<name>`
   * only), by table: every index projects all attributes, so the query returns whole records.
   */
  readonly query?: Readonly<Record<string, readonly string[]>>;
  /** State machines it may start (states:StartExecution). */
  readonly start?: readonly string[];
  /** State machines whose task tokens it answers (states:SendTask{Success,Failure,Heartbeat}). */
  readonly taskResponse?: readonly string[];
  /** events:PutEvents on the Provisio bus. */
  readonly putEvents?: boolean;
  /** Queues it sends to (sqs:SendMessage only); it gets their URL in its environment. */
  readonly send?: readonly QueueKey[];
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
  // Reads the compliance findings (findings byKind); the reports read the requests of a period and the
  // approval tasks of those requests through their indexes only (GET /reports/*: shared/core
  // usecases/findings.rs and reports.rs). Assignments are read and written whole: POST /usage records a
  // holding's last use (GetItem + conditional PutItem, usecases/usage.rs), the reports read the holdings
  // of a period (byGranted, byEnded), and an on-demand access review campaign reads the active holdings
  // through the same indexes. The campaign also reads each item and holder's manager, and writes the
  // campaign and its tasks (reviews), announcing them: the only events this function publishes.
  admin: {
    read: ['identities', 'findings'],
    readWrite: ['catalog', 'licenses', 'assignments', 'audit', 'reviews'],
    query: { requests: ['byCreatedMonth'], approvals: ['byRequest'] },
    putEvents: true,
  },
  // Approval decisions answer the fulfilment token; review decisions write the review task and start
  // the deprovision of a revoked holding (the state machine does the rest).
  'approval-callback': {
    read: ['identities'],
    readWrite: ['approvals', 'requests', 'audit', 'reviews'],
    start: ['deprovision'],
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
  // Reads the due holdings (assignments byExpiry) and starts a deprovision for each; the deprovision
  // state machine does the writing. The finding streams read the holdings in the notice window
  // (byExpiry), the pools (licenses pools) with their items' active holdings (assignments byItem) and
  // the catalog (end-of-life items, reclamation policies), and record findings with an audit entry and
  // an event each. Idle holdings (assignments byLastUse) are reclaimed through the same deprovision
  // state machine, so reclamation adds no write either. Access reviews: the quarterly campaign reads the
  // active holdings (byGranted/byEnded), the holders' and reviewers' identities (managers, delegates)
  // and writes the review tasks; the sweep reads the overdue ones (reviews byDue) and revokes through
  // deprovision.
  compliance: {
    read: ['assignments', 'licenses', 'catalog', 'identities'],
    readWrite: ['findings', 'audit', 'reviews'],
    start: ['deprovision'],
    putEvents: true,
  },
  // Queues the verified event; hr-sync applies it.
  'hr-webhook': {
    send: ['hr'],
  },
  // Joiner/mover/leaver/leave (shared/core usecases/lifecycle.rs): reads and writes the identity (and
  // ends other identities' delegations to a leaver); opens birthright requests (checking holdings and
  // open requests, then starting fulfilment; a request whose start failed is closed); schedules and
  // withdraws a mover's revocations on assignments (the compliance sweep revokes them); hands a mover's
  // pending approvals to the new manager (reading the request, its pinned item and the successor);
  // starts offboarding for leavers. No task token is answered and no seat touched. Consumes the HR
  // queue (QUEUES).
  'hr-sync': {
    read: ['catalog'],
    readWrite: ['identities', 'requests', 'approvals', 'assignments', 'audit'],
    start: ['fulfilment', 'offboarding'],
    putEvents: true,
  },
  // Tasks of the offboarding state machine: checks the leaver, cancels their pending requests (failing
  // the waiting fulfilment tokens), hands their approval tasks over (reading the request, its pinned
  // item and the successor's identity), lists their holdings (the deprovisioning function revokes them)
  // and opens device returns, each once per grant (claimed in idempotency).
  offboarding: {
    read: ['identities', 'catalog', 'assignments'],
    readWrite: ['requests', 'approvals', 'audit', 'idempotency'],
    taskResponse: ['fulfilment'],
    putEvents: true,
  },
  // The same lifecycle changes as hr-sync, applied synchronously from SCIM writes; lookups by user
  // name and external id read identity indexes.
  scim: {
    read: ['catalog'],
    readWrite: ['identities', 'requests', 'approvals', 'assignments', 'audit'],
    start: ['fulfilment', 'offboarding'],
    putEvents: true,
  },
};

export interface ScheduleSpec {
  /** The function the schedule invokes (asynchronously, with the scheduled event or `input`). */
  readonly function: FunctionName;
  /** EventBridge rate; a delivery is retried until the next run is due, then goes to the schedule's DLQ. */
  readonly rate: Duration;
  /** Constant input the rule sends instead of the scheduled event (names.json `input`): which job to run. */
  readonly input?: Readonly<Record<string, unknown>>;
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
    return [key, { function: s.function as FunctionName, rate: Duration.minutes(s.rateMinutes), input: s.input }];
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
