//! Checks of the state machine definitions in statemachines/: the committed `*.asl.json` files are their
//! templates with the named Retry policies expanded (`generate`), every error name is a known one, and every
//! error a task's function can raise is retried or handled as intended (`errors`).
//!
//! Regenerate the definitions after editing a template or a policy:
//! `REGENERATE_ASL=1 cargo test -p provisio-asl --test statemachines`.

// Test code: helpers outside `#[test]` fns may fail the test with expect (clippy.toml only exempts the fns).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod errors;
mod generate;

use std::path::{Path, PathBuf};

use serde_json::Value;

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn read(relative: &str) -> String {
    std::fs::read_to_string(repo_root().join(relative))
        .unwrap_or_else(|e| panic!("read {relative}: {e}"))
}

fn read_json(relative: &str) -> Value {
    serde_json::from_str(&read(relative)).unwrap_or_else(|e| panic!("{relative}: {e}"))
}

/// The state machines of shared/names.json `stateMachines` (their keys name the files).
fn machines() -> Vec<String> {
    let names = read_json("shared/names.json");
    let machines = names["stateMachines"]
        .as_object()
        .expect("names.json stateMachines");
    machines
        .keys()
        .filter(|k| !k.starts_with('$'))
        .cloned()
        .collect()
}

fn definition_path(machine: &str) -> String {
    format!("statemachines/{machine}.asl.json")
}

/// Every state of a definition with its path ("ApprovalStages/AwaitDecision") and the states enclosing it
/// (outermost first): Map item processors and Parallel branches included.
fn states_of(definition: &Value) -> Vec<(String, Vec<Value>, Value)> {
    let mut out = Vec::new();
    walk(definition, "", &[], &mut out);
    out
}

fn walk(
    machine: &Value,
    prefix: &str,
    enclosing: &[Value],
    out: &mut Vec<(String, Vec<Value>, Value)>,
) {
    let Some(states) = machine["States"].as_object() else {
        return;
    };
    for (name, state) in states {
        let path = format!("{prefix}{name}");
        out.push((path.clone(), enclosing.to_vec(), state.clone()));
        let mut inner = enclosing.to_vec();
        inner.push(state.clone());
        for nested in [&state["ItemProcessor"], &state["Iterator"]] {
            walk(nested, &format!("{path}/"), &inner, out);
        }
        for branch in state["Branches"].as_array().into_iter().flatten() {
            walk(branch, &format!("{path}/"), &inner, out);
        }
    }
}
