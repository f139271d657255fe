//! Parsing and validation of state machine definitions.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::{Map, Value};

use crate::AslError;
use crate::choice::ChoiceRule;
use crate::errors::{ALL, RUNTIME, TASK_FAILED, TIMEOUT};
use crate::paths::{Expr, Path, ReferencePath, Template};

/// A parsed, validated state machine definition.
#[derive(Debug)]
pub struct Definition {
    pub(crate) machine: StateMachine,
    /// Execution-level timeout (TimeoutSeconds at the top of the definition).
    pub(crate) timeout_seconds: Option<u64>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct RawDefinition {
    #[serde(flatten)]
    machine: StateMachine,
    timeout_seconds: Option<u64>,
}

impl Definition {
    /// Replaces every `${Name}` in the raw JSON text with `substitutions[Name]` (an unknown name
    /// is an error), then parses and validates the definition, nested branches included.
    pub fn parse(
        json: &str,
        substitutions: &HashMap<String, String>,
    ) -> Result<Definition, AslError> {
        let text = substitute(json, substitutions).map_err(AslError::InvalidDefinition)?;
        let value: Value = serde_json::from_str(&text)
            .map_err(|e| AslError::InvalidDefinition(format!("not valid JSON: {e}")))?;
        let raw: RawDefinition = serde_json::from_value(value)
            .map_err(|e| AslError::InvalidDefinition(e.to_string()))?;
        if raw.timeout_seconds == Some(0) {
            return Err(AslError::InvalidDefinition(
                "TimeoutSeconds must be positive".into(),
            ));
        }
        Ok(Definition {
            machine: raw.machine,
            timeout_seconds: raw.timeout_seconds,
        })
    }
}

fn substitute(json: &str, substitutions: &HashMap<String, String>) -> Result<String, String> {
    let mut out = String::with_capacity(json.len());
    let mut rest = json;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let end = after
            .find('}')
            .ok_or_else(|| format!("unterminated substitution '${{{after}'"))?;
        let name = &after[..end];
        let value = substitutions
            .get(name)
            .ok_or_else(|| format!("no substitution given for '${{{name}}}'"))?;
        out.push_str(value);
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

/// A graph of states: the top level, a Parallel branch or a Map item processor.
#[derive(Debug, Deserialize)]
#[serde(try_from = "RawMachine")]
pub(crate) struct StateMachine {
    pub start_at: String,
    pub states: HashMap<String, State>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct RawMachine {
    start_at: String,
    states: Map<String, Value>,
}

impl TryFrom<RawMachine> for StateMachine {
    type Error = String;

    fn try_from(raw: RawMachine) -> Result<Self, String> {
        let states = raw
            .states
            .into_iter()
            .map(|(name, value)| {
                check_fields(&value).map_err(|e| format!("state '{name}': {e}"))?;
                let state =
                    State::deserialize(value).map_err(|e| format!("state '{name}': {e}"))?;
                Ok((name, state))
            })
            .collect::<Result<HashMap<_, _>, String>>()?;
        let machine = StateMachine {
            start_at: raw.start_at,
            states,
        };
        machine.validate()?;
        Ok(machine)
    }
}

impl StateMachine {
    fn validate(&self) -> Result<(), String> {
        if !self.states.contains_key(&self.start_at) {
            return Err(format!("StartAt '{}' is not a state", self.start_at));
        }
        for (name, state) in &self.states {
            state
                .validate()
                .map_err(|e| format!("state '{name}': {e}"))?;
            for target in state.targets() {
                if !self.states.contains_key(target) {
                    return Err(format!(
                        "state '{name}': transition to missing state '{target}'"
                    ));
                }
            }
        }
        let mut reached = HashSet::from([self.start_at.as_str()]);
        let mut pending = vec![self.start_at.as_str()];
        while let Some(name) = pending.pop() {
            for target in self.states[name].targets() {
                if reached.insert(target) {
                    pending.push(target);
                }
            }
        }
        let mut unreachable: Vec<_> = self
            .states
            .keys()
            .filter(|name| !reached.contains(name.as_str()))
            .collect();
        unreachable.sort();
        if unreachable.is_empty() {
            Ok(())
        } else {
            Err(format!("unreachable states: {unreachable:?}"))
        }
    }
}

const COMMON_FIELDS: &[&str] = &["Type", "Comment"];
const IO_FIELDS: &[&str] = &["InputPath", "OutputPath"];
const TRANSITION_FIELDS: &[&str] = &["Next", "End"];
const RESULT_FIELDS: &[&str] = &["ResultSelector", "ResultPath", "Retry", "Catch"];

/// Rejects fields the state type does not have, so a typo such as "ResultPth" is not
/// silently ignored.
fn check_fields(value: &Value) -> Result<(), String> {
    let object = value.as_object().ok_or("a state must be an object")?;
    let type_name = object.get("Type").and_then(Value::as_str).unwrap_or("");
    let groups: &[&[&str]] = match type_name {
        "Task" => &[
            IO_FIELDS,
            TRANSITION_FIELDS,
            RESULT_FIELDS,
            &[
                "Resource",
                "Parameters",
                "TimeoutSeconds",
                "TimeoutSecondsPath",
                "HeartbeatSeconds",
                "HeartbeatSecondsPath",
            ],
        ],
        "Pass" => &[
            IO_FIELDS,
            TRANSITION_FIELDS,
            &["Result", "ResultPath", "Parameters"],
        ],
        "Choice" => &[IO_FIELDS, &["Choices", "Default"]],
        "Wait" => &[
            IO_FIELDS,
            TRANSITION_FIELDS,
            &["Seconds", "SecondsPath", "Timestamp", "TimestampPath"],
        ],
        "Succeed" => &[IO_FIELDS],
        "Fail" => &[&["Error", "ErrorPath", "Cause", "CausePath"]],
        "Parallel" => &[
            IO_FIELDS,
            TRANSITION_FIELDS,
            RESULT_FIELDS,
            &["Branches", "Parameters"],
        ],
        "Map" => &[
            IO_FIELDS,
            TRANSITION_FIELDS,
            RESULT_FIELDS,
            &[
                "ItemsPath",
                "ItemSelector",
                "Parameters",
                "ItemProcessor",
                "Iterator",
                "MaxConcurrency",
                "MaxConcurrencyPath",
            ],
        ],
        // Unknown or missing types are reported by the deserializer.
        _ => return Ok(()),
    };
    let unknown: Vec<&String> = object
        .keys()
        .filter(|key| {
            !COMMON_FIELDS.contains(&key.as_str())
                && !groups.iter().any(|group| group.contains(&key.as_str()))
        })
        .collect();
    if unknown.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "fields {unknown:?} are not supported on {type_name} states"
        ))
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct State {
    #[serde(flatten)]
    pub kind: StateKind,
    #[serde(default = "Path::default_filter")]
    pub input_path: Option<Path>,
    #[serde(default = "Path::default_filter")]
    pub output_path: Option<Path>,
    pub next: Option<String>,
    #[serde(default)]
    pub end: bool,
}

#[derive(Debug, Deserialize)]
#[serde(tag = "Type")]
pub(crate) enum StateKind {
    Pass(PassState),
    Task(TaskState),
    Choice(ChoiceState),
    Wait(WaitState),
    Succeed {},
    Fail(FailState),
    Parallel(ParallelState),
    Map(MapState),
}

impl StateKind {
    /// The state type as written in `Type`, used in history event names.
    pub fn type_name(&self) -> &'static str {
        match self {
            StateKind::Pass(_) => "Pass",
            StateKind::Task(_) => "Task",
            StateKind::Choice(_) => "Choice",
            StateKind::Wait(_) => "Wait",
            StateKind::Succeed {} => "Succeed",
            StateKind::Fail(_) => "Fail",
            StateKind::Parallel(_) => "Parallel",
            StateKind::Map(_) => "Map",
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct PassState {
    pub result: Option<Value>,
    pub parameters: Option<Template>,
    #[serde(default = "ReferencePath::root")]
    pub result_path: Option<ReferencePath>,
}

/// ResultSelector, ResultPath, Retry and Catch, shared by Task, Parallel and Map.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct ResultHandling {
    pub result_selector: Option<Template>,
    #[serde(default = "ReferencePath::root")]
    pub result_path: Option<ReferencePath>,
    #[serde(default)]
    pub retry: Vec<Retrier>,
    #[serde(default)]
    pub catch: Vec<Catcher>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct TaskState {
    pub resource: Resource,
    pub parameters: Option<Template>,
    #[serde(flatten)]
    pub handling: ResultHandling,
    pub timeout_seconds: Option<u64>,
    pub timeout_seconds_path: Option<Path>,
    pub heartbeat_seconds: Option<u64>,
    pub heartbeat_seconds_path: Option<Path>,
}

#[derive(Debug)]
pub(crate) enum Resource {
    /// `arn:aws:states:::lambda:invoke`
    LambdaInvoke,
    /// `arn:aws:states:::lambda:invoke.waitForTaskToken`
    LambdaCallback,
    /// Another `arn:aws:states:::` integration; fails at run time with States.Runtime.
    Unsupported(String),
    /// A Lambda function ARN or any other resource, handed to the invoker as-is.
    Function(String),
}

const STATES_ARN_PREFIX: &str = "arn:aws:states:::";

impl<'de> Deserialize<'de> for Resource {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let arn = String::deserialize(d)?;
        Ok(match arn.strip_prefix(STATES_ARN_PREFIX) {
            Some("lambda:invoke") => Resource::LambdaInvoke,
            Some("lambda:invoke.waitForTaskToken") => Resource::LambdaCallback,
            Some(_) => Resource::Unsupported(arn),
            None => Resource::Function(arn),
        })
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct ChoiceState {
    pub choices: Vec<ChoiceRule>,
    pub default: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(try_from = "RawWait")]
pub(crate) enum WaitState {
    Seconds(u64),
    SecondsPath(Path),
    Timestamp(DateTime<Utc>),
    TimestampPath(Path),
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct RawWait {
    seconds: Option<u64>,
    seconds_path: Option<Path>,
    timestamp: Option<DateTime<Utc>>,
    timestamp_path: Option<Path>,
}

impl TryFrom<RawWait> for WaitState {
    type Error = String;

    fn try_from(raw: RawWait) -> Result<Self, String> {
        match (
            raw.seconds,
            raw.seconds_path,
            raw.timestamp,
            raw.timestamp_path,
        ) {
            (Some(seconds), None, None, None) => Ok(WaitState::Seconds(seconds)),
            (None, Some(path), None, None) => Ok(WaitState::SecondsPath(path)),
            (None, None, Some(timestamp), None) => Ok(WaitState::Timestamp(timestamp)),
            (None, None, None, Some(path)) => Ok(WaitState::TimestampPath(path)),
            _ => Err(
                "exactly one of Seconds, SecondsPath, Timestamp, TimestampPath is needed".into(),
            ),
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct FailState {
    pub error: Option<String>,
    pub error_path: Option<Expr>,
    pub cause: Option<String>,
    pub cause_path: Option<Expr>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct ParallelState {
    pub branches: Vec<StateMachine>,
    pub parameters: Option<Template>,
    #[serde(flatten)]
    pub handling: ResultHandling,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct MapState {
    #[serde(default = "Path::root")]
    pub items_path: Path,
    /// `Parameters` is the pre-2023 name; giving both is a duplicate-field error.
    #[serde(alias = "Parameters")]
    pub item_selector: Option<Template>,
    #[serde(alias = "Iterator")]
    pub item_processor: StateMachine,
    pub max_concurrency: Option<u64>,
    pub max_concurrency_path: Option<Path>,
    #[serde(flatten)]
    pub handling: ResultHandling,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct Retrier {
    pub error_equals: ErrorMatcher,
    #[serde(default = "Retrier::default_interval")]
    pub interval_seconds: u64,
    #[serde(default = "Retrier::default_max_attempts")]
    pub max_attempts: u32,
    #[serde(default = "Retrier::default_backoff")]
    pub backoff_rate: f64,
    pub max_delay_seconds: Option<u64>,
    #[serde(default)]
    pub jitter_strategy: Jitter,
}

impl Retrier {
    fn default_interval() -> u64 {
        1
    }
    fn default_max_attempts() -> u32 {
        3
    }
    fn default_backoff() -> f64 {
        2.0
    }
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub(crate) enum Jitter {
    #[default]
    None,
    Full,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct Catcher {
    pub error_equals: ErrorMatcher,
    pub next: String,
    #[serde(default = "ReferencePath::root")]
    pub result_path: Option<ReferencePath>,
}

/// The `ErrorEquals` list of a retrier or catcher.
#[derive(Debug, Deserialize)]
pub(crate) struct ErrorMatcher(Vec<String>);

impl ErrorMatcher {
    pub fn matches(&self, error: &str) -> bool {
        self.0.iter().any(|pattern| match pattern.as_str() {
            // Runtime errors mean the definition cannot handle its input: wildcards never
            // swallow them, only an explicit States.Runtime does.
            ALL => error != RUNTIME,
            TASK_FAILED => error != RUNTIME && error != TIMEOUT,
            name => name == error,
        })
    }

    fn is_catch_all(&self) -> bool {
        self.0.iter().any(|pattern| pattern == ALL)
    }

    fn validate(&self) -> Result<(), String> {
        if self.0.is_empty() {
            return Err("ErrorEquals must not be empty".into());
        }
        if self.is_catch_all() && self.0.len() > 1 {
            return Err("States.ALL must appear alone in ErrorEquals".into());
        }
        Ok(())
    }
}

/// Checks ErrorEquals lists, and that a States.ALL entry comes last.
fn validate_matchers<'a>(
    field: &str,
    matchers: impl ExactSizeIterator<Item = &'a ErrorMatcher>,
) -> Result<(), String> {
    let last = matchers.len().saturating_sub(1);
    for (i, matcher) in matchers.enumerate() {
        matcher
            .validate()
            .map_err(|e| format!("{field}[{i}]: {e}"))?;
        if matcher.is_catch_all() && i != last {
            return Err(format!(
                "{field}[{i}]: a States.ALL entry must be the last one"
            ));
        }
    }
    Ok(())
}

fn exclusive(a: bool, b: bool, names: &str) -> Result<(), String> {
    if a && b {
        Err(format!("only one of {names} may be given"))
    } else {
        Ok(())
    }
}

impl ResultHandling {
    fn validate(&self) -> Result<(), String> {
        validate_matchers("Retry", self.retry.iter().map(|r| &r.error_equals))?;
        validate_matchers("Catch", self.catch.iter().map(|c| &c.error_equals))?;
        for retrier in &self.retry {
            if retrier.backoff_rate < 1.0 {
                return Err("Retry BackoffRate must be at least 1.0".into());
            }
            if retrier.interval_seconds == 0 {
                return Err("Retry IntervalSeconds must be positive".into());
            }
        }
        Ok(())
    }
}

impl State {
    fn handling(&self) -> Option<&ResultHandling> {
        match &self.kind {
            StateKind::Task(task) => Some(&task.handling),
            StateKind::Parallel(parallel) => Some(&parallel.handling),
            StateKind::Map(map) => Some(&map.handling),
            _ => None,
        }
    }

    /// Every state this one may transition to.
    fn targets(&self) -> Vec<&str> {
        let mut targets: Vec<&str> = self.next.iter().map(String::as_str).collect();
        if let StateKind::Choice(choice) = &self.kind {
            targets.extend(choice.choices.iter().map(|rule| rule.next.as_str()));
            targets.extend(choice.default.as_deref());
        }
        if let Some(handling) = self.handling() {
            targets.extend(handling.catch.iter().map(|c| c.next.as_str()));
        }
        targets
    }

    fn validate(&self) -> Result<(), String> {
        // Choice, Succeed and Fail cannot have Next or End at all (see `check_fields`).
        let terminal = matches!(
            self.kind,
            StateKind::Choice(_) | StateKind::Succeed {} | StateKind::Fail(_)
        );
        match (&self.next, self.end) {
            (Some(_), true) => return Err("only one of Next and End may be given".into()),
            (None, false) if !terminal => return Err("needs Next or End".into()),
            _ => {}
        }
        if let Some(handling) = self.handling() {
            handling.validate()?;
        }
        match &self.kind {
            StateKind::Task(task) => task.validate(),
            StateKind::Choice(choice) if choice.choices.is_empty() => {
                Err("Choices must not be empty".into())
            }
            StateKind::Fail(fail) => {
                exclusive(
                    fail.error.is_some(),
                    fail.error_path.is_some(),
                    "Error, ErrorPath",
                )?;
                exclusive(
                    fail.cause.is_some(),
                    fail.cause_path.is_some(),
                    "Cause, CausePath",
                )
            }
            StateKind::Parallel(parallel) if parallel.branches.is_empty() => {
                Err("Branches must not be empty".into())
            }
            StateKind::Map(map) => exclusive(
                map.max_concurrency.is_some(),
                map.max_concurrency_path.is_some(),
                "MaxConcurrency, MaxConcurrencyPath",
            ),
            _ => Ok(()),
        }
    }
}

impl TaskState {
    fn validate(&self) -> Result<(), String> {
        exclusive(
            self.timeout_seconds.is_some(),
            self.timeout_seconds_path.is_some(),
            "TimeoutSeconds, TimeoutSecondsPath",
        )?;
        exclusive(
            self.heartbeat_seconds.is_some(),
            self.heartbeat_seconds_path.is_some(),
            "HeartbeatSeconds, HeartbeatSecondsPath",
        )?;
        if self.timeout_seconds == Some(0) || self.heartbeat_seconds == Some(0) {
            return Err("TimeoutSeconds and HeartbeatSeconds must be positive".into());
        }
        if let (Some(timeout), Some(heartbeat)) = (self.timeout_seconds, self.heartbeat_seconds)
            && heartbeat >= timeout
        {
            return Err("HeartbeatSeconds must be smaller than TimeoutSeconds".into());
        }
        if matches!(
            self.resource,
            Resource::LambdaInvoke | Resource::LambdaCallback
        ) {
            let parameters = self.parameters.as_ref();
            for field in ["FunctionName", "Payload"] {
                if !parameters.is_some_and(|p| p.has_field(field)) {
                    return Err(format!("lambda:invoke needs Parameters.{field}"));
                }
            }
        }
        Ok(())
    }
}
