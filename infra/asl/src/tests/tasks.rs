//! Task resources, Retry, Catch, callbacks and timeouts.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use chrono::TimeDelta;
use serde_json::{Value, json};

use super::support::*;
use crate::{AslError, ExecutionStatus, TaskFailure};

fn merge(target: &mut Value, extra: Value) {
    let Value::Object(extra) = extra else {
        panic!("merge needs an object")
    };
    target.as_object_mut().unwrap().extend(extra);
}

/// A machine with one lambda:invoke Task state "T", with `fields` overriding the defaults.
fn task(fields: Value) -> Value {
    let mut state = json!({
        "Type": "Task",
        "Resource": "arn:aws:states:::lambda:invoke",
        "Parameters": { "FunctionName": "fn", "Payload.$": "$" },
        "End": true
    });
    merge(&mut state, fields);
    json!({ "StartAt": "T", "States": { "T": state } })
}

/// Fails the first `failures` calls with `error`, then echoes.
fn flaky(failures: usize, error: &'static str) -> Arc<RecordingInvoker> {
    let calls = AtomicUsize::new(0);
    RecordingInvoker::new(move |_, payload| {
        if calls.fetch_add(1, Ordering::SeqCst) < failures {
            Err(TaskFailure::new(error, "flaky"))
        } else {
            Ok(payload.clone())
        }
    })
}

#[tokio::test]
async fn lambda_invoke_calls_function_name_and_wraps_the_result() {
    let invoker = RecordingInvoker::new(|_, _| Ok(json!({"approved": true})));
    let (engine, _clock) = engine_with(invoker.clone());
    let machine = task(json!({
        "Parameters": { "FunctionName": "eligibility", "Payload": { "user.$": "$.user" } }
    }));
    let done = run_on(&engine, machine, json!({"user": "ada"})).await;
    assert_eq!(
        invoker.calls(),
        vec![("eligibility".to_owned(), json!({"user": "ada"}))]
    );
    assert_eq!(
        done.output,
        Some(
            json!({"ExecutedVersion": "$LATEST", "Payload": {"approved": true}, "StatusCode": 200})
        )
    );
}

#[tokio::test]
async fn direct_function_arn_gets_the_effective_input_and_returns_raw_output() {
    let invoker = RecordingInvoker::new(|_, _| Ok(json!("done")));
    let (engine, _clock) = engine_with(invoker.clone());
    let arn = "arn:aws:lambda:eu-west-1:123456789012:function:provision";
    let machine = json!({
        "StartAt": "T",
        "States": { "T": { "Type": "Task", "Resource": arn, "InputPath": "$.req", "End": true } }
    });
    let done = run_on(&engine, machine, json!({"req": {"id": 1}})).await;
    assert_eq!(invoker.calls(), vec![(arn.to_owned(), json!({"id": 1}))]);
    assert_eq!(done.output, Some(json!("done")));
}

#[tokio::test]
async fn other_service_integrations_fail_with_a_clear_runtime_error() {
    let machine = task(json!({
        "Resource": "arn:aws:states:::dynamodb:putItem",
        "Parameters": { "TableName": "t" }
    }));
    let done = run(machine, json!({})).await;
    assert_eq!(done.error.as_deref(), Some("States.Runtime"));
    assert!(done.cause.unwrap().contains("dynamodb:putItem"));
}

#[tokio::test]
async fn retry_backs_off_exponentially_through_the_clock() {
    let invoker = flaky(3, "Lambda.TooManyRequestsException");
    let (engine, clock) = engine_with(invoker.clone());
    let machine = task(json!({
        "Parameters": { "FunctionName": "fn", "Payload": { "retry.$": "$$.State.RetryCount" } },
        "Retry": [{
            "ErrorEquals": ["Lambda.TooManyRequestsException"],
            "IntervalSeconds": 2, "BackoffRate": 3, "MaxAttempts": 5
        }]
    }));
    engine
        .start_execution("m", definition(machine), "retry", json!({}))
        .unwrap();
    let mut delays = Vec::new();
    for _ in 0..3 {
        delays.push(clock.advance_to_next().await.num_seconds());
    }
    let done = engine.wait_for("retry").await.unwrap();
    assert_eq!(delays, vec![2, 6, 18]);
    let retry_counts: Vec<Value> = invoker
        .calls()
        .into_iter()
        .map(|(_, p)| p["retry"].clone())
        .collect();
    assert_eq!(retry_counts, vec![json!(0), json!(1), json!(2), json!(3)]);
    assert_eq!(done.output.unwrap()["Payload"], json!({"retry": 3}));
}

#[tokio::test]
async fn retry_caps_delay_and_gives_up_after_max_attempts() {
    let invoker = flaky(usize::MAX, "Boom");
    let (engine, clock) = engine_with(invoker.clone());
    let machine = task(json!({
        "Retry": [{
            "ErrorEquals": ["States.ALL"],
            "IntervalSeconds": 10, "MaxDelaySeconds": 15, "MaxAttempts": 3
        }]
    }));
    engine
        .start_execution("m", definition(machine), "capped", json!({}))
        .unwrap();
    let mut delays = Vec::new();
    for _ in 0..3 {
        delays.push(clock.advance_to_next().await.num_seconds());
    }
    let done = engine.wait_for("capped").await.unwrap();
    assert_eq!(delays, vec![10, 15, 15]);
    assert_eq!(invoker.calls().len(), 4);
    assert_eq!(outcome(&done), Err("Boom: flaky".to_owned()));
}

#[tokio::test]
async fn only_the_first_matching_retrier_counts_and_max_attempts_zero_never_retries() {
    let invoker = flaky(usize::MAX, "Custom");
    let (engine, _clock) = engine_with(invoker.clone());
    let machine = task(json!({
        "Retry": [
            { "ErrorEquals": ["Custom"], "MaxAttempts": 0 },
            { "ErrorEquals": ["States.ALL"], "MaxAttempts": 5 }
        ]
    }));
    let done = run_on(&engine, machine, json!({})).await;
    assert_eq!(invoker.calls().len(), 1);
    assert_eq!(done.error.as_deref(), Some("Custom"));
}

#[tokio::test]
async fn catch_routes_to_handler_with_error_at_result_path() {
    let invoker = flaky(usize::MAX, "Lambda.Boom");
    let (engine, _clock) = engine_with(invoker);
    let machine = json!({
        "StartAt": "T",
        "States": {
            "T": {
                "Type": "Task",
                "Resource": "arn:aws:states:::lambda:invoke",
                "Parameters": { "FunctionName": "fn", "Payload.$": "$" },
                "Catch": [
                    { "ErrorEquals": ["Other"], "Next": "Wrong" },
                    { "ErrorEquals": ["Lambda.Boom"], "ResultPath": "$.failure", "Next": "Handler" }
                ],
                "End": true
            },
            "Wrong": { "Type": "Fail", "Error": "Wrong" },
            "Handler": { "Type": "Pass", "End": true }
        }
    });
    let done = run_on(&engine, machine, json!({"id": 9})).await;
    assert_eq!(done.status, ExecutionStatus::Succeeded);
    assert_eq!(
        done.output,
        Some(json!({"id": 9, "failure": {"Error": "Lambda.Boom", "Cause": "flaky"}}))
    );
}

fn runtime_error_machine(error: &str) -> Value {
    json!({
        "StartAt": "T",
        "States": {
            "T": {
                "Type": "Task",
                "Resource": "arn:aws:states:::lambda:invoke",
                "Parameters": { "FunctionName": "fn", "Payload.$": "$.missing" },
                "Retry": [{ "ErrorEquals": ["States.ALL"] }],
                "Catch": [{ "ErrorEquals": [error], "Next": "Caught" }],
                "End": true
            },
            "Caught": { "Type": "Pass", "Result": "caught", "End": true }
        }
    })
}

#[tokio::test]
async fn states_all_neither_retries_nor_catches_states_runtime() {
    let invoker = RecordingInvoker::echo();
    let (engine, _clock) = engine_with(invoker.clone());
    // A retry would sleep on the manual clock forever; run_on's time limit would catch that.
    let done = run_on(&engine, runtime_error_machine("States.ALL"), json!({})).await;
    assert_eq!(done.status, ExecutionStatus::Failed);
    assert_eq!(done.error.as_deref(), Some("States.Runtime"));
    assert!(invoker.calls().is_empty());
}

#[tokio::test]
async fn an_explicit_states_runtime_catcher_catches_it() {
    let done = run(runtime_error_machine("States.Runtime"), json!({})).await;
    assert_eq!(done.output, Some(json!("caught")));
}

fn callback_machine(extra: Value) -> Value {
    let mut fields = json!({
        "Resource": "arn:aws:states:::lambda:invoke.waitForTaskToken",
        "Parameters": {
            "FunctionName": "approval",
            "Payload": { "token.$": "$$.Task.Token", "request.$": "$.request" }
        },
        "ResultPath": "$.decision",
    });
    merge(&mut fields, extra);
    task(fields)
}

/// Starts the callback machine and returns the token the function received.
async fn start_callback(
    engine: &Arc<crate::Engine>,
    invoker: &RecordingInvoker,
    name: &str,
    extra: Value,
) -> String {
    engine
        .start_execution(
            "approvals",
            definition(callback_machine(extra)),
            name,
            json!({"request": "r1"}),
        )
        .unwrap();
    let calls = invoker.wait_for_calls(1).await;
    assert_eq!(calls[0].0, "approval");
    assert_eq!(calls[0].1["request"], "r1");
    calls[0].1["token"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn wait_for_task_token_resumes_with_send_task_success() {
    let invoker = RecordingInvoker::new(|_, _| Ok(json!("ignored")));
    let (engine, _clock) = engine_with(invoker.clone());
    let token = start_callback(&engine, &invoker, "cb-ok", json!({})).await;
    assert_eq!(
        engine.describe_execution("cb-ok").unwrap().status,
        ExecutionStatus::Running
    );
    engine.send_task_heartbeat(&token).unwrap();
    engine
        .send_task_success(&token, json!({"approved": true}))
        .unwrap();
    let done = engine.wait_for("cb-ok").await.unwrap();
    assert_eq!(
        done.output,
        Some(json!({"request": "r1", "decision": {"approved": true}}))
    );
    assert!(matches!(
        engine.send_task_success(&token, json!(1)),
        Err(AslError::TaskDoesNotExist)
    ));
    let types = event_types(&engine, "cb-ok");
    let position = |t: &str| types.iter().position(|e| e == t).unwrap();
    assert!(position("TaskScheduled") < position("TaskSubmitted"));
    assert!(position("TaskSubmitted") < position("TaskSucceeded"));
}

#[tokio::test]
async fn wait_for_task_token_fails_with_send_task_failure() {
    let invoker = RecordingInvoker::echo();
    let (engine, _clock) = engine_with(invoker.clone());
    let token = start_callback(&engine, &invoker, "cb-fail", json!({})).await;
    engine
        .send_task_failure(&token, "Approval.Rejected", "manager said no")
        .unwrap();
    let done = engine.wait_for("cb-fail").await.unwrap();
    assert_eq!(
        outcome(&done),
        Err("Approval.Rejected: manager said no".to_owned())
    );
    assert!(event_types(&engine, "cb-fail").contains(&"TaskFailed".to_owned()));
}

#[tokio::test]
async fn wait_for_task_token_times_out_on_the_clock() {
    let invoker = RecordingInvoker::echo();
    let (engine, clock) = engine_with(invoker.clone());
    let token = start_callback(
        &engine,
        &invoker,
        "cb-timeout",
        json!({"TimeoutSeconds": 60}),
    )
    .await;
    assert_eq!(clock.advance_to_next().await, TimeDelta::seconds(60));
    let done = engine.wait_for("cb-timeout").await.unwrap();
    assert_eq!(done.status, ExecutionStatus::Failed);
    assert_eq!(done.error.as_deref(), Some("States.Timeout"));
    assert!(matches!(
        engine.send_task_success(&token, json!({})),
        Err(AslError::TaskTimedOut)
    ));
    assert!(event_types(&engine, "cb-timeout").contains(&"TaskTimedOut".to_owned()));
}

#[tokio::test]
async fn heartbeats_extend_the_heartbeat_deadline() {
    let invoker = RecordingInvoker::echo();
    let (engine, clock) = engine_with(invoker.clone());
    let extra = json!({"TimeoutSeconds": 100, "HeartbeatSeconds": 10});
    let token = start_callback(&engine, &invoker, "cb-beat", extra).await;
    let start = ManualClock::epoch();
    clock.wait_for_sleeper(start + TimeDelta::seconds(10)).await;
    clock.advance(TimeDelta::seconds(6));
    engine.send_task_heartbeat(&token).unwrap();
    clock.advance(TimeDelta::seconds(6));
    // The waiter wakes at 10s, sees the heartbeat from 6s and re-arms for 16s.
    clock.wait_for_sleeper(start + TimeDelta::seconds(16)).await;
    assert_eq!(
        engine.describe_execution("cb-beat").unwrap().status,
        ExecutionStatus::Running
    );
    clock.advance(TimeDelta::seconds(5));
    let done = engine.wait_for("cb-beat").await.unwrap();
    assert_eq!(done.error.as_deref(), Some("States.HeartbeatTimeout"));
}

#[tokio::test]
async fn task_failed_does_not_match_states_timeout() {
    let invoker = RecordingInvoker::echo();
    let (engine, clock) = engine_with(invoker.clone());
    let extra = json!({
        "TimeoutSeconds": 5,
        "Catch": [
            { "ErrorEquals": ["States.TaskFailed"], "Next": "TaskFailed" },
            { "ErrorEquals": ["States.ALL"], "Next": "Other" }
        ]
    });
    let mut machine = callback_machine(extra);
    let states = machine["States"].as_object_mut().unwrap();
    states.insert(
        "TaskFailed".into(),
        json!({"Type": "Pass", "Result": "task-failed", "End": true}),
    );
    states.insert(
        "Other".into(),
        json!({"Type": "Pass", "Result": "other", "End": true}),
    );
    engine
        .start_execution("m", definition(machine), "tf", json!({"request": "r"}))
        .unwrap();
    invoker.wait_for_calls(1).await;
    clock.advance_to_next().await;
    let done = engine.wait_for("tf").await.unwrap();
    assert_eq!(done.output, Some(json!("other")));
}

#[tokio::test]
async fn execution_timeout_ends_with_timed_out_status() {
    let invoker = RecordingInvoker::echo();
    let (engine, clock) = engine_with(invoker.clone());
    let machine = json!({
        "TimeoutSeconds": 30,
        "StartAt": "W",
        "States": { "W": { "Type": "Wait", "Seconds": 3600, "End": true } }
    });
    engine
        .start_execution("m", definition(machine), "slow", json!({}))
        .unwrap();
    assert_eq!(clock.advance_to_next().await, TimeDelta::seconds(30));
    let done = engine.wait_for("slow").await.unwrap();
    assert_eq!(done.status, ExecutionStatus::TimedOut);
    assert_eq!(done.error.as_deref(), Some("States.Timeout"));
    assert_eq!(
        done.stop_date,
        Some(ManualClock::epoch() + TimeDelta::seconds(30))
    );
    assert_eq!(
        event_types(&engine, "slow").last().unwrap(),
        "ExecutionTimedOut"
    );
}
