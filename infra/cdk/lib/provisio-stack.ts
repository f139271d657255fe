// The whole Provisio deployment: tables, Lambdas, state machines, HTTP API, bus, schedules, HR queue,
// shared secrets, alarms.
// Names come from shared/names.json, key schemas from shared/tables.json, sizes and permissions from
// lib/functions.ts; this file only wires them together.
import { readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { ArnFormat, CfnOutput, Duration, RemovalPolicy, SecretValue, Stack, type StackProps } from 'aws-cdk-lib';
import { AccessLogFormat } from 'aws-cdk-lib/aws-apigateway';
import * as apigw from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpJwtAuthorizer } from 'aws-cdk-lib/aws-apigatewayv2-authorizers';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { RustFunction } from 'cargo-lambda-cdk';
import type { Construct } from 'constructs';
import {
  NAMES,
  REPO_ROOT,
  STATE_MACHINE_KEYS,
  TABLES,
  TABLE_KEYS,
  type KeyAttribute,
  type VariableKey,
  aslFiles,
  aslPath,
  entries,
  kebab,
  pascal,
} from './config';
import {
  ACCESS,
  FUNCTIONS,
  FUNCTION_NAMES,
  type FunctionName,
  QUEUES,
  type QueueKey,
  SCHEDULES,
  SECRETS,
  type ScheduleSpec,
  type SecretKey,
  type Variable,
  arnPlaceholder,
  functionSpec,
  taskFunctionsOf,
} from './functions';
import type { Settings } from './settings';

/** The runtime cargo-lambda-cdk deploys Rust binaries on; tests assert it stays so. */
export const RUST_RUNTIME = 'provided.al2023';
const LOG_RETENTION = logs.RetentionDays.ONE_MONTH;
// Stage-wide defaults; per-route limits can be added once real traffic is known.
const API_THROTTLE = { rateLimit: 50, burstLimit: 100 };
// The Rust connector default (shared/lambda wiring); a call must also leave time for the store writes.
const MAX_CONNECTOR_TIMEOUT_MS = 10_000;
// EventBridge target retries: bounded by the maximum event age, which is the schedule's period (a
// later delivery would overlap the next run) within EventBridge's limits of 1 minute to 24 hours.
const SCHEDULE_RETRY_ATTEMPTS = 3;
const MAX_EVENT_AGE_LIMITS = { min: Duration.minutes(1), max: Duration.hours(24) };
// AWS guidance for SQS event sources: visibility timeout at least six times the function timeout, so
// that a message is not received again while the poller still retries a throttled invocation.
const VISIBILITY_TIMEOUT_PER_FUNCTION_TIMEOUT = 6;

export interface ProvisioStackProps extends StackProps {
  readonly settings: Settings;
}

export class ProvisioStack extends Stack {
  readonly settings: Settings;
  readonly tables: Record<string, dynamodb.Table> = {};
  readonly functions = {} as Record<FunctionName, lambda.Function>;
  readonly stateMachines: Record<string, sfn.StateMachine> = {};
  /** Functions each state machine invokes, from the placeholders of its ASL file. */
  readonly taskFunctions: Record<string, FunctionName[]> = {};
  /** Routes without JWT (names.json routes.public) and the function serving each, keyed by route key. */
  readonly publicRoutes: Record<string, { readonly route: apigw.HttpRoute; readonly function: FunctionName }> = {};
  /** EventBridge schedule rules and the dead-letter queues of their targets, keyed like SCHEDULES. */
  readonly schedules: Record<string, events.Rule> = {};
  readonly scheduleDeadLetterQueues: Record<string, sqs.Queue> = {};
  readonly bus: events.EventBus;
  readonly api: apigw.HttpApi;
  readonly apiStage: apigw.HttpStage;
  readonly hrQueue: sqs.Queue;
  readonly hrDeadLetterQueue: sqs.Queue;
  /** The queues of QUEUES (the HR queue is the only one). */
  readonly queues: Record<QueueKey, sqs.Queue>;
  /** Shared secrets (SECRETS), keyed by names.json environment key. */
  readonly secrets = {} as Record<SecretKey, secretsmanager.Secret>;
  readonly alarmTopic: sns.Topic;

  constructor(scope: Construct, id: string, props: ProvisioStackProps) {
    super(scope, id, props);
    this.settings = props.settings;

    for (const key of TABLE_KEYS) this.tables[key] = this.table(key);

    this.bus = new events.EventBus(this, 'EventBus', { eventBusName: this.physicalName('provisio') });
    this.bus.archive('EventArchive', {
      description: 'Replayable history of Provisio domain events',
      eventPattern: { source: [NAMES.eventSource] },
      retention: Duration.days(30),
    });

    for (const [key, description] of Object.entries(SECRETS)) {
      this.secrets[key as SecretKey] = this.secret(key as SecretKey, description);
    }

    this.hrDeadLetterQueue = new sqs.Queue(this, 'HrEventsDeadLetterQueue', {
      queueName: this.physicalName('provisio-hr-events-dlq.fifo'),
      fifo: true,
      retentionPeriod: Duration.days(14),
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      removalPolicy: this.settings.removalPolicy,
    });
    // FIFO grouped per employee; the webhook sets MessageDeduplicationId = HR eventId, so
    // content-based dedup stays off. Kept the maximum 14 days: an hr-sync outage loses no event.
    const hr = QUEUES.hr;
    this.hrQueue = new sqs.Queue(this, 'HrEventsQueue', {
      queueName: this.physicalName('provisio-hr-events.fifo'),
      fifo: true,
      contentBasedDeduplication: false,
      retentionPeriod: Duration.days(14),
      visibilityTimeout: Duration.seconds(
        VISIBILITY_TIMEOUT_PER_FUNCTION_TIMEOUT * FUNCTIONS[hr.consumer].timeoutSeconds,
      ),
      deadLetterQueue: { queue: this.hrDeadLetterQueue, maxReceiveCount: hr.maxReceiveCount },
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      removalPolicy: this.settings.removalPolicy,
    });
    this.queues = { hr: this.hrQueue };

    // State machine ARNs are built from their names: functions need them in env and the state
    // machines need the function ARNs, so referencing the constructs both ways would be a cycle.
    const stateMachineArns = Object.fromEntries(
      STATE_MACHINE_KEYS.map((key) => [key, this.stateMachineArn(key)]),
    );
    for (const name of FUNCTION_NAMES) {
      this.functions[name] = this.rustFunction(name, stateMachineArns);
      this.grantAccess(name, stateMachineArns);
    }
    for (const [key, spec] of Object.entries(QUEUES)) {
      // Partial batch responses: only the failed messages of a batch are received again.
      this.functions[spec.consumer].addEventSource(
        new SqsEventSource(this.queues[key as QueueKey], { batchSize: spec.batchSize, reportBatchItemFailures: true }),
      );
    }

    this.checkEveryAslFileIsDeployed();
    for (const key of STATE_MACHINE_KEYS) this.stateMachines[key] = this.stateMachine(key);

    [this.api, this.apiStage] = this.httpApi();
    for (const [key, spec] of Object.entries(SCHEDULES)) this.schedule(key, spec);

    this.alarmTopic = this.alarms();
    this.outputs();
  }

  /** Physical name with the deployment's prefix (context namePrefix). */
  physicalName(name: string): string {
    return `${this.settings.namePrefix}${name}`;
  }

  private table(key: string): dynamodb.Table {
    const schema = TABLES[key];
    if (!schema) throw new Error(`shared/tables.json has no key schema for table "${key}" of names.json`);
    const table = new dynamodb.Table(this, `${pascal(key)}Table`, {
      tableName: this.physicalName(NAMES.tables[key]),
      partitionKey: attribute(schema.partitionKey),
      sortKey: schema.sortKey && attribute(schema.sortKey),
      timeToLiveAttribute: schema.timeToLive,
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      encryption: dynamodb.TableEncryption.AWS_MANAGED,
      removalPolicy: this.settings.removalPolicy,
      // Retained tables also refuse deletion outside CloudFormation; `destroy` lifts both.
      deletionProtection: this.settings.removalPolicy === RemovalPolicy.RETAIN,
    });
    for (const [indexName, index] of entries(schema.indexes ?? {})) {
      table.addGlobalSecondaryIndex({
        indexName,
        partitionKey: attribute(index.partitionKey),
        sortKey: index.sortKey && attribute(index.sortKey),
        projectionType: dynamodb.ProjectionType.ALL,
      });
    }
    return table;
  }

  /**
   * A generated shared secret. Functions get it as a dynamic reference that CloudFormation resolves at
   * deploy time, so the value is never in the template and the function needs no secretsmanager grant;
   * a replaced value reaches them by a deploy with its version id (Settings.secretVersionIds).
   */
  private secret(key: SecretKey, description: string): secretsmanager.Secret {
    return new secretsmanager.Secret(this, pascal(key), {
      secretName: this.physicalName(`provisio-${kebab(key)}`),
      description: `Provisio: ${description}`,
      // Letters and digits only: it travels in HTTP headers and the HR system's or IdP's settings.
      generateSecretString: { passwordLength: 64, excludePunctuation: true },
      removalPolicy: this.settings.removalPolicy,
    });
  }

  private stateMachineName(key: string): string {
    return this.physicalName(NAMES.stateMachines[key]);
  }

  private stateMachineArn(key: string): string {
    return this.formatArn({
      service: 'states',
      resource: 'stateMachine',
      resourceName: this.stateMachineName(key),
      arnFormat: ArnFormat.COLON_RESOURCE_NAME,
    });
  }

  /** The one Lambda factory: every Provisio binary is built from the workspace by cargo lambda. */
  private rustFunction(name: FunctionName, stateMachineArns: Record<string, string>): lambda.Function {
    const spec = functionSpec(name);
    const id = pascal(name);
    const functionName = this.physicalName(`provisio-${name}`);
    const logGroup = new logs.LogGroup(this, `${id}Logs`, {
      logGroupName: `/aws/lambda/${functionName}`,
      retention: LOG_RETENTION,
      removalPolicy: this.settings.removalPolicy,
    });
    // Own role instead of AWSLambdaBasicExecutionRole: it may write to its own log group only.
    const role = new iam.Role(this, `${id}Role`, {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: `Execution role of the Provisio ${name} function`,
    });
    logGroup.grantWrite(role);

    const fn = new RustFunction(this, `${id}Function`, {
      manifestPath: join(REPO_ROOT, 'Cargo.toml'),
      binaryName: name,
      functionName,
      description: `Provisio ${name}`,
      architecture: lambda.Architecture.ARM_64,
      memorySize: spec.memoryMiB,
      timeout: Duration.seconds(spec.timeoutSeconds),
      tracing: lambda.Tracing.ACTIVE,
      logGroup,
      role,
      environment: this.functionEnvironment(name, stateMachineArns),
    });
    if (fn.runtime.name !== RUST_RUNTIME) {
      throw new Error(`${name}: expected runtime ${RUST_RUNTIME}, cargo-lambda-cdk chose ${fn.runtime.name}`);
    }
    return fn;
  }

  /**
   * Environment a function reads at start-up, keyed by names.json: the store wiring's (shared/lambda)
   * unless it opts out, the URLs of the queues it sends to, and its own `variables`.
   */
  private functionEnvironment(name: FunctionName, stateMachineArns: Record<string, string>): Record<string, string> {
    const spec = functionSpec(name);
    const env = NAMES.environment;
    const variables: Record<string, string> = { RUST_LOG: 'info' };
    if (spec.store ?? true) {
      variables[env.backend] = 'dynamodb';
      variables[env.eventBusName] = this.bus.eventBusName;
      variables[env.connectorTimeoutMs] = String(Math.min(MAX_CONNECTOR_TIMEOUT_MS, (spec.timeoutSeconds * 1000) / 2));
      for (const [key, variable] of entries(env.tables)) {
        const table = this.tables[key];
        if (!table) throw new Error(`names.json environment.tables.${key} has no table in names.json tables`);
        variables[variable] = table.tableName;
      }
      for (const [key, variable] of entries(env.stateMachineArns)) {
        const arn = stateMachineArns[key];
        if (!arn) throw new Error(`names.json environment.stateMachineArns.${key} has no state machine`);
        variables[variable] = arn;
      }
    }
    for (const key of ACCESS[name].send ?? []) {
      const queue = this.queues[key];
      if (!queue) throw new Error(`ACCESS.${name}: unknown queue "${key}" (QUEUES)`);
      variables[variableName(QUEUES[key].urlVariable)] = queue.queueUrl;
    }
    for (const key of spec.variables ?? []) variables[variableName(key)] = this.variableValue(key);
    return variables;
  }

  private variableValue(key: Variable): string {
    if (key === 'moverGraceHours' || key === 'expiryNoticeHours') return String(this.settings.hours[key]);
    // A CloudFormation dynamic reference ({{resolve:secretsmanager:...}}), never the value.
    return SecretValue.secretsManager(this.secrets[key].secretArn, {
      versionId: this.settings.secretVersionIds[key],
    }).unsafeUnwrap();
  }

  /** Applies the ACCESS row of a function through grants. */
  private grantAccess(name: FunctionName, stateMachineArns: Record<string, string>): void {
    const fn = this.functions[name];
    const access = ACCESS[name];
    const usesStore = [access.read, access.readWrite, Object.keys(access.query ?? {}), access.start, access.taskResponse].some(
      (keys) => keys?.length,
    );
    if (!(functionSpec(name).store ?? true) && (usesStore || access.putEvents)) {
      throw new Error(`ACCESS.${name} grants store access, but FUNCTIONS.${name}.store is false (no store environment)`);
    }
    const table = (key: string) => {
      const found = this.tables[key];
      if (!found) throw new Error(`ACCESS.${name}: unknown table "${key}" (names.json tables)`);
      return found;
    };
    const stateMachine = (key: string) => {
      const arn = stateMachineArns[key];
      if (!arn) throw new Error(`ACCESS.${name}: unknown state machine "${key}" (names.json stateMachines)`);
      return arn;
    };
    for (const key of access.read ?? []) table(key).grantReadData(fn);
    for (const key of access.readWrite ?? []) table(key).grantReadWriteData(fn);
    for (const [key, indexes] of Object.entries(access.query ?? {})) {
      const target = table(key);
      if ([...(access.read ?? []), ...(access.readWrite ?? [])].includes(key)) {
        throw new Error(`ACCESS.${name}: "${key}" is read whole already; drop it from query`);
      }
      for (const index of indexes) {
        if (!TABLES[key]?.indexes?.[index]) throw new Error(`ACCESS.${name}: table "${key}" has no index "${index}" (tables.json)`);
      }
      iam.Grant.addToPrincipal({
        grantee: fn,
        actions: ['dynamodb:Query'],
        resourceArns: indexes.map((index) => `${target.tableArn}/index/${index}`),
      });
    }
    if (access.start?.length) {
      iam.Grant.addToPrincipal({
        grantee: fn,
        actions: ['states:StartExecution'],
        resourceArns: access.start.map(stateMachine),
      });
    }
    if (access.taskResponse?.length) {
      // The service authorizes task-token calls against the ARN of the token's state machine (as
      // StateMachine.grantTaskResponse does), although the IAM reference lists no resource type.
      iam.Grant.addToPrincipal({
        grantee: fn,
        actions: ['states:SendTaskSuccess', 'states:SendTaskFailure', 'states:SendTaskHeartbeat'],
        resourceArns: access.taskResponse.map(stateMachine),
      });
    }
    if (access.putEvents) this.bus.grantPutEventsTo(fn);
    for (const key of access.send ?? []) {
      // SendMessage alone (grantSendMessages adds GetQueueAttributes and GetQueueUrl): the URL is in env.
      const queue = this.queues[key];
      iam.Grant.addToPrincipal({ grantee: fn, actions: ['sqs:SendMessage'], resourceArns: [queue.queueArn] });
      queue.encryptionMasterKey?.grant(fn, 'kms:GenerateDataKey', 'kms:Decrypt');
    }
  }

  private checkEveryAslFileIsDeployed(): void {
    const expected = new Set(STATE_MACHINE_KEYS.map((key) => `${key}.asl.json`));
    const orphans = aslFiles().filter((file) => !expected.has(file));
    if (orphans.length) {
      throw new Error(`statemachines/${orphans.join(', ')} not listed in names.json stateMachines`);
    }
  }

  private stateMachine(key: string): sfn.StateMachine {
    const file = aslPath(key);
    const definition = readFileSync(file, 'utf8');
    const tasks = taskFunctionsOf(definition, relative(REPO_ROOT, file));
    this.taskFunctions[key] = tasks;

    const id = pascal(key);
    const name = this.stateMachineName(key);
    const logGroup = new logs.LogGroup(this, `${id}StateMachineLogs`, {
      // The vendedlogs prefix keeps CloudWatch Logs resource policies small.
      logGroupName: `/aws/vendedlogs/states/${name}`,
      retention: LOG_RETENTION,
      removalPolicy: this.settings.removalPolicy,
    });
    const stateMachine = new sfn.StateMachine(this, `${id}StateMachine`, {
      stateMachineName: name,
      stateMachineType: sfn.StateMachineType.STANDARD,
      // Inlined (not fromFile) so the definition is in the template where cfn-lint checks it.
      definitionBody: sfn.DefinitionBody.fromString(definition),
      definitionSubstitutions: Object.fromEntries(
        tasks.map((task) => [arnPlaceholder(task), this.functions[task].functionArn]),
      ),
      // Execution data holds employee attributes (PII): log events, not payloads.
      logs: { destination: logGroup, level: sfn.LogLevel.ALL, includeExecutionData: false },
      tracingEnabled: true,
    });
    // Unqualified ARNs only: the ASL invokes $LATEST, so no "<arn>:*" wildcard as grantInvoke adds.
    stateMachine.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ['lambda:InvokeFunction'],
        resources: [...new Set(tasks)].map((task) => this.functions[task].functionArn),
      }),
    );
    return stateMachine;
  }

  /** A rule on the default bus (schedules cannot use a custom bus) invoking its function. */
  private schedule(key: string, spec: ScheduleSpec): void {
    const id = `${pascal(key)}Schedule`;
    // Standard queue: EventBridge cannot send to a FIFO dead-letter queue.
    const deadLetterQueue = new sqs.Queue(this, `${id}DeadLetterQueue`, {
      queueName: this.physicalName(`provisio-${key}-schedule-dlq`),
      retentionPeriod: Duration.days(14),
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      removalPolicy: this.settings.removalPolicy,
    });
    const period = spec.rate.toSeconds();
    const maxEventAge = Duration.seconds(
      Math.min(Math.max(period, MAX_EVENT_AGE_LIMITS.min.toSeconds()), MAX_EVENT_AGE_LIMITS.max.toSeconds()),
    );
    this.schedules[key] = new events.Rule(this, id, {
      ruleName: this.physicalName(`provisio-${key}`),
      description: `Runs the Provisio ${spec.function} function every ${spec.rate.toHumanString()}`,
      schedule: events.Schedule.rate(spec.rate),
      targets: [
        new targets.LambdaFunction(this.functions[spec.function], {
          event: spec.input && events.RuleTargetInput.fromObject(spec.input),
          retryAttempts: SCHEDULE_RETRY_ATTEMPTS,
          maxEventAge,
          deadLetterQueue,
        }),
      ],
    });
    this.scheduleDeadLetterQueues[key] = deadLetterQueue;
  }

  private httpApi(): [apigw.HttpApi, apigw.HttpStage] {
    const api = new apigw.HttpApi(this, 'HttpApi', {
      apiName: this.physicalName('provisio'),
      description: 'Provisio HTTP API',
      // Own $default stage below: the implicit one cannot take access logging.
      createDefaultStage: false,
    });
    const accessLogs = new logs.LogGroup(this, 'HttpApiAccessLogs', {
      retention: LOG_RETENTION,
      removalPolicy: this.settings.removalPolicy,
    });
    const stage = new apigw.HttpStage(this, 'HttpApiDefaultStage', {
      httpApi: api,
      stageName: '$default',
      autoDeploy: true,
      throttle: API_THROTTLE,
      accessLogSettings: {
        destination: new apigw.LogGroupLogDestination(accessLogs),
        // No claims or bodies: access logs must not carry PII.
        format: AccessLogFormat.custom(
          JSON.stringify({
            requestId: '$context.requestId',
            requestTime: '$context.requestTime',
            routeKey: '$context.routeKey',
            status: '$context.status',
            responseLength: '$context.responseLength',
            latency: '$context.responseLatency',
            integrationError: '$context.integrationErrorMessage',
            authorizerError: '$context.authorizer.error',
          }),
        ),
      },
    });

    const jwt = new HttpJwtAuthorizer('JwtAuthorizer', this.settings.jwtIssuer, {
      jwtAudience: this.settings.jwtAudience,
    });
    const publicKeys = new Set(NAMES.routes.public ?? []);
    const mapped = new Set<string>();
    for (const [routesKey, routeKeys] of entries(NAMES.routes)) {
      if (routesKey === 'public') continue;
      const name = kebab(routesKey);
      if (!(name in FUNCTIONS)) throw new Error(`names.json routes.${routesKey}: no function "${name}"`);
      const integration = new HttpLambdaIntegration(`${pascal(name)}Integration`, this.functions[name as FunctionName]);
      for (const routeKey of routeKeys) {
        const isPublic = publicKeys.has(routeKey);
        const [route] = api.addRoutes({
          ...parseRouteKey(routeKey),
          integration,
          authorizer: isPublic ? new apigw.HttpNoneAuthorizer() : jwt,
        });
        if (isPublic) this.publicRoutes[routeKey] = { route, function: name as FunctionName };
        mapped.add(routeKey);
      }
    }
    const unknownPublic = [...publicKeys].filter((key) => !mapped.has(key));
    if (unknownPublic.length) throw new Error(`names.json routes.public not served by any function: ${unknownPublic}`);
    return [api, stage];
  }

  private alarms(): sns.Topic {
    // CloudWatch cannot publish to a topic encrypted with the AWS-managed SNS key: own key.
    const key = new kms.Key(this, 'AlarmTopicKey', {
      description: 'Encrypts the Provisio alarm topic',
      enableKeyRotation: true,
      removalPolicy: this.settings.removalPolicy,
    });
    const cloudwatchService = new iam.ServicePrincipal('cloudwatch.amazonaws.com');
    const fromThisAccount = { StringEquals: { 'aws:SourceAccount': this.account } };
    key.addToResourcePolicy(
      new iam.PolicyStatement({
        principals: [cloudwatchService],
        actions: ['kms:Decrypt', 'kms:GenerateDataKey*'],
        resources: ['*'], // in a key policy, "*" is this key
        conditions: fromThisAccount,
      }),
    );
    const topic = new sns.Topic(this, 'AlarmTopic', {
      topicName: this.physicalName('provisio-alarms'),
      masterKey: key,
      enforceSSL: true,
    });
    // enforceSSL replaces the default topic policy, so CloudWatch needs an explicit allow.
    topic.addToResourcePolicy(
      new iam.PolicyStatement({
        principals: [cloudwatchService],
        actions: ['sns:Publish'],
        resources: [topic.topicArn],
        conditions: fromThisAccount,
      }),
    );

    const action = new SnsAction(topic);
    const alarm = (id: string, metric: cloudwatch.IMetric, description: string) =>
      new cloudwatch.Alarm(this, id, {
        metric,
        threshold: 0,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: 1,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
        alarmDescription: description,
      }).addAlarmAction(action);
    const period = Duration.minutes(5);

    alarm(
      'HrEventsDeadLetterAlarm',
      this.hrDeadLetterQueue.metricApproximateNumberOfMessagesVisible({ period, statistic: 'Maximum' }),
      'HR events reached the dead-letter queue: an HR change was not applied',
    );
    for (const [key, queue] of Object.entries(this.scheduleDeadLetterQueues)) {
      alarm(
        `${pascal(key)}ScheduleDeadLetterAlarm`,
        queue.metricApproximateNumberOfMessagesVisible({ period, statistic: 'Maximum' }),
        `The ${key} schedule could not invoke ${SCHEDULES[key].function}: a scheduled run was skipped`,
      );
    }
    for (const [key, stateMachine] of Object.entries(this.stateMachines)) {
      alarm(
        `${pascal(key)}ExecutionsFailedAlarm`,
        stateMachine.metricFailed({ period, statistic: 'Sum' }),
        `A ${key} execution failed`,
      );
    }
    for (const name of FUNCTION_NAMES) {
      alarm(
        `${pascal(name)}ErrorsAlarm`,
        this.functions[name].metricErrors({ period, statistic: 'Sum' }),
        `The ${name} function returned errors`,
      );
    }
    return topic;
  }

  private outputs(): void {
    new CfnOutput(this, 'ApiUrl', { value: this.apiStage.url, description: 'HTTP API base URL' });
    new CfnOutput(this, 'EventBusName', { value: this.bus.eventBusName });
    new CfnOutput(this, 'HrQueueUrl', { value: this.hrQueue.queueUrl });
    new CfnOutput(this, 'AlarmTopicArn', { value: this.alarmTopic.topicArn });
    for (const [key, secret] of Object.entries(this.secrets)) {
      new CfnOutput(this, `${pascal(key)}Arn`, {
        value: secret.secretArn,
        description: `Secrets Manager secret ${NAMES.environment[key as SecretKey]}: ${SECRETS[key as SecretKey]}`,
      });
    }
    for (const [key, stateMachine] of Object.entries(this.stateMachines)) {
      new CfnOutput(this, `${pascal(key)}StateMachineArn`, { value: stateMachine.stateMachineArn });
    }
    for (const [key, table] of Object.entries(this.tables)) {
      new CfnOutput(this, `${pascal(key)}TableName`, { value: table.tableName });
    }
  }
}

/** The variable a names.json `environment` key names ("hrQueueUrl" -> "PROVISIO_HR_QUEUE_URL"). */
function variableName(key: VariableKey): string {
  const variable = NAMES.environment[key];
  if (typeof variable !== 'string') throw new Error(`names.json environment.${key} is missing`);
  return variable;
}

function attribute(key: KeyAttribute): dynamodb.Attribute {
  const types: Record<string, dynamodb.AttributeType> = {
    S: dynamodb.AttributeType.STRING,
    N: dynamodb.AttributeType.NUMBER,
    B: dynamodb.AttributeType.BINARY,
  };
  const type = types[key.type];
  if (!type) throw new Error(`tables.json: attribute ${key.name} has unknown type ${key.type}`);
  return { name: key.name, type };
}

/** "POST /requests/{id}/cancel" -> { methods: [POST], path: "/requests/{id}/cancel" } */
export function parseRouteKey(routeKey: string): { methods: apigw.HttpMethod[]; path: string } {
  const match = /^([A-Z]+) (\/\S*)$/.exec(routeKey);
  const method = match && apigw.HttpMethod[match[1] as keyof typeof apigw.HttpMethod];
  if (!match || !method) throw new Error(`names.json routes: "${routeKey}" is not "<METHOD> /path"`);
  return { methods: [method], path: match[2] };
}
