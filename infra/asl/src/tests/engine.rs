//! Execution lifecycle: idempotent starts, stop, describe and wait.

use chrono::TimeDelta;
use serde_json::{Value, json};

use super::support::*;
use crate::{AslError, ExecutionStatus};

fn waiting_machine() -> Value {
    json!({
        "StartAt": "W",
        "States": { "W": { "Type": "Wait", "Seconds": 100, "End": true } }
    })
}

#[tokio::test]
async fn start_is_idempotent_for_the_same_input_and_rejects_a_different_one() {
    let (engine, clock) = engine_with(RecordingInvoker::echo());
    let first = engine
        .start_execution("m", definition(waiting_machine()), "req-1", json!({"a": 1}))
        .unwrap();
    assert_eq!(first.status, ExecutionStatus::Running);
    let wake_up = ManualClock::epoch() + TimeDelta::seconds(100);
    clock.wait_for_sleeper(wake_up).await;
    clock.advance(TimeDelta::seconds(1));
    let again = engine
        .start_execution("m", definition(waiting_machine()), "req-1", json!({"a": 1}))
        .unwrap();
    assert_eq!(again.start_date, first.start_date);
    let conflict =
        engine.start_execution("m", definition(waiting_machine()), "req-1", json!({"a": 2}));
    assert!(matches!(conflict, Err(AslError::ExecutionAlreadyExists(name)) if name == "req-1"));
    let other_machine =
        engine.start_execution("n", definition(waiting_machine()), "req-1", json!({"a": 1}));
    assert!(matches!(
        other_machine,
        Err(AslError::ExecutionAlreadyExists(_))
    ));
    // Only the first execution runs: nothing else sleeps until t=101.
    assert_eq!(clock.next_deadline().await, wake_up);
    clock.advance(TimeDelta::seconds(99));
    let done = engine.wait_for("req-1").await.unwrap();
    assert_eq!(done.status, ExecutionStatus::Succeeded);
    assert_eq!(
        event_types(&engine, "req-1")
            .iter()
            .filter(|t| *t == "ExecutionStarted")
            .count(),
        1
    );
}

#[tokio::test]
async fn stop_aborts_the_execution_and_revokes_its_tokens() {
    let invoker = RecordingInvoker::echo();
    let (engine, clock) = engine_with(invoker.clone());
    let machine = json!({
        "StartAt": "T",
        "States": { "T": {
            "Type": "Task",
            "Resource": "arn:aws:states:::lambda:invoke.waitForTaskToken",
            "Parameters": { "FunctionName": "approval", "Payload": { "token.$": "$$.Task.Token" } },
            "End": true
        }}
    });
    engine
        .start_execution("m", definition(machine), "to-stop", json!({}))
        .unwrap();
    let token = invoker.wait_for_calls(1).await[0].1["token"]
        .as_str()
        .unwrap()
        .to_owned();
    clock.advance(TimeDelta::seconds(7));
    engine
        .stop_execution("to-stop", "User.Cancelled", "requester withdrew")
        .unwrap();
    let done = engine.wait_for("to-stop").await.unwrap();
    assert_eq!(done.status, ExecutionStatus::Aborted);
    assert_eq!(done.error.as_deref(), Some("User.Cancelled"));
    assert_eq!(done.cause.as_deref(), Some("requester withdrew"));
    assert_eq!(
        done.stop_date,
        Some(ManualClock::epoch() + TimeDelta::seconds(7))
    );
    assert!(matches!(
        engine.send_task_success(&token, json!({})),
        Err(AslError::TaskDoesNotExist)
    ));
    assert_eq!(
        event_types(&engine, "to-stop").last().unwrap(),
        "ExecutionAborted"
    );
    // Stopping again changes nothing; unknown names are errors.
    engine.stop_execution("to-stop", "Again", "").unwrap();
    assert_eq!(
        engine
            .describe_execution("to-stop")
            .unwrap()
            .error
            .as_deref(),
        Some("User.Cancelled")
    );
    assert!(matches!(
        engine.stop_execution("nope", "E", "C"),
        Err(AslError::ExecutionDoesNotExist(name)) if name == "nope"
    ));
}

#[tokio::test]
async fn unknown_executions_and_tokens() {
    let (engine, _clock) = engine_with(RecordingInvoker::echo());
    assert!(engine.describe_execution("ghost").is_none());
    assert!(engine.history("ghost").is_none());
    assert!(engine.wait_for("ghost").await.is_none());
    assert!(matches!(
        engine.send_task_failure("bogus", "E", "C"),
        Err(AslError::TaskDoesNotExist)
    ));
    assert!(matches!(
        engine.send_task_heartbeat("bogus"),
        Err(AslError::TaskDoesNotExist)
    ));
}

#[tokio::test]
async fn run_returns_the_final_description_and_describe_agrees() {
    let (engine, _clock) = engine_with(RecordingInvoker::echo());
    let machine = json!({
        "StartAt": "P",
        "States": { "P": { "Type": "Pass", "Result": {"ok": true}, "End": true } }
    });
    let done = engine
        .run("provision", definition(machine), "cli-1", json!({"in": 1}))
        .await
        .unwrap();
    assert_eq!(done.name, "cli-1");
    assert_eq!(done.state_machine, "provision");
    assert_eq!(done.input, json!({"in": 1}));
    assert_eq!(done.output, Some(json!({"ok": true})));
    assert_eq!(done.stop_date, Some(ManualClock::epoch()));
    let described = engine.describe_execution("cli-1").unwrap();
    assert_eq!(described.status, ExecutionStatus::Succeeded);
    let serialized = serde_json::to_value(&described).unwrap();
    assert_eq!(serialized["status"], "SUCCEEDED");
    assert_eq!(serialized["stateMachine"], "provision");
}

#[tokio::test]
async fn failed_execution_records_error_and_cause() {
    let (engine, _clock) = engine_with(RecordingInvoker::echo());
    let machine = json!({
        "StartAt": "F",
        "States": { "F": { "Type": "Fail", "Error": "Nope", "Cause": "because" } }
    });
    engine
        .run("m", definition(machine), "failing", json!({}))
        .await
        .unwrap();
    let history = engine.history("failing").unwrap();
    let last = history.last().unwrap();
    assert_eq!(last.r#type, "ExecutionFailed");
    assert_eq!(last.details, json!({"error": "Nope", "cause": "because"}));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn runs_on_the_system_clock_and_a_multi_threaded_runtime() {
    let invoker = RecordingInvoker::echo();
    let engine = crate::Engine::new(invoker.clone(), std::sync::Arc::new(crate::SystemClock));
    let machine = json!({
        "StartAt": "Pause",
        "States": {
            "Pause": { "Type": "Wait", "Seconds": 0, "Next": "Each" },
            "Each": {
                "Type": "Map",
                "ItemProcessor": { "StartAt": "Call", "States": { "Call": {
                    "Type": "Task",
                    "Resource": "arn:aws:lambda:us-east-1:000000000000:function:double",
                    "End": true
                }}},
                "End": true
            }
        }
    });
    engine
        .start_execution("m", definition(machine), "real", json!([1, 2, 3]))
        .unwrap();
    let done = engine.wait_for("real").await.unwrap();
    assert_eq!(done.output, Some(json!([1, 2, 3])));
    assert_eq!(invoker.calls().len(), 3);
}
