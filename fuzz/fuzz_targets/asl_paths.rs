//! JSONPath, reference paths, payload templates and intrinsic functions as the ASL interpreter loads and runs
//! them: the input is used as a `Parameters` value (`"v.$": input`, or the whole template when it is a JSON
//! object), an InputPath, a ResultPath and a Choice variable, each in its own one-state machine run on a fixed
//! execution input.
#![no_main]

use std::collections::HashMap;
use std::sync::{Arc, LazyLock};

use libfuzzer_sys::fuzz_target;
use provisio_asl::{Definition, Engine, SystemClock, TaskFailure, TaskInvoker, Value};
use serde_json::json;

/// The machines have no Task state; this is never called.
struct NoTasks;

#[async_trait::async_trait]
impl TaskInvoker for NoTasks {
    async fn invoke(&self, _function: &str, payload: Value) -> Result<Value, TaskFailure> {
        Ok(payload)
    }
}

static RUNTIME: LazyLock<tokio::runtime::Runtime> = LazyLock::new(|| {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
});

/// An execution input shaped like the request workflow's.
static INPUT: LazyLock<Value> = LazyLock::new(|| {
    json!({
        "requestId": "req-fixture-1", "itemId": "miro-business", "employeeId": "E031",
        "stages": [{"name": "manager", "approvers": ["E009"], "slaHours": 48}],
        "seat": {"poolId": "miro", "reserved": true}, "durationHours": 8, "tags": ["a", "b", "a"],
        "note": "{\"k\":[1,2]}", "empty": {}, "nothing": null, "ratio": 0.5, "flag": true,
        "odd-key": {"x y": 1}
    })
});

fn machines(text: &str) -> Vec<Value> {
    let end = |mut state: Value| {
        state["End"] = json!(true);
        state
    };
    let template = match serde_json::from_str::<Value>(text) {
        Ok(object @ Value::Object(_)) => object,
        _ => json!({ "v.$": text }),
    };
    [
        end(json!({"Type": "Pass", "Parameters": template})),
        end(json!({"Type": "Pass", "InputPath": text})),
        end(json!({"Type": "Pass", "Result": {"x": 1}, "ResultPath": text})),
        end(json!({"Type": "Pass", "OutputPath": text})),
        json!({"Type": "Choice", "Choices": [{"Variable": text, "IsPresent": true, "Next": "Done"}],
            "Default": "Done"}),
    ]
    .into_iter()
    .map(|state| json!({"StartAt": "S", "States": {"S": state, "Done": {"Type": "Succeed"}}}))
    .collect()
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    for machine in machines(text) {
        // `${Name}` is a deployment substitution; keep the input's own `${` literal.
        let json = machine.to_string().replace("${", "$\\u007b");
        let Ok(definition) = Definition::parse(&json, &HashMap::new()) else {
            continue;
        };
        let engine = Engine::new(Arc::new(NoTasks), Arc::new(SystemClock));
        let _ = RUNTIME.block_on(engine.run("fuzz", Arc::new(definition), "run", INPUT.clone()));
    }
});
