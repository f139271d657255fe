//! The `provisio-local` binary as a user runs it: tokens, offline ASL runs, and serving on DynamoDB.

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

/// `provisio-local --dynamodb-endpoint`: one server process on the port, killed when dropped.
struct Server(std::process::Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn serve(port: u16, endpoint: &str) -> Server {
    let child = Command::new(env!("CARGO_BIN_EXE_provisio-local"))
        .args(["--port", &port.to_string(), "--dynamodb-endpoint", endpoint])
        .args(["--table-prefix", "cli-"])
        .env("PROVISIO_DEV_JWT_SECRET", "cli-test-secret")
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("provisio-local starts");
    Server(child)
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
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .unwrap()
        .port();
    let base = format!("http://127.0.0.1:{port}");
    // No pooled connections: the server process is replaced mid-test.
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .build()
        .unwrap();
    let token = String::from_utf8(cli(&["token", "E013"]).stdout).unwrap();
    let token = token.trim();
    let up = |server: &mut Server| {
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
    };

    let mut first = serve(port, &moto.endpoint);
    up(&mut first);
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
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while get(&client, &format!("{base}/requests/{id}"), token).await["status"] != "FULFILLED" {
        assert!(
            std::time::Instant::now() < deadline,
            "request not fulfilled"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    drop(first);

    let mut second = serve(port, &moto.endpoint);
    up(&mut second);
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
