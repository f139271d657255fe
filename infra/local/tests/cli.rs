//! The `provisio-local` binary as a user runs it: tokens, offline ASL runs, and serving on DynamoDB.

// Test code: helpers outside `#[test]` fns may fail the test with expect (clippy.toml only exempts the fns).
#![allow(clippy::unwrap_used, clippy::expect_used)]

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
    for name in provisio_core::names::state_machines::ALL {
        let path = format!(
            "{}/../../statemachines/{name}.asl.json",
            env!("CARGO_MANIFEST_DIR")
        );
        let text = std::fs::read_to_string(&path).unwrap();
        provisio_asl::Definition::parse(&text, &provisio_local::stack::substitutions())
            .unwrap_or_else(|e| panic!("{name}: {e}"));
    }
}

/// `provisio-local --dynamodb-endpoint`: one server process on the port, killed when dropped.
struct Server(std::process::Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Serves on `port`, keeping data in memory or, given an endpoint, in DynamoDB tables there.
fn serve(port: u16, endpoint: Option<&str>) -> Server {
    let mut command = Command::new(env!("CARGO_BIN_EXE_provisio-local"));
    command.args(["--port", &port.to_string()]);
    if let Some(endpoint) = endpoint {
        command.args(["--dynamodb-endpoint", endpoint, "--table-prefix", "cli-"]);
    }
    let child = command
        .env("PROVISIO_DEV_JWT_SECRET", "cli-test-secret")
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("provisio-local starts");
    let mut server = Server(child);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        if let Ok(Some(status)) = server.0.try_wait() {
            panic!("provisio-local exited: {status}");
        }
        assert!(
            std::time::Instant::now() < deadline,
            "server did not listen"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    server
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .unwrap()
        .port()
}

fn token(employee: &str) -> String {
    String::from_utf8(cli(&["token", employee]).stdout)
        .unwrap()
        .trim()
        .to_string()
}

/// Polls `url` until `done` holds for its JSON, or panics after 30 s naming `what`.
async fn wait_for(
    client: &reqwest::Client,
    url: &str,
    token: &str,
    what: &str,
    done: impl Fn(&serde_json::Value) -> bool,
) -> serde_json::Value {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let value = get(client, url, token).await;
        if done(&value) {
            return value;
        }
        assert!(std::time::Instant::now() < deadline, "{what}: {value}");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

async fn get(client: &reqwest::Client, url: &str, token: &str) -> serde_json::Value {
    let resp = client
        .get(url)
        .bearer_auth(token)
        .send()
        .await
        .expect("GET");
    assert_eq!(resp.status(), 200, "GET {url}");
    resp.json().await.expect("JSON")
}

#[tokio::test]
async fn on_dynamodb_the_stack_creates_its_tables_and_keeps_data_across_restarts() {
    let moto = provisio_conformance::moto::Moto::start();
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    // No pooled connections: the server process is replaced mid-test.
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .build()
        .unwrap();
    let token = &token("E013");

    let first = serve(port, Some(&moto.endpoint));
    let submitted: serde_json::Value = client
        .post(format!("{base}/requests"))
        .bearer_auth(token)
        .json(&serde_json::json!({"itemId": "lucidchart"}))
        .send()
        .await
        .expect("submit")
        .json()
        .await
        .expect("JSON");
    let id = submitted["requestId"]
        .as_str()
        .expect("requestId")
        .to_string();
    let url = format!("{base}/requests/{id}");
    wait_for(&client, &url, token, "fulfilled", |r| {
        r["status"] == "FULFILLED"
    })
    .await;
    drop(first);

    let _second = serve(port, Some(&moto.endpoint));
    let request = get(&client, &format!("{base}/requests/{id}"), token).await;
    assert_eq!(
        request["status"], "FULFILLED",
        "the request outlived the process"
    );
    let item = get(&client, &format!("{base}/catalog/lucidchart"), token).await;
    assert_eq!(
        item["version"], 1,
        "the seed is not loaded again over existing data"
    );
}

#[tokio::test]
async fn the_server_runs_the_schedules_when_the_virtual_clock_passes_their_rate() {
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::new();
    let _server = serve(port, None);
    let requester = &token("E013");
    let submitted: serde_json::Value = client
        .post(format!("{base}/requests"))
        .bearer_auth(requester)
        .json(&serde_json::json!({"itemId": "adobe-creative-cloud"}))
        .send()
        .await
        .expect("submit")
        .json()
        .await
        .expect("JSON");
    let url = format!(
        "{base}/requests/{}",
        submitted["requestId"].as_str().unwrap()
    );
    wait_for(&client, &url, requester, "waiting for approval", |r| {
        r["status"] == "PENDING_APPROVAL"
    })
    .await;

    // Past the 48-hour SLA on the virtual clock: the escalation timer reminds, nobody calls it.
    let advanced = client
        .post(format!("{base}/_local/clock/advance"))
        .json(&serde_json::json!({"hours": 49}))
        .send()
        .await
        .expect("advance");
    assert_eq!(advanced.status(), 200);
    wait_for(
        &client,
        &format!("{base}/_local/events"),
        requester,
        "a reminder",
        |e| {
            e["items"]
                .as_array()
                .is_some_and(|items| items.iter().any(|i| i["detailType"] == "ApprovalReminder"))
        },
    )
    .await;
}
