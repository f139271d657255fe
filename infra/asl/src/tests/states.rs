//! Pass, Wait, Succeed, Fail, Parallel and Map states, input/output processing and context.

use chrono::TimeDelta;
use serde_json::json;

use super::support::*;
use crate::{ExecutionStatus, TaskFailure};

#[tokio::test]
async fn pass_result_is_placed_at_result_path() {
    let machine = json!({
        "StartAt": "P",
        "States": { "P": { "Type": "Pass", "Result": {"x": 1}, "ResultPath": "$.r.s", "End": true } }
    });
    let done = run(machine, json!({"keep": true})).await;
    assert_eq!(done.status, ExecutionStatus::Succeeded);
    assert_eq!(
        done.output,
        Some(json!({"keep": true, "r": {"s": {"x": 1}}}))
    );
}

#[tokio::test]
async fn null_input_path_gives_empty_object_and_null_result_path_discards() {
    let machine = json!({
        "StartAt": "A",
        "States": {
            "A": { "Type": "Pass", "InputPath": null, "ResultPath": "$.seen", "Next": "B" },
            "B": { "Type": "Pass", "Result": "ignored", "ResultPath": null, "End": true }
        }
    });
    assert_eq!(
        run(machine, json!({"a": 1})).await.output,
        Some(json!({"a": 1, "seen": {}}))
    );
}

#[tokio::test]
async fn null_output_path_gives_empty_object() {
    let machine = json!({
        "StartAt": "A",
        "States": { "A": { "Type": "Pass", "OutputPath": null, "End": true } }
    });
    assert_eq!(run(machine, json!({"a": 1})).await.output, Some(json!({})));
}

#[tokio::test]
async fn processing_order_is_input_path_parameters_selector_result_path_output_path() {
    let invoker = RecordingInvoker::new(|_, payload| {
        Ok(json!({ "sum": payload["x"].as_i64().unwrap() + 1, "noise": "drop me" }))
    });
    let (engine, _clock) = engine_with(invoker.clone());
    let machine = json!({
        "StartAt": "T",
        "States": { "T": {
            "Type": "Task",
            "Resource": "arn:aws:lambda:us-east-1:000000000000:function:adder",
            "InputPath": "$.inner",
            "Parameters": { "x.$": "$.value", "fixed": "yes" },
            "ResultSelector": { "total.$": "$.sum" },
            "ResultPath": "$.inner.result",
            "OutputPath": "$.inner",
            "End": true
        }}
    });
    let done = run_on(
        &engine,
        machine,
        json!({"inner": {"value": 41}, "outer": 0}),
    )
    .await;
    assert_eq!(
        invoker.calls(),
        vec![(
            "arn:aws:lambda:us-east-1:000000000000:function:adder".to_owned(),
            json!({"x": 41, "fixed": "yes"})
        )]
    );
    // ResultPath writes into the raw input (not the InputPath selection), then OutputPath picks.
    assert_eq!(
        done.output,
        Some(json!({"value": 41, "result": {"total": 42}}))
    );
}

#[tokio::test]
async fn parameters_expose_the_context_object() {
    let machine = json!({
        "StartAt": "Ctx",
        "States": { "Ctx": {
            "Type": "Pass",
            "Parameters": {
                "id.$": "$$.Execution.Id",
                "name.$": "$$.Execution.Name",
                "input.$": "$$.Execution.Input",
                "start.$": "$$.Execution.StartTime",
                "state.$": "$$.State.Name",
                "entered.$": "$$.State.EnteredTime",
                "retries.$": "$$.State.RetryCount",
                "machine.$": "$$.StateMachine.Name",
                "machineId.$": "$$.StateMachine.Id",
                "nested": { "deep.$": "$.a", "list": [1, {"v.$": "$.a"}] }
            },
            "End": true
        }}
    });
    let (engine, _clock) = engine_with(RecordingInvoker::echo());
    let done = engine
        .run("orders", definition(machine), "exec-ctx", json!({"a": 7}))
        .await
        .unwrap();
    let output = done.output.unwrap();
    assert_eq!(
        output["id"],
        "arn:aws:states:us-east-1:000000000000:execution:orders:exec-ctx"
    );
    assert_eq!(output["name"], "exec-ctx");
    assert_eq!(output["input"], json!({"a": 7}));
    assert_eq!(output["start"], "2024-01-01T00:00:00.000Z");
    assert_eq!(output["state"], "Ctx");
    assert_eq!(output["entered"], "2024-01-01T00:00:00.000Z");
    assert_eq!(output["retries"], 0);
    assert_eq!(output["machine"], "orders");
    assert_eq!(
        output["machineId"],
        "arn:aws:states:us-east-1:000000000000:stateMachine:orders"
    );
    assert_eq!(output["nested"], json!({"deep": 7, "list": [1, {"v": 7}]}));
}

#[tokio::test]
async fn missing_path_fails_the_execution_with_states_runtime() {
    let done = run(pass_machine(json!({"x.$": "$.missing"})), json!({})).await;
    assert_eq!(done.status, ExecutionStatus::Failed);
    assert_eq!(done.error.as_deref(), Some("States.Runtime"));
    assert!(done.cause.unwrap().contains("$.missing"));
}

#[tokio::test]
async fn non_reference_paths_select_lists() {
    let done = run(
        pass_machine(json!({"ids.$": "$.items[*].id"})),
        json!({"items": [{"id": "a"}, {"id": "b"}]}),
    )
    .await;
    assert_eq!(done.output, Some(json!({"ids": ["a", "b"]})));
}

#[tokio::test]
async fn wait_seconds_sleeps_on_the_clock() {
    let (engine, clock) = engine_with(RecordingInvoker::echo());
    let machine = json!({
        "StartAt": "W",
        "States": {
            "W": { "Type": "Wait", "Seconds": 30, "Next": "After" },
            "After": { "Type": "Pass", "Parameters": { "t.$": "$$.State.EnteredTime" }, "End": true }
        }
    });
    engine
        .start_execution("m", definition(machine), "wait-1", json!({}))
        .unwrap();
    assert_eq!(clock.advance_to_next().await, TimeDelta::seconds(30));
    let done = engine.wait_for("wait-1").await.unwrap();
    assert_eq!(done.output, Some(json!({"t": "2024-01-01T00:00:30.000Z"})));
}

#[tokio::test]
async fn wait_reads_seconds_and_timestamps_from_paths() {
    let cases = [
        (json!({"SecondsPath": "$.s"}), json!({"s": 5}), 5),
        (json!({"Timestamp": "2024-01-01T00:01:00Z"}), json!({}), 60),
        (
            json!({"TimestampPath": "$.at"}),
            json!({"at": "2024-01-01T01:00:00+00:00"}),
            3600,
        ),
    ];
    for (fields, input, expected_seconds) in cases {
        let (engine, clock) = engine_with(RecordingInvoker::echo());
        let mut wait = json!({"Type": "Wait", "End": true});
        wait.as_object_mut()
            .unwrap()
            .extend(fields.as_object().unwrap().clone());
        let machine = json!({"StartAt": "W", "States": {"W": wait}});
        let name = unique_name();
        engine
            .start_execution("m", definition(machine), &name, input.clone())
            .unwrap();
        assert_eq!(
            clock.advance_to_next().await,
            TimeDelta::seconds(expected_seconds)
        );
        let done = engine.wait_for(&name).await.unwrap();
        assert_eq!(done.output, Some(input));
    }
}

#[tokio::test]
async fn wait_with_a_bad_timestamp_fails_at_run_time() {
    let machine = json!({
        "StartAt": "W",
        "States": { "W": { "Type": "Wait", "TimestampPath": "$.at", "End": true } }
    });
    let done = run(machine, json!({"at": "tomorrow"})).await;
    assert_eq!(done.error.as_deref(), Some("States.Runtime"));
}

#[tokio::test]
async fn succeed_ends_the_execution_with_filtered_input() {
    let machine = json!({
        "StartAt": "Done",
        "States": { "Done": { "Type": "Succeed", "InputPath": "$.keep" } }
    });
    let done = run(machine, json!({"keep": {"k": 1}, "drop": 2})).await;
    assert_eq!(done.status, ExecutionStatus::Succeeded);
    assert_eq!(done.output, Some(json!({"k": 1})));
}

#[tokio::test]
async fn fail_reports_literal_or_path_error_and_cause() {
    let literal = json!({
        "StartAt": "F",
        "States": { "F": { "Type": "Fail", "Error": "Denied", "Cause": "policy says no" } }
    });
    let done = run(literal, json!({})).await;
    assert_eq!(done.status, ExecutionStatus::Failed);
    assert_eq!(outcome(&done), Err("Denied: policy says no".to_owned()));

    let by_path = json!({
        "StartAt": "F",
        "States": { "F": {
            "Type": "Fail",
            "ErrorPath": "$.code",
            "CausePath": "States.Format('user {} denied', $.user)"
        } }
    });
    let done = run(by_path, json!({"code": "E42", "user": "ada"})).await;
    assert_eq!(outcome(&done), Err("E42: user ada denied".to_owned()));
}

#[tokio::test]
async fn parallel_collects_branch_results_in_branch_order() {
    let machine = json!({
        "StartAt": "Both",
        "States": { "Both": {
            "Type": "Parallel",
            "Parameters": { "n.$": "$.n" },
            "Branches": [
                { "StartAt": "Slow", "States": {
                    "Slow": { "Type": "Wait", "Seconds": 10, "Next": "One" },
                    "One": { "Type": "Pass", "Parameters": { "branch": 1, "n.$": "$.n" }, "End": true }
                }},
                { "StartAt": "Two", "States": {
                    "Two": { "Type": "Pass", "Result": "second", "End": true }
                }}
            ],
            "ResultPath": "$.results",
            "End": true
        }}
    });
    let (engine, clock) = engine_with(RecordingInvoker::echo());
    engine
        .start_execution("m", definition(machine), "par", json!({"n": 3}))
        .unwrap();
    clock.advance_to_next().await;
    let done = engine.wait_for("par").await.unwrap();
    assert_eq!(
        done.output,
        Some(json!({"n": 3, "results": [{"branch": 1, "n": 3}, "second"]}))
    );
}

#[tokio::test]
async fn parallel_fails_when_a_branch_fails() {
    let machine = json!({
        "StartAt": "Both",
        "States": { "Both": {
            "Type": "Parallel",
            "Branches": [
                { "StartAt": "Ok", "States": { "Ok": { "Type": "Pass", "End": true } } },
                { "StartAt": "Boom", "States": { "Boom": { "Type": "Fail", "Error": "Branch.Broke", "Cause": "b2" } } }
            ],
            "End": true
        }}
    });
    let done = run(machine, json!({})).await;
    assert_eq!(outcome(&done), Err("Branch.Broke: b2".to_owned()));
}

fn map_machine(max_concurrency: u64) -> serde_json::Value {
    json!({
        "StartAt": "Each",
        "States": { "Each": {
            "Type": "Map",
            "ItemsPath": "$.items",
            "MaxConcurrency": max_concurrency,
            "ItemSelector": {
                "index.$": "$$.Map.Item.Index",
                "value.$": "$$.Map.Item.Value",
                "tenant.$": "$.tenant"
            },
            "ItemProcessor": {
                "ProcessorConfig": { "Mode": "INLINE" },
                "StartAt": "Call",
                "States": { "Call": {
                    "Type": "Task",
                    "Resource": "arn:aws:states:::lambda:invoke",
                    "Parameters": { "FunctionName": "worker", "Payload.$": "$" },
                    "OutputPath": "$.Payload",
                    "End": true
                }}
            },
            "ResultPath": "$.results",
            "End": true
        }}
    })
}

#[tokio::test]
async fn map_with_max_concurrency_one_runs_items_sequentially_in_order() {
    let invoker = RecordingInvoker::echo();
    let (engine, _clock) = engine_with(invoker.clone());
    let input = json!({"items": ["a", "b", "c", "d"], "tenant": "t1"});
    let done = run_on(&engine, map_machine(1), input).await;
    let seen: Vec<_> = invoker
        .calls()
        .into_iter()
        .map(|(_, p)| p["value"].clone())
        .collect();
    assert_eq!(seen, vec![json!("a"), json!("b"), json!("c"), json!("d")]);
    assert_eq!(invoker.max_in_flight(), 1);
    let results = &done.output.unwrap()["results"];
    assert_eq!(
        results[2],
        json!({"index": 2, "value": "c", "tenant": "t1"})
    );
    assert_eq!(results.as_array().unwrap().len(), 4);
}

#[tokio::test]
async fn map_with_max_concurrency_zero_overlaps_iterations_but_keeps_result_order() {
    let invoker = RecordingInvoker::echo();
    let (engine, _clock) = engine_with(invoker.clone());
    let input = json!({"items": [10, 20, 30], "tenant": "t"});
    let done = run_on(&engine, map_machine(0), input).await;
    assert!(invoker.max_in_flight() > 1, "iterations should overlap");
    let values: Vec<_> = done.output.unwrap()["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["value"].clone())
        .collect();
    assert_eq!(values, vec![json!(10), json!(20), json!(30)]);
}

#[tokio::test]
async fn map_iteration_failure_fails_the_map_and_stops_later_items() {
    let invoker = RecordingInvoker::new(|_, payload| match payload["value"].as_str() {
        Some("bad") => Err(TaskFailure::new("Item.Invalid", "bad item")),
        _ => Ok(payload.clone()),
    });
    let (engine, _clock) = engine_with(invoker.clone());
    let input = json!({"items": ["ok", "bad", "never"], "tenant": "t"});
    let done = run_on(&engine, map_machine(1), input).await;
    assert_eq!(outcome(&done), Err("Item.Invalid: bad item".to_owned()));
    assert_eq!(invoker.calls().len(), 2);
}

#[tokio::test]
async fn map_accepts_legacy_iterator_and_parameters() {
    let machine = json!({
        "StartAt": "Each",
        "States": { "Each": {
            "Type": "Map",
            "Parameters": { "i.$": "$$.Map.Item.Index", "v.$": "$$.Map.Item.Value" },
            "Iterator": { "StartAt": "Id", "States": { "Id": { "Type": "Pass", "End": true } } },
            "End": true
        }}
    });
    let done = run(machine, json!(["x", "y"])).await;
    assert_eq!(
        done.output,
        Some(json!([{"i": 0, "v": "x"}, {"i": 1, "v": "y"}]))
    );
}

#[tokio::test]
async fn map_over_a_non_array_is_a_runtime_error() {
    let machine = json!({
        "StartAt": "Each",
        "States": { "Each": {
            "Type": "Map",
            "ItemsPath": "$.items",
            "ItemProcessor": { "StartAt": "Id", "States": { "Id": { "Type": "Pass", "End": true } } },
            "End": true
        }}
    });
    let done = run(machine, json!({"items": {"not": "a list"}})).await;
    assert_eq!(done.error.as_deref(), Some("States.Runtime"));
}

#[tokio::test]
async fn history_records_states_with_inputs_and_outputs() {
    let (engine, _clock) = engine_with(RecordingInvoker::echo());
    let machine = json!({
        "StartAt": "A",
        "States": {
            "A": { "Type": "Pass", "Result": 1, "Next": "B" },
            "B": { "Type": "Succeed" }
        }
    });
    engine
        .run("m", definition(machine), "hist", json!({"in": true}))
        .await
        .unwrap();
    assert_eq!(
        event_types(&engine, "hist"),
        vec![
            "ExecutionStarted",
            "PassStateEntered",
            "PassStateExited",
            "SucceedStateEntered",
            "SucceedStateExited",
            "ExecutionSucceeded"
        ]
    );
    let history = engine.history("hist").unwrap();
    assert_eq!(history[1].details, json!({"input": {"in": true}}));
    assert_eq!(history[2].state_name.as_deref(), Some("A"));
    assert_eq!(history[2].details, json!({"output": 1}));
    let ids: Vec<u64> = history.iter().map(|e| e.id).collect();
    assert_eq!(ids, vec![1, 2, 3, 4, 5, 6]);
}

#[tokio::test]
async fn a_catch_inside_a_map_iteration_turns_its_failure_into_its_result() {
    // The offboarding Map: one holding's failure is recorded and the other holdings still run.
    let invoker = RecordingInvoker::new(|_, payload| match payload["id"].as_str() {
        Some("bad") => Err(TaskFailure::new("Item.Invalid", "bad item")),
        _ => Ok(json!({"id": payload["id"], "status": "DONE"})),
    });
    let (engine, _clock) = engine_with(invoker.clone());
    let machine = json!({
        "StartAt": "Each",
        "States": { "Each": {
            "Type": "Map",
            "ItemsPath": "$.items",
            "MaxConcurrency": 2,
            "ItemSelector": { "id.$": "$$.Map.Item.Value" },
            "ItemProcessor": {
                "StartAt": "Call",
                "States": {
                    "Call": {
                        "Type": "Task",
                        "Resource": "arn:aws:states:::lambda:invoke",
                        "Parameters": { "FunctionName": "worker", "Payload": { "id.$": "$.id", "source": null } },
                        "ResultSelector": { "id.$": "$.Payload.id", "status.$": "$.Payload.status" },
                        "Catch": [{ "ErrorEquals": ["States.ALL"], "ResultPath": "$.failure", "Next": "Record" }],
                        "End": true
                    },
                    "Record": { "Type": "Pass", "End": true }
                }
            },
            "ResultPath": "$.results",
            "End": true
        }}
    });
    let done = run_on(&engine, machine, json!({"items": ["a", "bad", "c"]})).await;
    assert_eq!(done.status, ExecutionStatus::Succeeded);
    assert_eq!(
        done.output.unwrap()["results"],
        json!([
            {"id": "a", "status": "DONE"},
            {"id": "bad", "failure": {"Error": "Item.Invalid", "Cause": "bad item"}},
            {"id": "c", "status": "DONE"}
        ])
    );
    assert_eq!(invoker.calls().len(), 3, "every item ran");
    assert!(
        invoker
            .calls()
            .iter()
            .all(|(_, p)| p["source"].is_null() && p.get("source").is_some()),
        "a null literal in Parameters is passed as null"
    );
}

#[tokio::test]
async fn result_path_into_an_existing_object_keeps_its_other_fields() {
    // The offboarding collects each failed step under $.failures.<step>: two caught failures, one object.
    let invoker = RecordingInvoker::new(|function, _| {
        Err(TaskFailure::new(format!("{function}.Broke"), "down"))
    });
    let (engine, _clock) = engine_with(invoker);
    let task = |function: &str, next: &str| {
        json!({
            "Type": "Task",
            "Resource": "arn:aws:states:::lambda:invoke",
            "Parameters": { "FunctionName": function, "Payload": {} },
            "Catch": [{ "ErrorEquals": ["States.ALL"], "ResultPath": format!("$.failures.{function}"), "Next": next }],
            "Next": next
        })
    };
    let machine = json!({
        "StartAt": "One",
        "States": {
            "One": task("one", "Two"),
            "Two": task("two", "Done"),
            "Done": { "Type": "Succeed" }
        }
    });
    let done = run_on(&engine, machine, json!({"failures": {}, "keep": 1})).await;
    assert_eq!(
        done.output,
        Some(json!({
            "keep": 1,
            "failures": {
                "one": {"Error": "one.Broke", "Cause": "down"},
                "two": {"Error": "two.Broke", "Cause": "down"}
            }
        }))
    );
}

#[tokio::test]
async fn a_choice_loop_counts_its_rounds_with_math_add() {
    // The offboarding's wait for requests in flight: at most N rounds, counted in the state.
    let machine = json!({
        "StartAt": "Again",
        "States": {
            "Again": {
                "Type": "Choice",
                "Choices": [{
                    "And": [
                        { "Variable": "$.done", "BooleanEquals": false },
                        { "Variable": "$.round.n", "NumericLessThan": 3 }
                    ],
                    "Next": "Count"
                }],
                "Default": "Stop"
            },
            "Count": {
                "Type": "Pass",
                "Parameters": { "n.$": "States.MathAdd($.round.n, 1)" },
                "ResultPath": "$.round",
                "Next": "Again"
            },
            "Stop": { "Type": "Succeed" }
        }
    });
    let done = run(machine.clone(), json!({"done": false, "round": {"n": 0}})).await;
    assert_eq!(done.output, Some(json!({"done": false, "round": {"n": 3}})));
    let done = run(machine, json!({"done": true, "round": {"n": 0}})).await;
    assert_eq!(done.output, Some(json!({"done": true, "round": {"n": 0}})));
}
