// Reads the shared name and key-schema files so that no name is repeated in the CDK app.
import { readFileSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';

/** Repository root: infra/cdk/lib -> ../../.. */
export const REPO_ROOT = resolve(__dirname, '..', '..', '..');
export const STATE_MACHINE_DIR = join(REPO_ROOT, 'statemachines');

export type AttributeType = 'S' | 'N' | 'B';
export interface KeyAttribute {
  readonly name: string;
  readonly type: AttributeType;
}
export interface KeySchema {
  readonly partitionKey: KeyAttribute;
  readonly sortKey?: KeyAttribute;
}
export interface TableSchema extends KeySchema {
  readonly indexes?: Record<string, KeySchema>;
  readonly timeToLive?: string;
}

export interface Names {
  readonly eventSource: string;
  readonly tables: Record<string, string>;
  readonly stateMachines: Record<string, string>;
  readonly eventTypes: Record<string, string>;
  readonly environment: {
    readonly backend: string;
    readonly eventBusName: string;
    readonly connectorTimeoutMs: string;
    readonly hrWebhookSecret: string;
    readonly hrQueueUrl: string;
    readonly moverGraceHours: string;
    readonly expiryNoticeHours: string;
    readonly scimToken: string;
    readonly tables: Record<string, string>;
    readonly stateMachineArns: Record<string, string>;
  };
  /** Route keys ("GET /catalog") per function key, plus `public` (routes without JWT). */
  readonly routes: Record<string, string[]>;
  /** Scheduled functions: EventBridge rules here, timers in the local stack. */
  readonly schedules: Record<
    string,
    { readonly function: string; readonly rateMinutes: number; readonly input?: Readonly<Record<string, unknown>> }
  >;
  /** SQS queues: built here, emulated by the local stack, with the same settings. */
  readonly queues: Record<string, { readonly maxReceiveCount: number }>;
}

/** names.json `environment` keys naming one variable (not the per-table and per-state-machine groups). */
export type VariableKey = Exclude<keyof Names['environment'], 'tables' | 'stateMachineArns'>;

/** Drops the `$comment` entries the shared JSON files carry for humans. */
export function entries<T>(record: Record<string, T>): [string, T][] {
  return Object.entries(record).filter(([key]) => !key.startsWith('$'));
}

function readJson<T>(...path: string[]): T {
  return JSON.parse(readFileSync(join(REPO_ROOT, ...path), 'utf8')) as T;
}

export const NAMES: Names = readJson<Names>('shared', 'names.json');
export const TABLES: Record<string, TableSchema> = Object.fromEntries(
  entries(readJson<Record<string, TableSchema>>('shared', 'tables.json')),
);

/** Logical table names (keys of names.json `tables`). */
export const TABLE_KEYS: string[] = entries(NAMES.tables).map(([key]) => key);
/** Logical state machine names (keys of names.json `stateMachines`). */
export const STATE_MACHINE_KEYS: string[] = entries(NAMES.stateMachines).map(([key]) => key);

/** statemachines/<key>.asl.json for a names.json `stateMachines` key. */
export function aslPath(stateMachineKey: string): string {
  return join(STATE_MACHINE_DIR, `${stateMachineKey}.asl.json`);
}

/** Every ASL file in statemachines/, so that a new file without a state machine is noticed. */
export function aslFiles(): string[] {
  return readdirSync(STATE_MACHINE_DIR)
    .filter((file) => file.endsWith('.asl.json'))
    .sort();
}

/** `${Name}` placeholders of an ASL definition, sorted and de-duplicated. */
export function placeholders(definition: string): string[] {
  return [...new Set([...definition.matchAll(/\$\{([A-Za-z0-9_]+)\}/g)].map((m) => m[1]))].sort();
}

/** "approval-callback" -> "ApprovalCallback", "approvalCallback" -> "ApprovalCallback". */
export function pascal(name: string): string {
  return name
    .split(/[-_]/)
    .map((part) => part.charAt(0).toUpperCase() + part.slice(1))
    .join('');
}

/** names.json route keys are camelCase ("approvalCallback"); cargo packages are kebab-case. */
export function kebab(name: string): string {
  return name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
}
