//! Test doubles: a manual clock and a recording invoker, plus small helpers.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use chrono::{DateTime, TimeDelta, Utc};
use serde_json::{Value, json};
use tokio::sync::{Notify, oneshot};

use crate::{Clock, Definition, Engine, ExecutionDescription, TaskFailure, TaskInvoker};

/// A clock that only moves when told to; `advance` wakes the sleepers whose deadline passed.
pub struct ManualClock {
    state: Mutex<ClockState>,
    sleeper_added: Notify,
}

struct ClockState {
    now: DateTime<Utc>,
    sleepers: Vec<(DateTime<Utc>, oneshot::Sender<()>)>,
}

impl ManualClock {
    /// Where every manual clock starts.
    pub fn epoch() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2024-01-01T00:00:00Z")
            .unwrap()
            .with_timezone(&Utc)
    }

    pub fn new() -> Arc<ManualClock> {
        Arc::new(ManualClock {
            state: Mutex::new(ClockState {
                now: ManualClock::epoch(),
                sleepers: Vec::new(),
            }),
            sleeper_added: Notify::new(),
        })
    }

    pub fn advance(&self, delta: TimeDelta) {
        let mut state = self.state.lock().unwrap();
        state.now += delta;
        let now = state.now;
        let (due, waiting) = std::mem::take(&mut state.sleepers)
            .into_iter()
            .partition(|(deadline, _)| *deadline <= now);
        state.sleepers = waiting;
        for (_, wake) in due {
            let _ = wake.send(());
        }
    }

    /// Waits until someone sleeps on the clock; returns the earliest live deadline.
    pub async fn next_deadline(&self) -> DateTime<Utc> {
        loop {
            let added = self.sleeper_added.notified();
            {
                let mut state = self.state.lock().unwrap();
                state.sleepers.retain(|(_, wake)| !wake.is_closed());
                if let Some(deadline) = state.sleepers.iter().map(|(d, _)| *d).min() {
                    return deadline;
                }
            }
            added.await;
        }
    }

    /// Waits until something sleeps until exactly `deadline` (bounded by a real-time limit).
    pub async fn wait_for_sleeper(&self, deadline: DateTime<Utc>) {
        let wait = async {
            loop {
                let added = self.sleeper_added.notified();
                {
                    let mut state = self.state.lock().unwrap();
                    state.sleepers.retain(|(_, wake)| !wake.is_closed());
                    if state.sleepers.iter().any(|(d, _)| *d == deadline) {
                        return;
                    }
                }
                added.await;
            }
        };
        tokio::time::timeout(std::time::Duration::from_secs(5), wait)
            .await
            .unwrap_or_else(|_| panic!("nothing sleeps until {deadline}"));
    }

    /// Waits for the next sleeper and advances exactly to its deadline; returns the step.
    pub async fn advance_to_next(&self) -> TimeDelta {
        let step = self.next_deadline().await - self.now();
        self.advance(step);
        step
    }
}

#[async_trait::async_trait]
impl Clock for ManualClock {
    fn now(&self) -> DateTime<Utc> {
        self.state.lock().unwrap().now
    }

    async fn sleep_until(&self, deadline: DateTime<Utc>) {
        let wake = {
            let mut state = self.state.lock().unwrap();
            if state.now >= deadline {
                return;
            }
            let (tx, rx) = oneshot::channel();
            state.sleepers.push((deadline, tx));
            rx
        };
        self.sleeper_added.notify_waiters();
        let _ = wake.await;
    }
}

type Handler = dyn Fn(&str, &Value) -> Result<Value, TaskFailure> + Send + Sync;

/// Records every invocation and answers with `handler`. Each call yields a few times so
/// concurrent callers interleave, and the largest number of overlapping calls is tracked.
pub struct RecordingInvoker {
    handler: Box<Handler>,
    calls: Mutex<Vec<(String, Value)>>,
    called: Notify,
    in_flight: AtomicUsize,
    max_in_flight: AtomicUsize,
}

impl RecordingInvoker {
    pub fn new(
        handler: impl Fn(&str, &Value) -> Result<Value, TaskFailure> + Send + Sync + 'static,
    ) -> Arc<RecordingInvoker> {
        Arc::new(RecordingInvoker {
            handler: Box::new(handler),
            calls: Mutex::default(),
            called: Notify::new(),
            in_flight: AtomicUsize::new(0),
            max_in_flight: AtomicUsize::new(0),
        })
    }

    /// Answers every call with its payload.
    pub fn echo() -> Arc<RecordingInvoker> {
        RecordingInvoker::new(|_, payload| Ok(payload.clone()))
    }

    pub fn calls(&self) -> Vec<(String, Value)> {
        self.calls.lock().unwrap().clone()
    }

    pub fn max_in_flight(&self) -> usize {
        self.max_in_flight.load(Ordering::SeqCst)
    }

    pub async fn wait_for_calls(&self, count: usize) -> Vec<(String, Value)> {
        loop {
            let called = self.called.notified();
            let calls = self.calls();
            if calls.len() >= count {
                return calls;
            }
            called.await;
        }
    }
}

#[async_trait::async_trait]
impl TaskInvoker for RecordingInvoker {
    async fn invoke(&self, function: &str, payload: Value) -> Result<Value, TaskFailure> {
        let running = self.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        self.max_in_flight.fetch_max(running, Ordering::SeqCst);
        self.calls
            .lock()
            .unwrap()
            .push((function.to_owned(), payload.clone()));
        self.called.notify_waiters();
        for _ in 0..3 {
            tokio::task::yield_now().await;
        }
        self.in_flight.fetch_sub(1, Ordering::SeqCst);
        (self.handler)(function, &payload)
    }
}

pub fn definition(json: Value) -> Arc<Definition> {
    Arc::new(Definition::parse(&json.to_string(), &HashMap::new()).expect("valid definition"))
}

pub fn parse_error(json: Value) -> String {
    match Definition::parse(&json.to_string(), &HashMap::new()) {
        Ok(_) => panic!("definition should be rejected: {json}"),
        Err(error) => error.to_string(),
    }
}

/// An engine over `invoker` and a fresh manual clock.
pub fn engine_with(invoker: Arc<RecordingInvoker>) -> (Arc<Engine>, Arc<ManualClock>) {
    let clock = ManualClock::new();
    (Engine::new(invoker, clock.clone()), clock)
}

static NEXT_NAME: AtomicUsize = AtomicUsize::new(0);

pub fn unique_name() -> String {
    format!("exec-{}", NEXT_NAME.fetch_add(1, Ordering::SeqCst))
}

/// Runs `machine` on `input` with an echoing invoker and returns the final description.
pub async fn run(machine: Value, input: Value) -> ExecutionDescription {
    let (engine, _clock) = engine_with(RecordingInvoker::echo());
    run_on(&engine, machine, input).await
}

/// Runs to completion; a real-time limit turns a wrongly sleeping execution into a failure.
pub async fn run_on(engine: &Arc<Engine>, machine: Value, input: Value) -> ExecutionDescription {
    let name = unique_name();
    let run = engine.run("test-machine", definition(machine), &name, input);
    tokio::time::timeout(std::time::Duration::from_secs(10), run)
        .await
        .expect("execution finishes without waiting on the clock")
        .expect("execution starts")
}

/// A machine with a single Pass state whose Parameters are `parameters`.
pub fn pass_machine(parameters: Value) -> Value {
    json!({
        "StartAt": "P",
        "States": { "P": { "Type": "Pass", "Parameters": parameters, "End": true } }
    })
}

/// The output of a succeeded execution, or "error: cause" of a failed one.
pub fn outcome(description: &ExecutionDescription) -> Result<Value, String> {
    match &description.output {
        Some(output) => Ok(output.clone()),
        None => Err(format!(
            "{}: {}",
            description.error.clone().unwrap_or_default(),
            description.cause.clone().unwrap_or_default()
        )),
    }
}

pub fn event_types(engine: &Engine, name: &str) -> Vec<String> {
    engine
        .history(name)
        .expect("execution exists")
        .into_iter()
        .map(|event| event.r#type)
        .collect()
}
