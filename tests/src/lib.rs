//! Harness for the end-to-end scenarios: each test starts its own local stack (demo organisation) on a free
//! loopback port and drives it over HTTP like any client would.
//!
//! The store is memory by default. With `PROVISIO_E2E_STORE=dynamodb` every stack keeps its data in its own
//! tables on a moto server that the harness starts (and installs if missing): the same scenarios, over the
//! DynamoDB adapters.

use std::sync::Arc;
use std::time::Duration;

use provisio_conformance::moto::Moto;
use provisio_local::seed::Seed;
use provisio_local::{Config, LocalStack, Store};
use provisio_memory::MemoryStores;
use serde_json::{Value, json};

pub mod target;

/// Secret the in-process webhook connectors sign with (see [`Stack::start`]).
pub const CONNECTOR_SECRET: &str = "e2e-connector-secret";
const JWT_SECRET: &str = "e2e-jwt-secret";
/// Bearer token of SCIM clients in the scenarios.
pub const SCIM_TOKEN: &str = "e2e-scim-token";
/// Secret HR events are signed with in the scenarios.
pub const HR_WEBHOOK_SECRET: &str = "e2e-hr-webhook-secret";
const WAIT: Duration = Duration::from_secs(20);

#[derive(Clone)]
pub struct Stack {
    pub base: String,
    pub stack: Arc<LocalStack>,
    store: Store,
    client: reqwest::Client,
}

/// A response: status, content type, the body as text, and as JSON (Null when not JSON).
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub content_type: String,
    pub text: String,
    pub body: Value,
}

/// The store `PROVISIO_E2E_STORE` asks for: `memory` (default) or `dynamodb` (fresh tables on moto).
fn store() -> Store {
    match std::env::var("PROVISIO_E2E_STORE").as_deref() {
        Ok("dynamodb") => Store::DynamoDb {
            endpoint: Moto::shared().endpoint.clone(),
            table_prefix: format!("e2e{}-", uuid::Uuid::new_v4().simple()),
        },
        Ok("memory") | Err(_) => Store::Memory(MemoryStores::new()),
        Ok(other) => panic!("PROVISIO_E2E_STORE={other:?}: use memory or dynamodb"),
    }
}

impl Stack {
    pub async fn start() -> Self {
        Self::start_with_seed(Seed::demo().expect("demo seed")).await
    }

    /// A stack over `seed` instead of the demo organisation (load scenarios generate their own).
    pub async fn start_with_seed(seed: Seed) -> Self {
        static ENV: std::sync::Once = std::sync::Once::new();
        // SAFETY: set once, before any stack (and so any connector thread) reads it.
        ENV.call_once(|| unsafe {
            std::env::set_var("PROVISIO_CONNECTOR_SECRET", CONNECTOR_SECRET)
        });
        let store = store();
        let config = Config {
            seed,
            jwt_secret: JWT_SECRET.into(),
            scim_token: SCIM_TOKEN.into(),
            hr_webhook_secret: HR_WEBHOOK_SECRET.into(),
            lifecycle: Default::default(),
            compliance: Default::default(),
            connector_timeout: Duration::from_secs(5),
            store: store.clone(),
        };
        let stack = LocalStack::new(config).await.expect("local stack starts");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let base = format!("http://{}", listener.local_addr().expect("addr"));
        let app = provisio_local::http::router(stack.clone()).expect("router");
        tokio::spawn(async move { axum::serve(listener, app).await.expect("serve") });
        Self {
            base,
            stack,
            store,
            client: reqwest::Client::new(),
        }
    }

    /// A token for `employee` carrying the groups the demo organisation gives them.
    pub async fn token(&self, employee: &str) -> String {
        let groups = self
            .stack
            .ports
            .identities
            .get(employee)
            .await
            .expect("identity lookup")
            .map(|i| i.groups)
            .unwrap_or_default();
        self.stack
            .auth
            .token(employee, &groups, 3600)
            .expect("token")
    }

    pub async fn send(
        &self,
        method: &str,
        path: &str,
        auth: Option<&str>,
        body: Option<&[u8]>,
        headers: &[(&str, &str)],
    ) -> Reply {
        let mut rb = self.client.request(
            method.parse().expect("method"),
            format!("{}{path}", self.base),
        );
        if let Some(token) = auth {
            rb = rb.bearer_auth(token);
        }
        if let Some(body) = body {
            rb = rb
                .header("content-type", "application/json")
                .body(body.to_vec());
        }
        for (k, v) in headers {
            rb = rb.header(*k, *v);
        }
        let resp = rb.send().await.expect("request sent");
        let status = resp.status().as_u16();
        let content_type = resp
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string();
        let bytes = resp.bytes().await.expect("body");
        Reply {
            status,
            content_type,
            text: String::from_utf8_lossy(&bytes).into_owned(),
            body: serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        }
    }

    /// `method path` as `employee` with an optional JSON body.
    /// Rewrites the actor of the `nth` (from 0) audit entry about `subject` behind the API's back, as someone
    /// with write access to the store could: in memory through the store handle, on DynamoDB by editing the
    /// item in the table. Returns the chain and sequence number of the entry.
    pub async fn tamper_audit_actor(
        &self,
        subject: &str,
        nth: usize,
        actor: &str,
    ) -> (String, u64) {
        match &self.store {
            Store::Memory(stores) => {
                let mut found = None;
                stores.audit.tamper(|chains| {
                    let entry = chains
                        .values_mut()
                        .flat_map(|chain| chain.values_mut())
                        .filter(|e| e.record.subject == subject)
                        .nth(nth)
                        .expect("audit entry");
                    entry.record.actor = actor.into();
                    found = Some((entry.chain.clone(), entry.seq));
                });
                found.expect("audit entry")
            }
            Store::DynamoDb {
                endpoint,
                table_prefix,
            } => {
                let config = provisio_aws::endpoint_config(endpoint).await;
                let client = aws_sdk_dynamodb::Client::new(&config);
                let table = provisio_aws::TableNames::with_prefix(table_prefix).audit;
                let items = client
                    .scan()
                    .table_name(&table)
                    .send()
                    .await
                    .expect("scan audit");
                let entry_of = |item: &std::collections::HashMap<
                    String,
                    aws_sdk_dynamodb::types::AttributeValue,
                >| {
                    serde_json::from_str::<Value>(item["entry"].as_s().expect("entry"))
                        .expect("entry JSON")
                };
                let mut ours: Vec<_> = items
                    .items()
                    .iter()
                    .filter(|i| entry_of(i)["subject"] == subject)
                    .cloned()
                    .collect();
                let key = |i: &std::collections::HashMap<
                    String,
                    aws_sdk_dynamodb::types::AttributeValue,
                >| {
                    let chain = i["chain"].as_s().expect("chain").clone();
                    let seq: u64 = i["seq"].as_n().expect("seq").parse().expect("seq number");
                    (chain, seq)
                };
                ours.sort_by_key(key);
                let mut item = ours.get(nth).cloned().expect("audit entry");
                let mut entry = entry_of(&item);
                entry["actor"] = json!(actor);
                item.insert(
                    "entry".into(),
                    aws_sdk_dynamodb::types::AttributeValue::S(entry.to_string()),
                );
                let at = key(&item);
                client
                    .put_item()
                    .table_name(&table)
                    .set_item(Some(item))
                    .send()
                    .await
                    .expect("rewrite audit item");
                at
            }
        }
    }

    pub async fn call(
        &self,
        employee: &str,
        method: &str,
        path: &str,
        body: Option<Value>,
    ) -> Reply {
        let token = self.token(employee).await;
        let body = body.map(|b| b.to_string());
        self.send(
            method,
            path,
            Some(&token),
            body.as_deref().map(str::as_bytes),
            &[],
        )
        .await
    }

    /// Submits a request and returns its id, asserting 202.
    pub async fn submit(&self, employee: &str, body: Value) -> String {
        let r = self.call(employee, "POST", "/requests", Some(body)).await;
        assert_eq!(r.status, 202, "submit by {employee}: {:?}", r.body);
        r.body["requestId"].as_str().expect("requestId").to_string()
    }

    pub async fn request(&self, employee: &str, id: &str) -> Value {
        let r = self
            .call(employee, "GET", &format!("/requests/{id}"), None)
            .await;
        assert_eq!(
            r.status, 200,
            "GET request {id} as {employee}: {:?}",
            r.body
        );
        r.body
    }

    /// Polls the request as its requester until `done` holds; panics with the last state on timeout.
    pub async fn wait_request(
        &self,
        employee: &str,
        id: &str,
        what: &str,
        done: impl Fn(&Value) -> bool,
    ) -> Value {
        let start = std::time::Instant::now();
        loop {
            let req = self.request(employee, id).await;
            if done(&req) {
                return req;
            }
            if start.elapsed() > WAIT {
                panic!("request {id} never became {what}; last state: {req:#}");
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    pub async fn wait_status(&self, employee: &str, id: &str, status: &str) -> Value {
        self.wait_request(employee, id, status, |r| r["status"] == status)
            .await
    }

    /// Moves the stack's virtual clock forward.
    pub async fn advance_hours(&self, hours: u32) {
        self.advance(f64::from(hours)).await;
    }

    /// Moves the stack's virtual clock forward to `at` (it never goes back), so a scenario's dates are fixed.
    pub async fn advance_to(&self, at: chrono::DateTime<chrono::Utc>) {
        let ahead = at - self.stack.clock.now();
        assert!(ahead > chrono::Duration::zero(), "the clock is past {at}");
        self.advance(ahead.num_milliseconds() as f64 / 3_600_000.0)
            .await;
    }

    async fn advance(&self, hours: f64) {
        let body = json!({ "hours": hours }).to_string();
        let r = self
            .send(
                "POST",
                "/_local/clock/advance",
                None,
                Some(body.as_bytes()),
                &[],
            )
            .await;
        assert_eq!(r.status, 200, "advance clock: {:?}", r.body);
    }

    /// Runs a scheduled function now (`/_local/schedules/{name}/run`) and returns its report.
    pub async fn run_schedule(&self, name: &str) -> Value {
        let r = self
            .send(
                "POST",
                &format!("/_local/schedules/{name}/run"),
                None,
                None,
                &[],
            )
            .await;
        assert_eq!(r.status, 200, "schedule {name}: {:?}", r.body);
        r.body
    }

    /// The events the stack published so far (`/_local/events`) of one detail-type.
    pub async fn published(&self, detail_type: &str) -> Vec<Value> {
        let r = self.send("GET", "/_local/events", None, None, &[]).await;
        assert_eq!(r.status, 200);
        let items = r.body["items"].as_array().cloned().unwrap_or_default();
        items
            .into_iter()
            .filter(|e| e["detailType"] == detail_type)
            .map(|e| e["detail"].clone())
            .collect()
    }

    /// Waits until at least `count` events of `detail_type` were published (an asynchronous step may publish
    /// just after the change a test waited for), and returns them all.
    pub async fn wait_published(&self, detail_type: &str, count: usize) -> Vec<Value> {
        let start = std::time::Instant::now();
        loop {
            let found = self.published(detail_type).await;
            if found.len() >= count {
                return found;
            }
            if start.elapsed() > WAIT {
                panic!("{count} {detail_type} events never arrived: {found:?}");
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Waits for the open approval of `stage` (index) and returns its approval id.
    pub async fn wait_open_stage(&self, employee: &str, id: &str, stage: u32) -> String {
        let req = self
            .wait_request(employee, id, "open at stage {stage}", |r| {
                r["stages"].as_array().is_some_and(|s| {
                    s.iter().any(|s| {
                        s["index"] == stage && s["status"] == "OPEN" && s["approvalId"].is_string()
                    })
                })
            })
            .await;
        let stages = req["stages"].as_array().expect("stages");
        let open = stages.iter().find(|s| s["index"] == stage).expect("stage");
        open["approvalId"].as_str().expect("approvalId").to_string()
    }

    pub async fn decide(
        &self,
        approver: &str,
        approval_id: &str,
        decision: &str,
        comment: Option<&str>,
    ) -> Reply {
        let body = json!({"decision": decision, "comment": comment});
        self.call(
            approver,
            "POST",
            &format!("/approvals/{approval_id}/decision"),
            Some(body),
        )
        .await
    }

    /// A license pool as an admin (E016) sees it.
    pub async fn pool(&self, pool_id: &str) -> Value {
        let r = self
            .call("E016", "GET", &format!("/admin/licenses/{pool_id}"), None)
            .await;
        assert_eq!(r.status, 200, "pool {pool_id}: {:?}", r.body);
        r.body
    }

    pub async fn wait_pool(&self, pool_id: &str, reserved: u64, assigned: u64) -> Value {
        let start = std::time::Instant::now();
        loop {
            let p = self.pool(pool_id).await;
            if p["reserved"] == reserved && p["assigned"] == assigned {
                return p;
            }
            if start.elapsed() > WAIT {
                panic!("pool {pool_id} never reached reserved={reserved} assigned={assigned}: {p}");
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Creates or replaces a catalog item as the admin, from the fields that differ from a cheap, low-risk,
    /// auto-approved SaaS item.
    pub async fn put_item(&self, item_id: &str, overrides: Value) -> Value {
        let mut item = json!({
            "itemId": item_id, "name": item_id, "category": "saas",
            "cost": {"amount": 10.0, "currency": "EUR", "recurrence": "monthly"},
            "glCode": "6200", "ownerId": "E016", "risk": "low", "lifecycle": "active"
        });
        for (k, v) in overrides.as_object().expect("overrides object") {
            item[k] = v.clone();
        }
        let r = self
            .call(
                "E016",
                "PUT",
                &format!("/admin/catalog/{item_id}"),
                Some(item),
            )
            .await;
        assert_eq!(r.status, 200, "put item {item_id}: {:?}", r.body);
        r.body
    }

    /// `eng-wiki`: an item everyone in Engineering holds from day one (a `birthright`), needing no approval.
    pub async fn put_engineering_birthright(&self) {
        self.put_item(
            "eng-wiki",
            json!({
                "eligibility": [{"when": "user.department == 'Engineering'", "reason": "Engineering only"}],
                "birthright": "user.department == 'Engineering'"
            }),
        )
        .await;
    }

    pub async fn put_pool(&self, pool_id: &str, item_id: &str, total: u32) {
        let body = json!({"itemId": item_id, "total": total});
        let r = self
            .call(
                "E016",
                "PUT",
                &format!("/admin/licenses/{pool_id}"),
                Some(body),
            )
            .await;
        assert_eq!(r.status, 200, "put pool {pool_id}: {:?}", r.body);
    }

    /// `POST /usage` as a connector does: a service identity in `provisio-fulfilment`, not an employee.
    pub async fn report_usage(
        &self,
        assignment_id: &str,
        used_at: chrono::DateTime<chrono::Utc>,
    ) -> Reply {
        let groups = ["provisio-fulfilment".to_owned()];
        let token = self
            .stack
            .auth
            .token("svc-connector", &groups, 3600)
            .expect("token");
        let body = json!({"assignmentId": assignment_id, "usedAt": used_at}).to_string();
        self.send("POST", "/usage", Some(&token), Some(body.as_bytes()), &[])
            .await
    }

    pub async fn assignments(&self, employee: &str) -> Vec<Value> {
        let r = self.call(employee, "GET", "/assignments", None).await;
        assert_eq!(r.status, 200);
        r.body["items"].as_array().cloned().unwrap_or_default()
    }

    /// Posts an HR event to `POST /hr/events`, signed as the HR system does at the stack's current time.
    pub async fn post_hr_event(&self, event: &Value) -> Reply {
        let body = event.to_string();
        let t = self.stack.clock.now().timestamp();
        let signature =
            provisio_core::signature::sign(HR_WEBHOOK_SECRET.as_bytes(), t, body.as_bytes());
        self.send(
            "POST",
            "/hr/events",
            None,
            Some(body.as_bytes()),
            &[("x-provisio-signature", &signature)],
        )
        .await
    }

    /// Posts HR events one by one, each answered 202, then waits until hr-sync has handled all of them.
    pub async fn hr_events(&self, events: &[Value]) {
        for event in events {
            let r = self.post_hr_event(event).await;
            assert_eq!(r.status, 202, "HR event {event}: {:?}", r.body);
        }
        self.wait_hr_queue_idle().await;
    }

    /// Waits until the HR queue has nothing waiting or in flight; returns its state (incl. dead letters).
    pub async fn wait_hr_queue_idle(&self) -> Value {
        let start = std::time::Instant::now();
        loop {
            let r = self.send("GET", "/_local/queues/hr", None, None, &[]).await;
            assert_eq!(r.status, 200);
            if r.body["waiting"] == 0 && r.body["inFlight"] == 0 {
                return r.body;
            }
            if start.elapsed() > WAIT {
                panic!("the HR queue never drained: {:#}", r.body);
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// The identity as admins see it (`GET /admin/identities/{id}`); Null when unknown.
    pub async fn identity(&self, employee_id: &str) -> Value {
        let r = self
            .call(
                "E016",
                "GET",
                &format!("/admin/identities/{employee_id}"),
                None,
            )
            .await;
        match r.status {
            200 => r.body,
            404 => Value::Null,
            other => panic!("GET identity {employee_id}: {other} {:?}", r.body),
        }
    }

    pub async fn wait_assignment(
        &self,
        employee: &str,
        item_id: &str,
        what: &str,
        done: impl Fn(&Value) -> bool,
    ) -> Value {
        let start = std::time::Instant::now();
        loop {
            let found = self
                .assignments(employee)
                .await
                .into_iter()
                .find(|a| a["itemId"] == item_id);
            if let Some(a) = found.as_ref().filter(|a| done(a)) {
                return a.clone();
            }
            if start.elapsed() > WAIT {
                panic!("assignment of {item_id} for {employee} never became {what}: {found:?}");
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

/// Asserts an RFC 9457 problem response with `status`.
pub fn assert_problem(r: &Reply, status: u16) {
    assert_eq!(
        r.status, status,
        "expected {status}, got {}: {:?}",
        r.status, r.body
    );
    assert_eq!(r.content_type, "application/problem+json", "{:?}", r.body);
    assert_eq!(r.body["status"], status);
    assert!(
        r.body["type"].is_string() && r.body["title"].is_string() && r.body["detail"].is_string(),
        "{:?}",
        r.body
    );
}
