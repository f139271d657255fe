//! Definition parsing, validation and `${Name}` substitution.

use std::collections::HashMap;

use serde_json::{Value, json};

use super::support::*;
use crate::{AslError, Definition};

fn pass_end() -> Value {
    json!({ "Type": "Pass", "End": true })
}

fn machine_with(state: Value) -> Value {
    json!({ "StartAt": "S", "States": { "S": state } })
}

#[test]
fn structural_errors_are_reported() {
    let simple_branch = json!({ "StartAt": "B", "States": { "B": pass_end() } });
    let cases = [
        (
            json!({ "StartAt": "Missing", "States": { "S": pass_end() } }),
            "StartAt 'Missing'",
        ),
        (
            machine_with(json!({ "Type": "Pass", "Next": "Nowhere" })),
            "missing state 'Nowhere'",
        ),
        (machine_with(json!({ "Type": "Pass" })), "needs Next or End"),
        (
            json!({ "StartAt": "S", "States": { "S": pass_end(), "Orphan": pass_end() } }),
            "unreachable states: [\"Orphan\"]",
        ),
        (
            machine_with(json!({ "Type": "Choice", "Choices": [] })),
            "Choices must not be empty",
        ),
        (machine_with(json!({ "Type": "Choice" })), "Choices"),
        (
            machine_with(
                json!({ "Type": "Choice", "Choices": [{ "Variable": "$.x", "IsNull": true }] }),
            ),
            "needs a string 'Next'",
        ),
        (
            machine_with(json!({ "Type": "Choice", "Default": "S", "Choices": [
                { "Variable": "$.x", "StringEquals": 5, "Next": "S" }
            ] })),
            "needs a String operand",
        ),
        (
            machine_with(json!({ "Type": "Choice", "Default": "S", "Choices": [
                { "Variable": "$.x", "BooleanLessThan": true, "Next": "S" }
            ] })),
            "unknown choice operator 'BooleanLessThan'",
        ),
        (
            machine_with(json!({ "Type": "Map", "End": true })),
            "ItemProcessor",
        ),
        (
            machine_with(json!({ "Type": "Parallel", "End": true })),
            "Branches",
        ),
        (
            machine_with(json!({ "Type": "Parallel", "Branches": [], "End": true })),
            "Branches must not be empty",
        ),
        (
            machine_with(json!({ "Type": "Parallel", "End": true, "Branches": [
                simple_branch.clone(),
                { "StartAt": "X", "States": { "X": { "Type": "Pass", "Next": "Y" } } }
            ] })),
            "state 'X': transition to missing state 'Y'",
        ),
        (
            machine_with(
                json!({ "Type": "Map", "End": true, "ItemProcessor": simple_branch.clone(),
                                 "Iterator": simple_branch }),
            ),
            "duplicate field",
        ),
        (
            machine_with(json!({ "Type": "Succeed", "Next": "S" })),
            "[\"Next\"] are not supported on Succeed",
        ),
        (
            machine_with(json!({ "Type": "Pass", "Next": "S", "End": true })),
            "only one of Next and End",
        ),
        (
            machine_with(json!({ "Type": "Pass", "ResultPth": "$.x", "End": true })),
            "[\"ResultPth\"]",
        ),
        (
            machine_with(json!({ "Type": "Teleport", "End": true })),
            "unknown variant `Teleport`",
        ),
        (
            machine_with(
                json!({ "Type": "Wait", "Seconds": 1, "SecondsPath": "$.s", "End": true }),
            ),
            "exactly one of Seconds",
        ),
        (
            machine_with(json!({ "Type": "Pass", "ResultPath": "$.a[*]", "End": true })),
            "invalid ResultPath",
        ),
        (
            machine_with(json!({ "Type": "Pass", "InputPath": "a.b", "End": true })),
            "must start with '$'",
        ),
        (
            machine_with(json!({ "Type": "Fail", "Error": "E", "ErrorPath": "$.e" })),
            "only one of Error, ErrorPath",
        ),
    ];
    for (machine, expected) in cases {
        let error = parse_error(machine.clone());
        assert!(error.contains(expected), "{machine}\n  => {error}");
    }
}

fn task_with(extra: Value) -> Value {
    let mut state = json!({
        "Type": "Task",
        "Resource": "arn:aws:states:::lambda:invoke",
        "Parameters": { "FunctionName": "f", "Payload": {} },
        "End": true
    });
    state
        .as_object_mut()
        .unwrap()
        .extend(extra.as_object().unwrap().clone());
    machine_with(state)
}

#[test]
fn task_errors_are_reported() {
    let cases = [
        (
            task_with(json!({ "Parameters": { "Payload": {} } })),
            "Parameters.FunctionName",
        ),
        (
            task_with(json!({ "Parameters": { "FunctionName": "f" } })),
            "Parameters.Payload",
        ),
        (
            task_with(json!({ "Retry": [{ "ErrorEquals": ["States.ALL", "Other"] }] })),
            "States.ALL must appear alone",
        ),
        (
            task_with(
                json!({ "Retry": [{ "ErrorEquals": ["States.ALL"] }, { "ErrorEquals": ["X"] }] }),
            ),
            "Retry[0]: a States.ALL entry must be the last one",
        ),
        (
            task_with(json!({ "Catch": [{ "ErrorEquals": [], "Next": "S" }] })),
            "must not be empty",
        ),
        (
            task_with(json!({ "Catch": [{ "ErrorEquals": ["X"], "Next": "Gone" }] })),
            "missing state 'Gone'",
        ),
        (
            task_with(json!({ "Retry": [{ "ErrorEquals": ["X"], "BackoffRate": 0.5 }] })),
            "BackoffRate",
        ),
        (
            task_with(json!({ "TimeoutSeconds": 10, "HeartbeatSeconds": 10 })),
            "HeartbeatSeconds must be smaller",
        ),
        (
            task_with(json!({ "TimeoutSeconds": 10, "TimeoutSecondsPath": "$.t" })),
            "only one of TimeoutSeconds",
        ),
        (
            task_with(json!({ "Parameters": { "FunctionName": "f", "Payload.$": "$$..[" } })),
            "invalid path",
        ),
    ];
    for (machine, expected) in cases {
        let error = parse_error(machine.clone());
        assert!(error.contains(expected), "{machine}\n  => {error}");
    }
}

#[test]
fn top_level_timeout_must_be_positive() {
    let mut machine = machine_with(pass_end());
    machine["TimeoutSeconds"] = json!(0);
    assert!(parse_error(machine).contains("TimeoutSeconds must be positive"));
}

#[test]
fn substitutions_replace_placeholders_and_unknown_names_are_errors() {
    let text = r#"{"StartAt": "T", "States": {"T": {
        "Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
        "Parameters": {"FunctionName": "${IntakeFunctionArn}", "Payload": {"table": "${Table}"}},
        "End": true}}}"#;
    let substitutions = HashMap::from([
        (
            "IntakeFunctionArn".to_owned(),
            "arn:aws:lambda:local:0:function:intake".to_owned(),
        ),
        ("Table".to_owned(), "requests".to_owned()),
    ]);
    assert!(Definition::parse(text, &substitutions).is_ok());

    let partial = HashMap::from([("Table".to_owned(), "requests".to_owned())]);
    match Definition::parse(text, &partial) {
        Err(AslError::InvalidDefinition(message)) => {
            assert!(message.contains("${IntakeFunctionArn}"), "{message}")
        }
        other => panic!("expected InvalidDefinition, got {other:?}"),
    }
    let unterminated = Definition::parse(r#"{"StartAt": "${Oops"#, &substitutions);
    assert!(
        matches!(unterminated, Err(AslError::InvalidDefinition(m)) if m.contains("unterminated"))
    );
}

#[tokio::test]
async fn substituted_function_names_reach_the_invoker() {
    let text = r#"{"StartAt": "T", "States": {"T": {
        "Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
        "Parameters": {"FunctionName": "${Fn}", "Payload.$": "$"}, "End": true}}}"#;
    let definition = Definition::parse(
        text,
        &HashMap::from([("Fn".to_owned(), "intake".to_owned())]),
    )
    .unwrap();
    let invoker = RecordingInvoker::echo();
    let (engine, _clock) = engine_with(invoker.clone());
    engine
        .run(
            "m",
            std::sync::Arc::new(definition),
            "subst",
            json!({"x": 1}),
        )
        .await
        .unwrap();
    assert_eq!(
        invoker.calls(),
        vec![("intake".to_owned(), json!({"x": 1}))]
    );
}
