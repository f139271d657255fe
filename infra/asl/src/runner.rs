//! Interprets the states of one execution.

use std::future::Future;
use std::pin::Pin;

use chrono::{DateTime, SecondsFormat, TimeDelta, Utc};
use futures_util::StreamExt;
use futures_util::stream::FuturesUnordered;
use rand::Rng;
use serde_json::{Value, json};

use crate::TaskFailure;
use crate::definition::{
    ChoiceState, Definition, FailState, Jitter, MapState, ParallelState, PassState, Resource,
    ResultHandling, Retrier, State, StateKind, StateMachine, TaskState, WaitState,
};
use crate::engine::{Completion, Engine, Execution};
use crate::errors::{HEARTBEAT_TIMEOUT, NO_CHOICE_MATCHED, TIMEOUT};
use crate::paths::{Expr, Path, Scope, Template, literal_or_path, require_u64};

/// Region and account of the ARNs exposed in the context object.
const ARN_PREFIX: &str = "arn:aws:states:us-east-1:000000000000";

/// Step Functions' upper bound for retry delays (MaxDelaySeconds), which also keeps date
/// arithmetic far from overflow.
const MAX_RETRY_DELAY_SECONDS: f64 = 31_622_400.0;

type Outcome<'a> = Pin<Box<dyn Future<Output = Result<Value, TaskFailure>> + Send + 'a>>;

/// Where a state goes after it ran: the output and the next state (`None` ends the machine).
struct Step<'a> {
    output: Value,
    next: Option<&'a str>,
}

/// The parts of the context object that change while a state runs.
#[derive(Clone, Copy)]
struct StateContext<'a> {
    name: &'a str,
    entered: DateTime<Utc>,
    retry_count: u32,
    token: Option<&'a str>,
    item: Option<(usize, &'a Value)>,
}

pub(crate) struct Runner<'a> {
    engine: &'a Engine,
    execution: &'a Execution,
    /// `$$.Execution` and `$$.StateMachine`, fixed for the whole execution.
    context: Value,
}

impl<'a> Runner<'a> {
    pub fn new(engine: &'a Engine, execution: &'a Execution) -> Self {
        let description = execution.describe();
        let machine = &description.state_machine;
        let context = json!({
            "Execution": {
                "Id": format!("{ARN_PREFIX}:execution:{machine}:{}", description.name),
                "Name": description.name,
                "Input": description.input,
                "StartTime": timestamp(description.start_date),
            },
            "StateMachine": {
                "Id": format!("{ARN_PREFIX}:stateMachine:{machine}"),
                "Name": machine,
            },
        });
        Runner {
            engine,
            execution,
            context,
        }
    }

    pub async fn run(&self, definition: &Definition) -> Completion {
        let input = self.context["Execution"]["Input"].clone();
        let work = self.run_machine(&definition.machine, input);
        let Some(seconds) = definition.timeout_seconds else {
            return completion(work.await);
        };
        let deadline = match after(self.execution.describe().start_date, seconds) {
            Ok(deadline) => deadline,
            Err(failure) => return Completion::Failed(failure),
        };
        tokio::select! {
            result = work => completion(result),
            () = self.engine.clock.sleep_until(deadline) => Completion::TimedOut(TaskFailure::new(
                TIMEOUT,
                format!("The execution did not finish within {seconds} seconds"),
            )),
        }
    }

    fn now(&self) -> DateTime<Utc> {
        self.engine.clock.now()
    }

    fn record(&self, r#type: &str, state: Option<&str>, details: Value) {
        self.execution
            .push_event(self.now(), r#type, state, details);
    }

    fn context(&self, state: &StateContext<'_>) -> Value {
        let mut context = self.context.clone();
        context["State"] = json!({
            "Name": state.name,
            "EnteredTime": timestamp(state.entered),
            "RetryCount": state.retry_count,
        });
        if let Some(token) = state.token {
            context["Task"] = json!({ "Token": token });
        }
        if let Some((index, value)) = state.item {
            context["Map"] = json!({ "Item": { "Index": index, "Value": value } });
        }
        context
    }

    /// Runs a state graph from StartAt to its end. Boxed because Parallel and Map recurse.
    fn run_machine(&'a self, machine: &'a StateMachine, input: Value) -> Outcome<'a> {
        Box::pin(async move {
            let mut name = machine.start_at.as_str();
            let mut input = input;
            loop {
                let state = machine.states.get(name).ok_or_else(|| {
                    TaskFailure::runtime(format!("state '{name}' does not exist"))
                })?;
                let type_name = state.kind.type_name();
                self.record(
                    &format!("{type_name}StateEntered"),
                    Some(name),
                    json!({ "input": input }),
                );
                let step = self.run_state(name, state, input).await?;
                self.record(
                    &format!("{type_name}StateExited"),
                    Some(name),
                    json!({ "output": step.output }),
                );
                match step.next {
                    Some(next) => (name, input) = (next, step.output),
                    None => return Ok(step.output),
                }
            }
        })
    }

    async fn run_state(
        &self,
        name: &'a str,
        state: &'a State,
        input: Value,
    ) -> Result<Step<'a>, TaskFailure> {
        let context = StateContext {
            name,
            entered: self.now(),
            retry_count: 0,
            token: None,
            item: None,
        };
        let context_value = self.context(&context);
        let effective = Path::filter(
            state.input_path.as_ref(),
            Scope {
                input: &input,
                context: &context_value,
            },
            "InputPath",
        );
        let next = state.next.as_deref();
        let step = |output: Value, next: Option<&'a str>| {
            Ok(Step {
                output: self.output(state, output, &context_value)?,
                next,
            })
        };
        match &state.kind {
            // Fail has no InputPath: its paths see the raw input.
            StateKind::Fail(fail) => Err(self.fail(fail, &input, &context_value)?),
            StateKind::Pass(pass) => {
                let result = self.pass(pass, effective?, &context_value)?;
                step(insert(pass.result_path.as_ref(), input, result)?, next)
            }
            StateKind::Choice(choice) => {
                let effective = effective?;
                let next = self.choose(choice, &effective, &context_value)?;
                step(effective, Some(next))
            }
            StateKind::Wait(wait) => {
                let effective = effective?;
                self.wait(wait, &effective, &context_value, context.entered)
                    .await?;
                step(effective, next)
            }
            StateKind::Succeed {} => step(effective?, None),
            StateKind::Task(task) => {
                let work = Work::Task(task);
                self.work(state, work, &task.handling, input, &effective?, context)
                    .await
            }
            StateKind::Parallel(parallel) => {
                let work = Work::Parallel(parallel);
                self.work(state, work, &parallel.handling, input, &effective?, context)
                    .await
            }
            StateKind::Map(map) => {
                let work = Work::Map(map);
                self.work(state, work, &map.handling, input, &effective?, context)
                    .await
            }
        }
    }

    /// Applies OutputPath.
    fn output(&self, state: &State, value: Value, context: &Value) -> Result<Value, TaskFailure> {
        let scope = Scope {
            input: &value,
            context,
        };
        Path::filter(state.output_path.as_ref(), scope, "OutputPath")
    }

    /// Task, Parallel and Map: the work with Retry and Catch, then ResultSelector, ResultPath
    /// and OutputPath.
    async fn work(
        &self,
        state: &'a State,
        work: Work<'a>,
        handling: &'a ResultHandling,
        input: Value,
        effective: &Value,
        context: StateContext<'a>,
    ) -> Result<Step<'a>, TaskFailure> {
        let result = match self.with_retries(work, handling, effective, context).await {
            Ok(result) => result,
            Err(failure) => return self.catch(handling, input, failure),
        };
        let context_value = self.context(&context);
        let result = match &handling.result_selector {
            Some(selector) => selector.evaluate(Scope {
                input: &result,
                context: &context_value,
            })?,
            None => result,
        };
        let output = insert(handling.result_path.as_ref(), input, result)?;
        Ok(Step {
            output: self.output(state, output, &context_value)?,
            next: state.next.as_deref(),
        })
    }

    fn pass(
        &self,
        pass: &PassState,
        effective: Value,
        context: &Value,
    ) -> Result<Value, TaskFailure> {
        match (&pass.result, &pass.parameters) {
            (Some(result), _) => Ok(result.clone()),
            (None, Some(parameters)) => parameters.evaluate(Scope {
                input: &effective,
                context,
            }),
            (None, None) => Ok(effective),
        }
    }

    fn choose(
        &self,
        choice: &'a ChoiceState,
        input: &Value,
        context: &Value,
    ) -> Result<&'a str, TaskFailure> {
        let scope = Scope { input, context };
        for rule in &choice.choices {
            if rule.condition.evaluate(scope)? {
                return Ok(&rule.next);
            }
        }
        choice.default.as_deref().ok_or_else(|| {
            TaskFailure::new(
                NO_CHOICE_MATCHED,
                "No Choice rule matched and there is no Default",
            )
        })
    }

    async fn wait(
        &self,
        wait: &WaitState,
        input: &Value,
        context: &Value,
        entered: DateTime<Utc>,
    ) -> Result<(), TaskFailure> {
        let scope = Scope { input, context };
        let deadline = match wait {
            WaitState::Seconds(seconds) => after(entered, *seconds)?,
            WaitState::SecondsPath(path) => {
                after(entered, require_u64(path, scope, "SecondsPath")?)?
            }
            WaitState::Timestamp(deadline) => *deadline,
            WaitState::TimestampPath(path) => {
                let value = path.require(scope, "TimestampPath")?;
                value
                    .as_str()
                    .and_then(|text| DateTime::parse_from_rfc3339(text).ok())
                    .map(|deadline| deadline.with_timezone(&Utc))
                    .ok_or_else(|| {
                        TaskFailure::runtime(format!(
                            "TimestampPath '{}' selected {value}, which is not an ISO 8601 timestamp",
                            path.as_str()
                        ))
                    })?
            }
        };
        self.engine.clock.sleep_until(deadline).await;
        Ok(())
    }

    /// The failure a Fail state raises (or the runtime error evaluating its paths).
    fn fail(
        &self,
        fail: &FailState,
        input: &Value,
        context: &Value,
    ) -> Result<TaskFailure, TaskFailure> {
        let scope = Scope { input, context };
        let text =
            |literal: &Option<String>, path: &Option<Expr>, field: &str| match (literal, path) {
                (Some(literal), _) => Ok(literal.clone()),
                (None, Some(path)) => match path.evaluate(scope, field)? {
                    Value::String(text) => Ok(text),
                    other => Err(TaskFailure::runtime(format!(
                        "{field} must select a string, got {other}"
                    ))),
                },
                (None, None) => Ok(String::new()),
            };
        Ok(TaskFailure::new(
            text(&fail.error, &fail.error_path, "ErrorPath")?,
            text(&fail.cause, &fail.cause_path, "CausePath")?,
        ))
    }

    fn catch(
        &self,
        handling: &'a ResultHandling,
        input: Value,
        failure: TaskFailure,
    ) -> Result<Step<'a>, TaskFailure> {
        let Some(catcher) = handling
            .catch
            .iter()
            .find(|catcher| catcher.error_equals.matches(&failure.error))
        else {
            return Err(failure);
        };
        let error_output = json!({ "Error": failure.error, "Cause": failure.cause });
        // Like Step Functions, a caught error skips OutputPath.
        Ok(Step {
            output: insert(catcher.result_path.as_ref(), input, error_output)?,
            next: Some(&catcher.next),
        })
    }

    async fn with_retries(
        &self,
        work: Work<'a>,
        handling: &ResultHandling,
        input: &Value,
        mut context: StateContext<'a>,
    ) -> Result<Value, TaskFailure> {
        // Attempts are counted per retrier and per state entry.
        let mut attempts = vec![0u32; handling.retry.len()];
        loop {
            let failure = match self.attempt(work, input, context).await {
                Ok(result) => return Ok(result),
                Err(failure) => failure,
            };
            let Some((index, retrier)) = handling
                .retry
                .iter()
                .enumerate()
                .find(|(_, retrier)| retrier.error_equals.matches(&failure.error))
            else {
                return Err(failure);
            };
            if attempts[index] >= retrier.max_attempts {
                return Err(failure);
            }
            let delay = retry_delay(retrier, attempts[index]);
            attempts[index] += 1;
            context.retry_count += 1;
            let deadline = self.now() + delay;
            self.engine.clock.sleep_until(deadline).await;
        }
    }

    async fn attempt(
        &self,
        work: Work<'a>,
        input: &Value,
        context: StateContext<'a>,
    ) -> Result<Value, TaskFailure> {
        match work {
            Work::Task(task) => self.task(task, input, context).await,
            Work::Parallel(parallel) => self.parallel(parallel, input, context).await,
            Work::Map(map) => self.map(map, input, context).await,
        }
    }

    fn parameters(
        &self,
        parameters: Option<&Template>,
        input: &Value,
        context: &StateContext<'_>,
    ) -> Result<Value, TaskFailure> {
        match parameters {
            Some(template) => template.evaluate(Scope {
                input,
                context: &self.context(context),
            }),
            None => Ok(input.clone()),
        }
    }

    async fn task(
        &self,
        task: &TaskState,
        input: &Value,
        context: StateContext<'_>,
    ) -> Result<Value, TaskFailure> {
        let name = context.name;
        let result = self.invoke_task(task, input, context).await;
        match &result {
            Ok(output) => self.record("TaskSucceeded", Some(name), json!({ "output": output })),
            Err(failure) => {
                let r#type = if failure.is_timeout() {
                    "TaskTimedOut"
                } else {
                    "TaskFailed"
                };
                let details = json!({ "error": failure.error, "cause": failure.cause });
                self.record(r#type, Some(name), details);
            }
        }
        result
    }

    async fn invoke_task(
        &self,
        task: &TaskState,
        input: &Value,
        context: StateContext<'_>,
    ) -> Result<Value, TaskFailure> {
        let scope_context = self.context(&context);
        let scope = Scope {
            input,
            context: &scope_context,
        };
        let started = self.now();
        let timeout = literal_or_path(
            task.timeout_seconds,
            task.timeout_seconds_path.as_ref(),
            scope,
            "TimeoutSecondsPath",
        )?;
        let heartbeat = literal_or_path(
            task.heartbeat_seconds,
            task.heartbeat_seconds_path.as_ref(),
            scope,
            "HeartbeatSecondsPath",
        )?;
        let limits = Limits {
            timeout: timeout.map(|s| after(started, s)).transpose()?,
            heartbeat: heartbeat.map(seconds).transpose()?,
        };

        let mut callback = matches!(task.resource, Resource::LambdaCallback)
            .then(|| self.engine.register_token(&self.execution.name));
        let token = callback.as_ref().map(|callback| callback.token.clone());
        let context = StateContext {
            token: token.as_deref(),
            ..context
        };
        let parameters = self.parameters(task.parameters.as_ref(), input, &context)?;
        let (function, payload) = match &task.resource {
            Resource::Unsupported(arn) => {
                return Err(TaskFailure::runtime(format!(
                    "The resource '{arn}' is not supported locally; use lambda:invoke, \
                     lambda:invoke.waitForTaskToken or a Lambda function ARN"
                )));
            }
            Resource::Function(arn) => (arn.clone(), parameters),
            Resource::LambdaInvoke | Resource::LambdaCallback => lambda_request(parameters)?,
        };
        self.record(
            "TaskScheduled",
            Some(context.name),
            json!({ "resource": function, "parameters": payload }),
        );
        let invocation = self.engine.invoker.invoke(&function, payload);
        match callback.as_mut() {
            None => {
                let output = self.limited(invocation, limits, || started).await?;
                Ok(match task.resource {
                    // The optimized integration wraps the function output like Lambda's API.
                    Resource::LambdaInvoke => json!({
                        "ExecutedVersion": "$LATEST",
                        "Payload": output,
                        "StatusCode": 200,
                    }),
                    _ => output,
                })
            }
            Some(callback) => {
                let reply = &mut callback.reply;
                let beats = callback.heartbeat.clone();
                let waiting = async {
                    // The function's own return value is not the task result.
                    invocation.await?;
                    self.record(
                        "TaskSubmitted",
                        Some(context.name),
                        json!({ "resource": function }),
                    );
                    reply
                        .await
                        .unwrap_or_else(|_| Err(TaskFailure::runtime("the task token was revoked")))
                };
                let result = self.limited(waiting, limits, || *beats.borrow()).await;
                if result.as_ref().is_err_and(TaskFailure::is_timeout) {
                    callback.expire();
                }
                result
            }
        }
    }

    /// Runs `work` under TimeoutSeconds and HeartbeatSeconds; `last_beat` is when the
    /// heartbeat timer last restarted.
    async fn limited(
        &self,
        work: impl Future<Output = Result<Value, TaskFailure>>,
        limits: Limits,
        last_beat: impl Fn() -> DateTime<Utc>,
    ) -> Result<Value, TaskFailure> {
        let mut work = std::pin::pin!(work);
        loop {
            let beat_deadline = limits.heartbeat.map(|interval| last_beat() + interval);
            tokio::select! {
                result = &mut work => return result,
                () = self.sleep(limits.timeout) => {
                    return Err(TaskFailure::new(TIMEOUT, "The task did not finish within TimeoutSeconds"));
                }
                () = self.sleep(beat_deadline) => {
                    // A heartbeat may have moved the deadline while we slept.
                    let expired = limits.heartbeat.is_some_and(|interval| self.now() >= last_beat() + interval);
                    if expired {
                        return Err(TaskFailure::new(
                            HEARTBEAT_TIMEOUT,
                            "No heartbeat within HeartbeatSeconds",
                        ));
                    }
                }
            }
        }
    }

    async fn sleep(&self, deadline: Option<DateTime<Utc>>) {
        match deadline {
            Some(deadline) => self.engine.clock.sleep_until(deadline).await,
            None => std::future::pending().await,
        }
    }

    async fn parallel(
        &self,
        parallel: &'a ParallelState,
        input: &Value,
        context: StateContext<'_>,
    ) -> Result<Value, TaskFailure> {
        let input = self.parameters(parallel.parameters.as_ref(), input, &context)?;
        let branches = parallel
            .branches
            .iter()
            .map(|branch| self.run_machine(branch, input.clone()));
        run_all(branches, None).await
    }

    async fn map(
        &self,
        map: &'a MapState,
        input: &Value,
        context: StateContext<'_>,
    ) -> Result<Value, TaskFailure> {
        let context_value = self.context(&context);
        let scope = Scope {
            input,
            context: &context_value,
        };
        let items = match map.items_path.require(scope, "ItemsPath")? {
            Value::Array(items) => items,
            other => {
                return Err(TaskFailure::runtime(format!(
                    "ItemsPath '{}' must select an array, got {other}",
                    map.items_path.as_str()
                )));
            }
        };
        let limit = literal_or_path(
            map.max_concurrency,
            map.max_concurrency_path.as_ref(),
            scope,
            "MaxConcurrencyPath",
        )?;
        // 0 (or nothing) means unlimited.
        let limit = limit
            .and_then(|limit| usize::try_from(limit).ok())
            .filter(|limit| *limit > 0);
        let iterations = items.iter().enumerate().map(|(index, item)| {
            let item_context = StateContext {
                item: Some((index, item)),
                ..context
            };
            async move {
                let iteration_input = match &map.item_selector {
                    Some(selector) => selector.evaluate(Scope {
                        input,
                        context: &self.context(&item_context),
                    })?,
                    None => item.clone(),
                };
                self.record(
                    "MapIterationStarted",
                    Some(context.name),
                    json!({ "index": index }),
                );
                let result = self.run_machine(&map.item_processor, iteration_input).await;
                let (r#type, details) = match &result {
                    Ok(output) => (
                        "MapIterationSucceeded",
                        json!({ "index": index, "output": output }),
                    ),
                    Err(failure) => (
                        "MapIterationFailed",
                        json!({ "index": index, "error": failure.error, "cause": failure.cause }),
                    ),
                };
                self.record(r#type, Some(context.name), details);
                result
            }
        });
        run_all(iterations, limit).await
    }
}

/// The states that do work, and so have Retry, Catch and result processing.
#[derive(Clone, Copy)]
enum Work<'a> {
    Task(&'a TaskState),
    Parallel(&'a ParallelState),
    Map(&'a MapState),
}

#[derive(Clone, Copy)]
struct Limits {
    timeout: Option<DateTime<Utc>>,
    heartbeat: Option<TimeDelta>,
}

/// Runs `jobs` concurrently, at most `limit` at a time and started in order, collecting their
/// results in order. The first failure wins and drops the jobs still running.
async fn run_all<F>(
    jobs: impl Iterator<Item = F>,
    limit: Option<usize>,
) -> Result<Value, TaskFailure>
where
    F: Future<Output = Result<Value, TaskFailure>>,
{
    let mut jobs = jobs.enumerate();
    let mut running = FuturesUnordered::new();
    let mut results = Vec::new();
    loop {
        while limit.is_none_or(|limit| running.len() < limit) {
            let Some((index, job)) = jobs.next() else {
                break;
            };
            results.push(Value::Null);
            running.push(async move { (index, job.await) });
        }
        match running.next().await {
            None => return Ok(Value::Array(results)),
            Some((index, Ok(output))) => results[index] = output,
            Some((_, Err(failure))) => return Err(failure),
        }
    }
}

fn completion(result: Result<Value, TaskFailure>) -> Completion {
    match result {
        Ok(output) => Completion::Succeeded(output),
        Err(failure) => Completion::Failed(failure),
    }
}

/// ResultPath semantics: `None` (JSON null) discards the result and keeps the input.
fn insert(
    path: Option<&crate::paths::ReferencePath>,
    input: Value,
    result: Value,
) -> Result<Value, TaskFailure> {
    match path {
        Some(path) => path.insert(input, result),
        None => Ok(input),
    }
}

/// Splits lambda:invoke Parameters into the function name and the payload.
fn lambda_request(parameters: Value) -> Result<(String, Value), TaskFailure> {
    let Value::Object(mut fields) = parameters else {
        return Err(TaskFailure::runtime(
            "lambda:invoke Parameters must be an object",
        ));
    };
    let Some(Value::String(function)) = fields.remove("FunctionName") else {
        return Err(TaskFailure::runtime(
            "lambda:invoke Parameters.FunctionName must be a string",
        ));
    };
    let payload = fields.remove("Payload").unwrap_or(Value::Null);
    Ok((function, payload))
}

fn retry_delay(retrier: &Retrier, attempt: u32) -> TimeDelta {
    let exponent = i32::try_from(attempt).unwrap_or(i32::MAX);
    let mut seconds = retrier.interval_seconds as f64 * retrier.backoff_rate.powi(exponent);
    if let Some(max) = retrier.max_delay_seconds {
        seconds = seconds.min(max as f64);
    }
    seconds = seconds.min(MAX_RETRY_DELAY_SECONDS);
    if retrier.jitter_strategy == Jitter::Full {
        seconds = rand::rng().random_range(0.0..=seconds);
    }
    TimeDelta::milliseconds((seconds * 1000.0).round() as i64)
}

/// Seconds from the definition or input, failing instead of overflowing on absurd values.
fn seconds(seconds: u64) -> Result<TimeDelta, TaskFailure> {
    i64::try_from(seconds)
        .ok()
        .and_then(TimeDelta::try_seconds)
        .ok_or_else(|| TaskFailure::runtime(format!("{seconds} seconds is out of range")))
}

fn after(start: DateTime<Utc>, delay: u64) -> Result<DateTime<Utc>, TaskFailure> {
    start
        .checked_add_signed(seconds(delay)?)
        .ok_or_else(|| TaskFailure::runtime(format!("{delay} seconds is out of range")))
}

fn timestamp(time: DateTime<Utc>) -> String {
    time.to_rfc3339_opts(SecondsFormat::Millis, true)
}
