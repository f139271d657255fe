//! SCIM 2.0 at /scim/v2 as identity providers use it: the scim2-tester conformance suite (RFC 7643/7644) finds
//! no error, and Users drive the identity lifecycle (a new User is a joiner, `active: false` a leaver).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;

use provisio_tests::{Reply, SCIM_TOKEN, Stack};
use serde_json::{Value, json};

const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
const ERROR: &str = "urn:ietf:params:scim:api:messages:2.0:Error";

/// The scim2-tester versions this suite was checked with, installed when `scim2` is not on the PATH.
const SCIM2_PACKAGES: &[&str] = &["scim2-cli==0.6.0", "scim2-tester==0.5.2"];

/// The `scim2` command: the one on the PATH, else one installed with pip into a virtualenv under the target
/// directory. A virtualenv rather than `pip install --user`: scim2-cli's dependencies (docutils, click) would
/// replace the versions other Python tools on the machine (awscli) need.
fn scim2() -> &'static Path {
    static CLI: OnceLock<PathBuf> = OnceLock::new();
    CLI.get_or_init(|| {
        let runs = |cli: &Path| {
            Command::new(cli)
                .arg("--help")
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .is_ok_and(|s| s.success())
        };
        if runs(Path::new("scim2")) {
            return PathBuf::from("scim2");
        }
        let venv = Path::new(env!("CARGO_TARGET_TMPDIR")).join("scim2-venv");
        let cli = venv.join("bin").join("scim2");
        // A virtualenv's scripts name its interpreter by absolute path: one moved with its target directory
        // no longer runs, so it is made again.
        if !runs(&cli) {
            if venv.exists() {
                std::fs::remove_dir_all(&venv).expect("remove the broken scim2 virtualenv");
            }
            let created = Command::new("python3")
                .args(["-m", "venv"])
                .arg(&venv)
                .status()
                .expect("run python3 -m venv");
            assert!(
                created.success(),
                "python3 -m venv {} failed",
                venv.display()
            );
            let installed = Command::new(venv.join("bin").join("python"))
                .args(["-m", "pip", "install", "--quiet"])
                .args(SCIM2_PACKAGES)
                .status()
                .expect("run pip to install scim2-cli");
            assert!(
                installed.success(),
                "pip install {} failed",
                SCIM2_PACKAGES.join(" ")
            );
        }
        cli
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_scim2_tester_finds_no_error() {
    let s = Stack::start().await;
    let cli = scim2();
    let url = format!("{}/scim/v2", s.base);
    // Blocking: the stack serves on this runtime's other worker meanwhile.
    let output = tokio::task::spawn_blocking(move || {
        Command::new(cli)
            .args(["--url", &url, "test"])
            .env(
                "SCIM_CLI_HEADERS",
                format!("Authorization: Bearer {SCIM_TOKEN}"),
            )
            .output()
            .expect("run scim2 test")
    })
    .await
    .expect("scim2 test thread");
    let report = without_colors(&String::from_utf8_lossy(&output.stdout));
    println!("{report}");
    eprintln!("{}", String::from_utf8_lossy(&output.stderr));
    // It exits 1 for anything short of SUCCESS (a DEVIATION too): the levels below decide.
    println!("scim2 test exited with {}", output.status);

    // Each check is a line `LEVEL check_name`, its detail indented below.
    let levels: Vec<&str> = report
        .lines()
        .filter(|l| !l.starts_with(' '))
        .filter_map(|l| l.split_whitespace().next())
        .filter(|w| w.chars().all(|c| c.is_ascii_uppercase()))
        .collect();
    let count = |level: &str| levels.iter().filter(|l| **l == level).count();
    println!(
        "scim2 test: {} SUCCESS, {} COMPLIANT, {} ACCEPTABLE, {} DEVIATION, {} SKIPPED, {} ERROR, {} CRITICAL",
        count("SUCCESS"),
        count("COMPLIANT"),
        count("ACCEPTABLE"),
        count("DEVIATION"),
        count("SKIPPED"),
        count("ERROR"),
        count("CRITICAL"),
    );
    let failed: Vec<&str> = report
        .lines()
        .filter(|l| l.starts_with("ERROR") || l.starts_with("CRITICAL"))
        .collect();
    assert!(failed.is_empty(), "scim2 test failed: {failed:#?}");
    // A run that could not reach the server or discover the Users has few checks: that is no pass.
    assert!(
        count("SUCCESS") >= 90,
        "scim2 test ran only {} successful checks",
        count("SUCCESS")
    );
}

/// `text` without ANSI colour sequences (click colours the levels when it thinks it writes to a terminal).
fn without_colors(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            // ESC [ parameters, up to the final letter.
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// A SCIM call with the identity provider's token.
async fn scim(s: &Stack, method: &str, path: &str, body: Option<Value>) -> Reply {
    let body = body.map(|b| b.to_string());
    s.send(
        method,
        &format!("/scim/v2{path}"),
        Some(SCIM_TOKEN),
        body.as_deref().map(str::as_bytes),
        &[],
    )
    .await
}

/// `text` as a query parameter value.
fn encoded(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn user(user_name: &str, employee_number: &str, department: &str) -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", ENTERPRISE],
        "userName": user_name,
        "externalId": format!("okta-{employee_number}"),
        "name": {"givenName": "Grace", "familyName": "Hopper"},
        "title": "Engineer",
        "active": true,
        "emails": [
            {"value": format!("{employee_number}@home.example"), "type": "home"},
            {"value": format!("{employee_number}@example.com"), "type": "work", "primary": true}
        ],
        "addresses": [{"type": "work", "country": "DE", "locality": "Berlin"}],
        ENTERPRISE: {
            "employeeNumber": employee_number,
            "department": department,
            "costCenter": "CC-100",
            "manager": {"value": "E002"}
        }
    })
}

async fn create(s: &Stack, body: Value) -> Value {
    let r = scim(s, "POST", "/Users", Some(body)).await;
    assert_eq!(r.status, 201, "{:?}", r.body);
    assert_eq!(r.content_type, "application/scim+json");
    r.body
}

fn assert_scim_error(r: &Reply, status: u16, scim_type: Option<&str>) {
    assert_eq!(r.status, status, "{:?}", r.body);
    assert_eq!(r.content_type, "application/scim+json", "{:?}", r.body);
    assert_eq!(r.body["schemas"], json!([ERROR]));
    assert_eq!(r.body["status"], status.to_string());
    assert_eq!(
        r.body.get("scimType").and_then(Value::as_str),
        scim_type,
        "{:?}",
        r.body
    );
}

#[tokio::test]
async fn a_created_user_reads_back_and_becomes_an_identity() {
    let s = Stack::start().await;
    let created = create(&s, user("grace@example.com", "E950", "Engineering")).await;
    assert_eq!(created["id"], "E950", "the employeeNumber is the id");
    assert_eq!(created["meta"]["resourceType"], "User");
    assert_eq!(
        created["meta"]["location"],
        format!("{}/scim/v2/Users/E950", s.base)
    );
    assert!(
        created["meta"]["version"]
            .as_str()
            .unwrap()
            .starts_with("W/\"")
    );
    assert_eq!(created[ENTERPRISE]["manager"]["value"], "E002");

    let read = scim(&s, "GET", "/Users/E950", None).await;
    assert_eq!(read.status, 200);
    assert_eq!(read.body, created);

    let who = s.identity("E950").await;
    assert_eq!(who["status"], "active");
    assert_eq!(who["email"], "E950@example.com", "the primary email");
    assert_eq!(who["displayName"], "Grace Hopper");
    assert_eq!(who["department"], "Engineering");
    assert_eq!(who["jobTitle"], "Engineer");
    assert_eq!(who["costCenter"], "CC-100");
    assert_eq!(who["managerId"], "E002");
    assert_eq!(who["location"], "DE");
    assert_eq!(who["employmentType"], "FTE");
    assert!(
        s.published("EmployeeJoined")
            .await
            .contains(&json!({"employeeId": "E950"}))
    );

    assert_scim_error(&scim(&s, "GET", "/Users/E951", None).await, 404, None);
}

#[tokio::test]
async fn filters_find_users_by_user_name_and_external_id() {
    let s = Stack::start().await;
    create(&s, user("Grace.Hopper@example.com", "E950", "Engineering")).await;
    create(&s, user("ada@example.com", "E951", "Research")).await;
    let find = |filter: &str| {
        let path = format!("/Users?filter={}", encoded(filter));
        let s = s.clone();
        async move { scim(&s, "GET", &path, None).await }
    };

    let by_name = find(r#"userName eq "grace.hopper@EXAMPLE.com""#).await;
    assert_eq!(by_name.status, 200, "{:?}", by_name.body);
    assert_eq!(
        by_name.body["totalResults"], 1,
        "userName is case-insensitive"
    );
    assert_eq!(by_name.body["Resources"][0]["id"], "E950");

    let by_external = find(r#"externalId eq "okta-E951""#).await;
    assert_eq!(by_external.body["totalResults"], 1);
    assert_eq!(by_external.body["Resources"][0]["id"], "E951");
    assert_eq!(
        find(r#"externalId eq "OKTA-E951""#).await.body["totalResults"],
        0,
        "externalId is case-exact"
    );

    let research = find(&format!(
        r#"{ENTERPRISE}:department eq "research" or emails[type eq "work" and value sw "nobody"]"#
    ))
    .await;
    assert_eq!(research.body["totalResults"], 1);
    assert_eq!(research.body["Resources"][0]["id"], "E951");

    assert_scim_error(
        &find(r#"userName eq "unterminated"#).await,
        400,
        Some("invalidFilter"),
    );
    assert_scim_error(
        &find(r#"shoeSize eq "9""#).await,
        400,
        Some("invalidFilter"),
    );
}

#[tokio::test]
async fn pages_follow_start_index_and_count_with_the_total() {
    let s = Stack::start().await;
    for n in 0..5 {
        create(
            &s,
            user(&format!("user{n}@example.com"), &format!("E96{n}"), "Sales"),
        )
        .await;
    }
    let page = |start: u32, count: u32| {
        let s = s.clone();
        async move {
            let r = scim(
                &s,
                "GET",
                &format!("/Users?startIndex={start}&count={count}&sortBy=userName"),
                None,
            )
            .await;
            assert_eq!(r.status, 200, "{:?}", r.body);
            r.body
        }
    };
    let ids = |body: &Value| -> Vec<String> {
        body["Resources"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["id"].as_str().unwrap().to_string())
            .collect()
    };

    let first = page(1, 2).await;
    assert_eq!(
        first["totalResults"], 5,
        "only SCIM users, not the HR-only demo identities"
    );
    assert_eq!(first["startIndex"], 1);
    assert_eq!(first["itemsPerPage"], 2);
    assert_eq!(ids(&first), ["E960", "E961"]);
    assert_eq!(ids(&page(3, 2).await), ["E962", "E963"]);
    let last = page(5, 2).await;
    assert_eq!(ids(&last), ["E964"]);
    assert_eq!(last["itemsPerPage"], 1);
    assert_eq!(page(1, 0).await["totalResults"], 5);

    let searched = scim(
        &s,
        "POST",
        "/Users/.search",
        Some(json!({
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],
            "filter": "userName sw \"user\"", "startIndex": 2, "count": 2,
            "sortBy": "userName", "sortOrder": "descending", "attributes": ["userName"]
        })),
    )
    .await;
    assert_eq!(searched.status, 200, "{:?}", searched.body);
    assert_eq!(searched.body["totalResults"], 5);
    assert_eq!(
        searched.body["Resources"],
        json!([
            {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "id": "E963", "userName": "user3@example.com"},
            {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "id": "E962", "userName": "user2@example.com"}
        ])
    );
}

#[tokio::test]
async fn active_false_makes_a_leaver_and_active_true_a_rehire() {
    let s = Stack::start().await;
    s.put_engineering_birthright().await;
    create(&s, user("grace@example.com", "E950", "Engineering")).await;
    s.wait_assignment("E950", "eng-wiki", "ACTIVE", |a| a["status"] == "ACTIVE")
        .await;

    let left = scim(
        &s,
        "PATCH",
        "/Users/E950",
        Some(json!({
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [{"op": "Replace", "value": {"active": false}}]
        })),
    )
    .await;
    assert_eq!(left.status, 200, "{:?}", left.body);
    assert_eq!(left.body["active"], false);
    assert_eq!(s.identity("E950").await["status"], "terminated");
    assert_eq!(
        s.published("EmployeeLeft").await,
        [json!({"employeeId": "E950"})]
    );
    s.wait_assignment("E950", "eng-wiki", "REVOKED", |a| a["status"] == "REVOKED")
        .await;

    let back = scim(
        &s,
        "PATCH",
        "/Users/E950",
        Some(json!({
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [{"op": "replace", "path": "active", "value": true}]
        })),
    )
    .await;
    assert_eq!(back.status, 200, "{:?}", back.body);
    assert_eq!(s.identity("E950").await["status"], "active");
}

#[tokio::test]
async fn a_deleted_user_is_gone_for_scim_but_stays_a_terminated_identity() {
    let s = Stack::start().await;
    create(&s, user("grace@example.com", "E950", "Engineering")).await;

    let deleted = scim(&s, "DELETE", "/Users/E950", None).await;
    assert_eq!(deleted.status, 204, "{:?}", deleted.body);
    assert_scim_error(&scim(&s, "GET", "/Users/E950", None).await, 404, None);
    assert_scim_error(&scim(&s, "DELETE", "/Users/E950", None).await, 404, None);
    let who = s.identity("E950").await;
    assert_eq!(who["status"], "terminated", "kept for the audit trail");
    assert_eq!(
        s.published("EmployeeLeft").await,
        [json!({"employeeId": "E950"})]
    );

    // The userName is free again; the same employee number brings the identity back.
    let again = create(&s, user("grace@example.com", "E950", "Engineering")).await;
    assert_eq!(again["id"], "E950");
    assert_eq!(s.identity("E950").await["status"], "active");
}

#[tokio::test]
async fn an_hr_identity_is_taken_over_by_its_employee_number() {
    let s = Stack::start().await;
    let hr = s.identity("E013").await;
    let mut body = user("sarah.kim@example.com", "E013", "Engineering");
    body.as_object_mut().unwrap().remove("addresses");
    let created = create(&s, body).await;
    assert_eq!(created["id"], "E013");
    let who = s.identity("E013").await;
    assert_eq!(
        who["location"], hr["location"],
        "not sent, so HR's value stays"
    );
    assert_eq!(who["managerId"], "E002");
    assert_eq!(who["groups"], hr["groups"]);

    // Taken: a second User with that number is refused.
    let again = scim(
        &s,
        "POST",
        "/Users",
        Some(user("someone.else@example.com", "E013", "Sales")),
    )
    .await;
    assert_scim_error(&again, 409, Some("uniqueness"));
}

#[tokio::test]
async fn a_duplicate_user_name_is_a_uniqueness_conflict() {
    let s = Stack::start().await;
    create(&s, user("grace@example.com", "E950", "Engineering")).await;
    let duplicate = scim(
        &s,
        "POST",
        "/Users",
        Some(user("GRACE@example.com", "E951", "Engineering")),
    )
    .await;
    assert_scim_error(&duplicate, 409, Some("uniqueness"));
    assert!(s.identity("E951").await.is_null(), "nothing was created");

    // Renaming another User onto the name conflicts too.
    create(&s, user("ada@example.com", "E952", "Research")).await;
    let rename = scim(
        &s,
        "PATCH",
        "/Users/E952",
        Some(json!({
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [{"op": "replace", "path": "userName", "value": "Grace@Example.com"}]
        })),
    )
    .await;
    assert_scim_error(&rename, 409, Some("uniqueness"));
}

#[tokio::test]
async fn requests_without_the_right_token_are_401() {
    let s = Stack::start().await;
    for auth in [None, Some("wrong-token"), Some("")] {
        let r = s.send("GET", "/scim/v2/Users", auth, None, &[]).await;
        assert_scim_error(&r, 401, None);
    }
    // An employee's JWT is no SCIM token either.
    let jwt = s.token("E016").await;
    let r = s.send("GET", "/scim/v2/Users", Some(&jwt), None, &[]).await;
    assert_scim_error(&r, 401, None);
    let r = s
        .send(
            "POST",
            "/scim/v2/Users",
            None,
            Some(
                user("grace@example.com", "E950", "Engineering")
                    .to_string()
                    .as_bytes(),
            ),
            &[],
        )
        .await;
    assert_scim_error(&r, 401, None);
    assert!(s.identity("E950").await.is_null());
}
