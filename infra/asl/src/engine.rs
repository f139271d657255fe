//! The execution registry: starting, stopping and describing executions, and task tokens.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use tokio::sync::{oneshot, watch};

use crate::definition::Definition;
use crate::history::{ExecutionDescription, ExecutionStatus, HistoryEvent, Record};
use crate::runner::Runner;
use crate::{AslError, Clock, TaskFailure, TaskInvoker};

/// Runs state machine executions. Shared behind an `Arc`.
pub struct Engine {
    pub(crate) invoker: Arc<dyn TaskInvoker>,
    pub(crate) clock: Arc<dyn Clock>,
    executions: Mutex<HashMap<String, Arc<Execution>>>,
    tokens: Mutex<HashMap<String, Token>>,
}

/// One execution; its record is the single source of truth for status and history.
pub(crate) struct Execution {
    pub name: String,
    record: Mutex<Record>,
    /// Mirrors the record's status so waiters and the running task notice when it changes.
    status: watch::Sender<ExecutionStatus>,
}

/// How an execution ended.
pub(crate) enum Completion {
    Succeeded(Value),
    Failed(TaskFailure),
    TimedOut(TaskFailure),
    Aborted(TaskFailure),
}

enum Token {
    Pending {
        execution: String,
        reply: oneshot::Sender<Result<Value, TaskFailure>>,
        heartbeat: watch::Sender<DateTime<Utc>>,
    },
    /// Kept so a late SendTaskSuccess gets TaskTimedOut rather than TaskDoesNotExist.
    TimedOut,
}

/// A registered waitForTaskToken token; unregistered when dropped, so a finished, failed or
/// stopped task never accepts callbacks.
pub(crate) struct CallbackToken<'a> {
    engine: &'a Engine,
    pub token: String,
    pub reply: oneshot::Receiver<Result<Value, TaskFailure>>,
    pub heartbeat: watch::Receiver<DateTime<Utc>>,
}

impl CallbackToken<'_> {
    pub fn expire(&self) {
        lock(&self.engine.tokens).insert(self.token.clone(), Token::TimedOut);
    }
}

impl Drop for CallbackToken<'_> {
    fn drop(&mut self) {
        let mut tokens = lock(&self.engine.tokens);
        if matches!(tokens.get(&self.token), Some(Token::Pending { .. })) {
            tokens.remove(&self.token);
        }
    }
}

/// A panic elsewhere must not take the engine down with it, so poisoned locks are used as-is.
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

enum Registration {
    New(Arc<Execution>),
    Existing(Arc<Execution>),
}

impl Engine {
    pub fn new(invoker: Arc<dyn TaskInvoker>, clock: Arc<dyn Clock>) -> Arc<Engine> {
        Arc::new(Engine {
            invoker,
            clock,
            executions: Mutex::default(),
            tokens: Mutex::default(),
        })
    }

    /// Starts an execution as a background tokio task. Execution names are unique: the same
    /// name with the same state machine and input returns the existing execution, anything
    /// else is [`AslError::ExecutionAlreadyExists`].
    pub fn start_execution(
        self: &Arc<Self>,
        state_machine: &str,
        definition: Arc<Definition>,
        name: &str,
        input: Value,
    ) -> Result<ExecutionDescription, AslError> {
        let execution = match self.register(state_machine, name, input)? {
            Registration::Existing(execution) => return Ok(execution.describe()),
            Registration::New(execution) => execution,
        };
        let description = execution.describe();
        tokio::spawn(Arc::clone(self).drive(execution, definition));
        Ok(description)
    }

    /// Runs an execution to completion in the current task and returns its final description.
    pub async fn run(
        self: &Arc<Self>,
        state_machine: &str,
        definition: Arc<Definition>,
        name: &str,
        input: Value,
    ) -> Result<ExecutionDescription, AslError> {
        let execution = match self.register(state_machine, name, input)? {
            Registration::Existing(execution) => execution,
            Registration::New(execution) => {
                Arc::clone(self)
                    .drive(Arc::clone(&execution), definition)
                    .await;
                execution
            }
        };
        Ok(execution.wait().await)
    }

    fn register(
        &self,
        state_machine: &str,
        name: &str,
        input: Value,
    ) -> Result<Registration, AslError> {
        let mut executions = lock(&self.executions);
        if let Some(existing) = executions.get(name) {
            let same = {
                let record = lock(&existing.record);
                record.description.state_machine == state_machine
                    && record.description.input == input
            };
            return if same {
                Ok(Registration::Existing(Arc::clone(existing)))
            } else {
                Err(AslError::ExecutionAlreadyExists(name.to_owned()))
            };
        }
        let now = self.clock.now();
        let mut record = Record {
            description: ExecutionDescription {
                name: name.to_owned(),
                state_machine: state_machine.to_owned(),
                status: ExecutionStatus::Running,
                input: input.clone(),
                output: None,
                error: None,
                cause: None,
                start_date: now,
                stop_date: None,
            },
            events: Vec::new(),
        };
        record.push(now, "ExecutionStarted", None, json!({ "input": input }));
        let execution = Arc::new(Execution {
            name: name.to_owned(),
            record: Mutex::new(record),
            status: watch::Sender::new(ExecutionStatus::Running),
        });
        executions.insert(name.to_owned(), Arc::clone(&execution));
        Ok(Registration::New(execution))
    }

    async fn drive(self: Arc<Self>, execution: Arc<Execution>, definition: Arc<Definition>) {
        let mut status = execution.status.subscribe();
        let runner = Runner::new(&self, &execution);
        let completion = tokio::select! {
            completion = runner.run(&definition) => completion,
            // Stopped: dropping the run future cancels in-flight tasks and waits.
            _ = status.wait_for(|status| *status != ExecutionStatus::Running) => return,
        };
        execution.finish(self.clock.now(), completion);
    }

    fn resolve(
        &self,
        task_token: &str,
        result: Result<Value, TaskFailure>,
    ) -> Result<(), AslError> {
        let mut tokens = lock(&self.tokens);
        match tokens.remove(task_token) {
            // The receiver is gone when the waiting task was cancelled a moment ago.
            Some(Token::Pending { reply, .. }) => {
                reply.send(result).map_err(|_| AslError::TaskDoesNotExist)
            }
            Some(Token::TimedOut) => {
                tokens.insert(task_token.to_owned(), Token::TimedOut);
                Err(AslError::TaskTimedOut)
            }
            None => Err(AslError::TaskDoesNotExist),
        }
    }

    pub fn send_task_success(&self, task_token: &str, output: Value) -> Result<(), AslError> {
        self.resolve(task_token, Ok(output))
    }

    pub fn send_task_failure(
        &self,
        task_token: &str,
        error: &str,
        cause: &str,
    ) -> Result<(), AslError> {
        self.resolve(task_token, Err(TaskFailure::new(error, cause)))
    }

    pub fn send_task_heartbeat(&self, task_token: &str) -> Result<(), AslError> {
        match lock(&self.tokens).get(task_token) {
            Some(Token::Pending { heartbeat, .. }) => {
                heartbeat.send_replace(self.clock.now());
                Ok(())
            }
            Some(Token::TimedOut) => Err(AslError::TaskTimedOut),
            None => Err(AslError::TaskDoesNotExist),
        }
    }

    /// Aborts a running execution; its pending task tokens become invalid at once.
    /// Stopping an execution that already ended changes nothing.
    pub fn stop_execution(&self, name: &str, error: &str, cause: &str) -> Result<(), AslError> {
        let execution = self
            .execution(name)
            .ok_or_else(|| AslError::ExecutionDoesNotExist(name.to_owned()))?;
        let failure = TaskFailure::new(error, cause);
        if execution.finish(self.clock.now(), Completion::Aborted(failure)) {
            lock(&self.tokens).retain(
                |_, token| !matches!(token, Token::Pending { execution, .. } if execution == name),
            );
        }
        Ok(())
    }

    pub fn describe_execution(&self, name: &str) -> Option<ExecutionDescription> {
        self.execution(name).map(|execution| execution.describe())
    }

    pub fn history(&self, name: &str) -> Option<Vec<HistoryEvent>> {
        self.execution(name)
            .map(|execution| lock(&execution.record).events.clone())
    }

    /// Waits until the named execution is no longer running.
    pub async fn wait_for(&self, name: &str) -> Option<ExecutionDescription> {
        Some(self.execution(name)?.wait().await)
    }

    fn execution(&self, name: &str) -> Option<Arc<Execution>> {
        lock(&self.executions).get(name).cloned()
    }

    pub(crate) fn register_token(&self, execution: &str) -> CallbackToken<'_> {
        let token = uuid::Uuid::new_v4().simple().to_string();
        let (reply_tx, reply) = oneshot::channel();
        let (beat_tx, heartbeat) = watch::channel(self.clock.now());
        lock(&self.tokens).insert(
            token.clone(),
            Token::Pending {
                execution: execution.to_owned(),
                reply: reply_tx,
                heartbeat: beat_tx,
            },
        );
        CallbackToken {
            engine: self,
            token,
            reply,
            heartbeat,
        }
    }
}

impl Execution {
    pub fn describe(&self) -> ExecutionDescription {
        lock(&self.record).description.clone()
    }

    pub fn push_event(
        &self,
        now: DateTime<Utc>,
        r#type: &str,
        state: Option<&str>,
        details: Value,
    ) {
        lock(&self.record).push(now, r#type, state, details);
    }

    /// Ends the execution unless it already ended; returns whether this call ended it.
    fn finish(&self, now: DateTime<Utc>, completion: Completion) -> bool {
        let status = {
            let mut record = lock(&self.record);
            if record.description.status != ExecutionStatus::Running {
                return false;
            }
            let (status, event, details) = match completion {
                Completion::Succeeded(output) => {
                    record.description.output = Some(output.clone());
                    let details = json!({ "output": output });
                    (ExecutionStatus::Succeeded, "ExecutionSucceeded", details)
                }
                Completion::Failed(failure) => {
                    let details = record.description.fail(failure);
                    (ExecutionStatus::Failed, "ExecutionFailed", details)
                }
                Completion::TimedOut(failure) => {
                    let details = record.description.fail(failure);
                    (ExecutionStatus::TimedOut, "ExecutionTimedOut", details)
                }
                Completion::Aborted(failure) => {
                    let details = record.description.fail(failure);
                    (ExecutionStatus::Aborted, "ExecutionAborted", details)
                }
            };
            record.description.status = status;
            record.description.stop_date = Some(now);
            record.push(now, event, None, details);
            status
        };
        tracing::info!(execution = %self.name, ?status, "execution finished");
        self.status.send_replace(status);
        true
    }

    async fn wait(&self) -> ExecutionDescription {
        let mut status = self.status.subscribe();
        // The sender lives in `self`, so the channel cannot close while we wait.
        let _ = status
            .wait_for(|status| *status != ExecutionStatus::Running)
            .await;
        self.describe()
    }
}

impl ExecutionDescription {
    /// Stores the error and cause; returns them as history event details.
    fn fail(&mut self, failure: TaskFailure) -> Value {
        let details = json!({ "error": failure.error, "cause": failure.cause });
        self.error = Some(failure.error);
        self.cause = Some(failure.cause);
        details
    }
}
