//! Error names in the definitions, and what happens to each error a task's function can raise: transient ones
//! are retried by the task, and every one is caught (by the task or a Map around it) unless the state is listed
//! in `FAILS_EXECUTION` as failing the execution on purpose.

use std::collections::BTreeSet;

use serde_json::Value;

use crate::{definition_path, machines, read_json, states_of};

/// The errors Step Functions itself names (`States.*`).
const STATES_ERRORS: &[&str] = &[
    "States.ALL",
    "States.TaskFailed",
    "States.Timeout",
    "States.HeartbeatTimeout",
    "States.Runtime",
    "States.Permissions",
    "States.ResultPathMatchFailure",
    "States.ParameterPathFailure",
    "States.BranchFailed",
    "States.NoChoiceMatched",
    "States.IntrinsicFailure",
    "States.ExceedToleratedFailureThreshold",
    "States.ItemReaderFailed",
    "States.ResultWriterFailed",
];

/// What `arn:aws:states:::lambda:invoke` fails with when Lambda itself fails; Step Functions advises retrying them.
const LAMBDA_ERRORS: &[&str] = &[
    "Lambda.ServiceException",
    "Lambda.AWSLambdaException",
    "Lambda.SdkClientException",
    "Lambda.TooManyRequestsException",
];

/// Raised by every Provisio task: a payload of the wrong shape (`invoke_json`), a record it loads that is gone,
/// the store being unavailable or an optimistic write losing a race, and a bug.
const EVERY_TASK: &[&str] = &[
    "Provisio.Validation",
    "Provisio.NotFound",
    "Provisio.StoreUnavailable",
    "Provisio.Conflict",
    "Provisio.Internal",
];

/// Errors a task must retry itself before anything catches them: they pass.
const TRANSIENT: &[&str] = &[
    "Provisio.StoreUnavailable",
    "Provisio.Conflict",
    "Provisio.ConnectorTransient",
];

/// What a task's function raises besides `EVERY_TASK`, by its `${…FunctionArn}` placeholder and payload
/// `action`, from the use case it calls (`provisio_core::usecases::…`).
struct Raises {
    function: &'static str,
    action: Option<&'static str>,
    errors: &'static [&'static str],
}

const RAISES: &[Raises] = &[
    // fulfilment::route: an ineligible beneficiary, a cancelled request.
    Raises {
        function: "EligibilityFunctionArn",
        action: None,
        errors: &["Provisio.NotEligible", "Provisio.Cancelled"],
    },
    // fulfilment::reserve_seats: a full pool (LicenseStore::reserve), a cancelled request.
    Raises {
        function: "LicenseCheckFunctionArn",
        action: Some("reserve"),
        errors: &["Provisio.SeatUnavailable", "Provisio.Cancelled"],
    },
    // fulfilment::commit and fulfilment::close: store errors only.
    Raises {
        function: "LicenseCheckFunctionArn",
        action: Some("commit"),
        errors: &[],
    },
    Raises {
        function: "LicenseCheckFunctionArn",
        action: Some("release"),
        errors: &[],
    },
    // approvals::open_stage: no one can approve the stage, a cancelled request. Its task token is failed by
    // approvals::decide (Rejected), the cancel and offboarding use cases (Cancelled), and the escalation
    // sweep (Expired): see `TOKEN_ERRORS`.
    Raises {
        function: "ApprovalFunctionArn",
        action: None,
        errors: &["Provisio.NoApprover", "Provisio.Cancelled"],
    },
    // fulfilment::provision: the connectors, a cancelled request.
    Raises {
        function: "ProvisioningFunctionArn",
        action: None,
        errors: &[
            "Provisio.Cancelled",
            "Provisio.ConnectorTransient",
            "Provisio.ConnectorPermanent",
        ],
    },
    // fulfilment::deprovision: the connectors.
    Raises {
        function: "DeprovisioningFunctionArn",
        action: None,
        errors: &["Provisio.ConnectorTransient", "Provisio.ConnectorPermanent"],
    },
    // offboarding::check_leaver: the person is not terminated.
    Raises {
        function: "OffboardingFunctionArn",
        action: Some("checkLeaver"),
        errors: &["Provisio.Forbidden"],
    },
    // The other offboarding steps: store errors (Conflict also when a device return is claimed right now).
    Raises {
        function: "OffboardingFunctionArn",
        action: Some("cancelRequests"),
        errors: &[],
    },
    Raises {
        function: "OffboardingFunctionArn",
        action: Some("reassignApprovals"),
        errors: &[],
    },
    Raises {
        function: "OffboardingFunctionArn",
        action: Some("listHoldings"),
        errors: &[],
    },
    Raises {
        function: "OffboardingFunctionArn",
        action: Some("requestDeviceReturns"),
        errors: &[],
    },
    Raises {
        function: "OffboardingFunctionArn",
        action: Some("report"),
        errors: &[],
    },
];

/// What other functions send to a `.waitForTaskToken` task's token (SendTaskFailure).
const TOKEN_ERRORS: &[&str] = &[
    "Provisio.Rejected",
    "Provisio.Cancelled",
    "Provisio.Expired",
];

/// States with no Catch on purpose: their failure fails the execution, which the failed-executions alarm reports.
const FAILS_EXECUTION: &[(&str, &str, &str)] = &[
    (
        "fulfilment",
        "CommitSeat",
        "access is granted by now: a Catch to ReleaseSeat would release its seat",
    ),
    (
        "fulfilment",
        "ReleaseSeat",
        "it is where every other failure goes; nothing is left to hand its own to",
    ),
    (
        "deprovision",
        "Revoke",
        "access that cannot be revoked must be seen, not recorded as done",
    ),
    (
        "offboarding",
        "CheckLeaver",
        "someone not (or no longer) terminated is never offboarded",
    ),
    (
        "offboarding",
        "Report",
        "the report is the offboarding's outcome; without it nothing tells what was left undone",
    ),
];

fn definitions() -> Vec<(String, Value)> {
    machines()
        .into_iter()
        .map(|m| {
            let definition = read_json(&definition_path(&m));
            (m, definition)
        })
        .collect()
}

fn error_equals(handlers: &Value) -> Vec<Vec<String>> {
    handlers
        .as_array()
        .into_iter()
        .flatten()
        .map(|h| {
            h["ErrorEquals"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|e| e.as_str().map(str::to_string))
                .collect()
        })
        .collect()
}

/// Step Functions' matching: the name itself, States.ALL, or States.TaskFailed for anything but a timeout.
fn matches(patterns: &[Vec<String>], error: &str) -> bool {
    patterns.iter().flatten().any(|p| {
        p == error || p == "States.ALL" || (p == "States.TaskFailed" && error != "States.Timeout")
    })
}

fn names_json_errors() -> BTreeSet<String> {
    read_json("shared/names.json")["errors"]
        .as_object()
        .expect("names.json errors")
        .iter()
        .filter(|(k, _)| !k.starts_with('$'))
        .filter_map(|(_, v)| v.as_str().map(str::to_string))
        .collect()
}

/// The errors the Task `state` can fail with, or None for a function/action `RAISES` does not list.
fn raised_by(state: &Value) -> Option<Vec<&'static str>> {
    let parameters = &state["Parameters"];
    let function = parameters["FunctionName"]
        .as_str()?
        .strip_prefix("${")?
        .strip_suffix('}')?;
    let action = parameters["Payload"]["action"].as_str();
    let entry = RAISES
        .iter()
        .find(|r| r.function == function && r.action == action)?;
    let mut errors: Vec<&str> = EVERY_TASK.iter().chain(entry.errors).copied().collect();
    let resource = state["Resource"].as_str().unwrap_or_default();
    if resource.ends_with(".waitForTaskToken") {
        errors.extend(TOKEN_ERRORS);
    }
    if state.get("TimeoutSeconds").is_some() || state.get("TimeoutSecondsPath").is_some() {
        errors.push("States.Timeout");
    }
    Some(errors)
}

#[test]
fn every_error_name_is_a_states_lambda_or_names_json_error() {
    let provisio = names_json_errors();
    let known = |name: &str| {
        STATES_ERRORS.contains(&name) || LAMBDA_ERRORS.contains(&name) || provisio.contains(name)
    };
    let mut unknown = Vec::new();
    for (machine, definition) in definitions() {
        for (path, _, state) in states_of(&definition) {
            let handlers = error_equals(&state["Retry"])
                .into_iter()
                .chain(error_equals(&state["Catch"]));
            let fail = state["Error"].as_str().map(|e| vec![e.to_string()]);
            for name in handlers.chain(fail).flatten() {
                if !known(&name) {
                    unknown.push(format!("{machine} {path}: {name}"));
                }
            }
        }
    }
    assert!(
        unknown.is_empty(),
        "not in shared/names.json errors: {unknown:#?}"
    );
    for name in RAISES
        .iter()
        .flat_map(|r| r.errors)
        .chain(EVERY_TASK)
        .chain(TRANSIENT)
        .chain(TOKEN_ERRORS)
    {
        assert!(
            provisio.contains(*name),
            "{name} (in this test's tables) is not in names.json errors"
        );
    }
}

/// A Task state with the errors it can raise and the Catch lists that apply to it (its own, then those of the
/// Map and Parallel states around it, innermost first).
struct Task {
    machine: String,
    path: String,
    state: Value,
    errors: Vec<&'static str>,
    catches: Vec<Vec<String>>,
}

fn tasks() -> Vec<Task> {
    let mut out = Vec::new();
    let mut unlisted = Vec::new();
    for (machine, definition) in definitions() {
        for (path, enclosing, state) in states_of(&definition) {
            if state["Type"] != "Task" {
                continue;
            }
            let Some(errors) = raised_by(&state) else {
                unlisted.push(format!("{machine} {path}: {}", state["Parameters"]));
                continue;
            };
            let catches = std::iter::once(&state)
                .chain(enclosing.iter().rev())
                .flat_map(|s| error_equals(&s["Catch"]))
                .collect();
            out.push(Task {
                machine: machine.clone(),
                path,
                state,
                errors,
                catches,
            });
        }
    }
    assert!(
        unlisted.is_empty(),
        "tasks whose function or action RAISES does not list (add what it can raise): {unlisted:#?}"
    );
    out
}

#[test]
fn every_task_retries_its_transient_errors_and_the_lambda_service_errors() {
    let mut missing = Vec::new();
    for Task {
        machine,
        path,
        state,
        errors,
        ..
    } in tasks()
    {
        let retry = error_equals(&state["Retry"]);
        let invokes_lambda = state["Resource"]
            .as_str()
            .is_some_and(|r| r.starts_with("arn:aws:states:::lambda:invoke"));
        let lambda: &[&str] = if invokes_lambda { LAMBDA_ERRORS } else { &[] };
        let must: Vec<&str> = errors
            .iter()
            .filter(|e| TRANSIENT.contains(e))
            .chain(lambda)
            .copied()
            .collect();
        for error in must {
            if !matches(&retry, error) {
                missing.push(format!("{machine} {path}: {error}"));
            }
        }
    }
    assert!(missing.is_empty(), "not retried: {missing:#?}");
}

#[test]
fn every_error_a_task_raises_is_caught_unless_it_fails_the_execution_on_purpose() {
    let mut uncaught = Vec::new();
    let mut deliberate_but_caught = Vec::new();
    for Task {
        machine,
        path,
        errors,
        catches,
        ..
    } in tasks()
    {
        let on_purpose = FAILS_EXECUTION
            .iter()
            .any(|(m, state, _)| *m == machine && *state == path);
        let escaping: Vec<&str> = errors
            .into_iter()
            .filter(|e| !matches(&catches, e))
            .collect();
        match (on_purpose, escaping.is_empty()) {
            (false, false) => uncaught.push(format!("{machine} {path}: {escaping:?}")),
            (true, true) => deliberate_but_caught.push(format!("{machine} {path}")),
            _ => {}
        }
    }
    assert!(
        uncaught.is_empty(),
        "errors that fail the execution, from states not in FAILS_EXECUTION: {uncaught:#?}"
    );
    assert!(
        deliberate_but_caught.is_empty(),
        "in FAILS_EXECUTION but every error is caught (remove them there): {deliberate_but_caught:#?}"
    );
}

#[test]
fn every_state_that_fails_the_execution_on_purpose_exists() {
    let tasks = tasks();
    for (machine, state, why) in FAILS_EXECUTION {
        assert!(
            tasks
                .iter()
                .any(|t| t.machine == *machine && t.path == *state),
            "FAILS_EXECUTION names {machine} {state} ({why}), which is not a Task"
        );
    }
}
