//! The `provisio-local` binary as a user runs it: tokens and offline ASL runs.

use std::process::Command;

fn cli(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_provisio-local"))
        .args(args)
        .env("PROVISIO_DEV_JWT_SECRET", "cli-test-secret")
        .output()
        .expect("provisio-local runs")
}

#[test]
fn token_prints_a_verifiable_bearer_token() {
    let out = cli(&[
        "token",
        "E013",
        "--groups",
        "provisio-admins,provisio-auditors",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let token = String::from_utf8(out.stdout).unwrap();
    let auth = provisio_local::auth::DevAuth::new("cli-test-secret");
    let caller = auth
        .caller(Some(&format!("Bearer {}", token.trim())))
        .unwrap()
        .unwrap();
    assert_eq!(caller.employee_id, "E013");
    assert!(caller.is_admin() && caller.is_auditor());
}

#[test]
fn asl_run_executes_a_definition_and_prints_its_output() {
    let dir = std::env::temp_dir().join(format!("provisio-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("greet.asl.json");
    std::fs::write(
        &file,
        r#"{"StartAt": "Greet", "States": {"Greet": {"Type": "Pass",
            "Parameters": {"greeting.$": "States.Format('hello {}', $.name)"}, "End": true}}}"#,
    )
    .unwrap();
    let out = cli(&[
        "asl",
        "run",
        file.to_str().unwrap(),
        "--input",
        r#"{"name": "Provisio"}"#,
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let printed: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(printed["status"], "SUCCEEDED");
    assert_eq!(printed["output"]["greeting"], "hello Provisio");

    let bad = cli(&["asl", "run", file.to_str().unwrap(), "--input", "not json"]);
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("--input is not JSON"));
}

#[test]
fn the_shipped_state_machines_parse_with_the_local_substitutions() {
    for name in ["fulfilment", "deprovision"] {
        let path = format!(
            "{}/../../statemachines/{name}.asl.json",
            env!("CARGO_MANIFEST_DIR")
        );
        let text = std::fs::read_to_string(&path).unwrap();
        provisio_asl::Definition::parse(&text, &provisio_local::stack::substitutions())
            .unwrap_or_else(|e| panic!("{name}: {e}"));
    }
}
