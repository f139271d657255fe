//! Test support for the function crates (cargo feature `fixtures`, enabled only in their `[dev-dependencies]`):
//! the demo organisation in memory adapters, and the event fixtures in `events/` decoded exactly as the Lambda
//! runtime decodes real events.
//!
//! Everything here panics with a message naming the file on bad input: it is test scaffolding, and a broken
//! fixture should fail the test that loads it.

// Test scaffolding, compiled only with the `fixtures` feature of dev-dependencies: it may panic (see above).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::sync::Arc;

use chrono::{DateTime, Utc};
use provisio_core::model::{
    Assignment, CatalogItem, GrantSource, Identity, NewRequest, Request, RequestStatus,
};
use provisio_core::ports::Ports;
use provisio_memory::{
    ManualClock, MemoryStores, RecordingEventBus, RecordingWorkflow, ScriptedConnectors,
};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::api::ApiRequest;
use crate::runtime::from_api_gateway;

/// The request id every task fixture and the request-scoped HTTP fixtures use.
pub const FIXTURE_REQUEST_ID: &str = "req-fixture-1";

/// When the demo clock starts: inside E008's open-ended delegate window (from 2026-01-01).
pub const DEMO_NOW: &str = "2026-11-22T10:00:00Z";

/// The repository root (this crate lives in `shared/lambda`).
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// `events/` at the repository root.
pub fn events_dir() -> PathBuf {
    repo_root().join("events")
}

/// The demo organisation's seed directory.
pub fn demo_seed_dir() -> PathBuf {
    repo_root().join("infra/local/seed/demo")
}

fn read_json<T: DeserializeOwned>(path: &Path) -> T {
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("{} does not parse as expected: {e}", path.display()))
}

fn event_path(function: &str, case: &str) -> PathBuf {
    events_dir().join(function).join(format!("{case}.json"))
}

/// The case names (file stems) of `events/<function>/`, sorted.
pub fn cases(function: &str) -> Vec<String> {
    let dir = events_dir().join(function);
    let entries =
        std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()));
    let mut out: Vec<String> = entries
        .map(|e| e.expect("directory entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .filter_map(|p| p.file_stem().map(|s| s.to_string_lossy().into_owned()))
        .collect();
    out.sort();
    out
}

/// Checks that every fixture of an HTTP function targets one of its `routes` and carries each path parameter its
/// route key names; returns the case names.
pub fn check_http_fixtures(function: &str, routes: &[&str]) -> Vec<String> {
    let cases = cases(function);
    assert!(!cases.is_empty(), "no fixtures for {function}");
    for case in &cases {
        let req = http_event(function, case);
        assert!(
            routes.contains(&req.route.as_str()),
            "events/{function}/{case}.json: route {:?} is not one of {routes:?}",
            req.route
        );
        for part in req.route.split('/') {
            if let Some(name) = part.strip_prefix('{').and_then(|p| p.strip_suffix('}')) {
                assert!(
                    req.path_params.contains_key(name),
                    "events/{function}/{case}.json: path parameter {name} is missing"
                );
            }
        }
    }
    cases
}

/// The payload of `events/<function>/<case>.json`, as a Step Functions task sends it.
pub fn task_event(function: &str, case: &str) -> Value {
    read_json(&event_path(function, case))
}

/// The API Gateway HTTP API (v2) event in `events/<function>/<case>.json`, decoded by lambda_http and converted
/// by the same function the runtime loop uses, so a fixture behaves exactly like the real event.
pub fn http_event(function: &str, case: &str) -> ApiRequest {
    let path = event_path(function, case);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    let req = lambda_http::request::from_str(&text).unwrap_or_else(|e| {
        panic!(
            "{} is not an API Gateway HTTP API event: {e}",
            path.display()
        )
    });
    from_api_gateway(req)
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PoolSeed {
    pool_id: String,
    item_id: String,
    total: u32,
}

/// Memory ports over the demo organisation, with typed handles on everything a test wants to script or inspect.
pub struct Demo {
    pub ports: Ports,
    pub stores: MemoryStores,
    pub workflow: Arc<RecordingWorkflow>,
    pub events: Arc<RecordingEventBus>,
    pub clock: Arc<ManualClock>,
    pub connectors: Arc<ScriptedConnectors>,
}

/// Memory ports loaded with `infra/local/seed/demo` (identities, catalog, license pools), the clock at
/// [`DEMO_NOW`], a recording workflow and event bus and connectors that succeed unless scripted to fail.
pub async fn demo_ports() -> Demo {
    let stores = MemoryStores::new();
    let workflow = Arc::new(RecordingWorkflow::default());
    let events = Arc::new(RecordingEventBus::default());
    let start: DateTime<Utc> = DEMO_NOW.parse().expect("DEMO_NOW is RFC 3339");
    let clock = Arc::new(ManualClock::new(start));
    let connectors = Arc::new(ScriptedConnectors::default());
    let ports = stores.ports(
        workflow.clone(),
        events.clone(),
        clock.clone(),
        connectors.clone(),
    );
    let dir = demo_seed_dir();
    let identities: Vec<Identity> = read_json(&dir.join("identities.json"));
    for identity in identities {
        ports.identities.put(identity).await.expect("seed identity");
    }
    let catalog: Vec<CatalogItem> = read_json(&dir.join("catalog.json"));
    for item in catalog {
        ports.catalog.put(item).await.expect("seed catalog item");
    }
    let pools: Vec<PoolSeed> = read_json(&dir.join("licenses.json"));
    for pool in pools {
        ports
            .licenses
            .set_total(&pool.pool_id, &pool.item_id, pool.total)
            .await
            .expect("seed license pool");
    }
    Demo {
        ports,
        stores,
        workflow,
        events,
        clock,
        connectors,
    }
}

impl Demo {
    /// See [`seed_request`].
    pub async fn seed_request(&self, request_id: &str, requester: &str, item_id: &str) -> Request {
        seed_request(&self.ports, request_id, requester, item_id).await
    }

    /// Takes a seeded request through the fulfilment steps to FULFILLED with a committed seat. Approval
    /// stages are recorded as passed (the approval tests cover them): provisioning needs an approved request.
    pub async fn fulfil(&self, request_id: &str, requester: &str, item_id: &str) {
        use provisio_core::usecases::fulfilment;
        let p = &self.ports;
        self.seed_request(request_id, requester, item_id).await;
        fulfilment::route(p, request_id).await.expect("route");
        self.approve(request_id).await;
        fulfilment::reserve_seats(p, request_id)
            .await
            .expect("reserve");
        fulfilment::provision(p, request_id)
            .await
            .expect("provision");
        fulfilment::commit(p, request_id).await.expect("commit");
    }

    /// Records an active, permanent holding granted a year ago without a seat, as holdings that predate their
    /// item's licence pool (or its end of life) are.
    pub async fn hold(&self, holder: &str, item_id: &str) -> Assignment {
        let granted_at = self.ports.clock.now() - chrono::Duration::days(365);
        let request_id = format!("req-old-{holder}-{item_id}");
        let mut a = Assignment {
            sources: vec![GrantSource {
                request_id: request_id.clone(),
                via_bundle: None,
                granted_at,
                expires_at: None,
            }],
            granted_by: Some(request_id),
            ..Assignment::new(holder, item_id, granted_at)
        };
        self.ports.assignments.save(&mut a).await.expect("hold");
        a
    }

    /// See [`approve`].
    pub async fn approve(&self, request_id: &str) {
        approve(&self.ports, request_id).await
    }

    /// See [`request`].
    pub async fn request(&self, request_id: &str) -> Request {
        request(&self.ports, request_id).await
    }
}

/// Stores a SUBMITTED request of `requester` for themself, as intake records it before fulfilment starts,
/// under a fixed id (intake would pick a random one) so the task fixtures can name it.
pub async fn seed_request(
    ports: &Ports,
    request_id: &str,
    requester: &str,
    item_id: &str,
) -> Request {
    let item = ports
        .catalog
        .get(item_id)
        .await
        .expect("catalog")
        .unwrap_or_else(|| panic!("no demo catalog item {item_id}"));
    let now = ports.clock.now();
    let req = Request::submitted(
        NewRequest {
            request_id: request_id.to_string(),
            item_id: item.item_id.clone(),
            item_version: item.version,
            requester_id: requester.to_string(),
            beneficiary_id: requester.to_string(),
            justification: item
                .requires_justification
                .then(|| "needed for the fixture scenario".to_string()),
            duration_hours: item.max_duration_hours,
            extends_assignment_id: None,
        },
        now,
    );
    ports.requests.create(&req).await.expect("create request");
    request(ports, request_id).await
}

/// Records the request as approved, standing in for its approval stages.
pub async fn approve(ports: &Ports, request_id: &str) {
    let mut req = request(ports, request_id).await;
    req.status = RequestStatus::Approved;
    ports.requests.save(&mut req).await.expect("approve");
}

/// The stored request; panics if it does not exist.
pub async fn request(ports: &Ports, request_id: &str) -> Request {
    ports
        .requests
        .get(request_id)
        .await
        .expect("requests")
        .unwrap_or_else(|| panic!("no request {request_id}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_demo_seed_loads_completely() {
        let demo = demo_ports().await;
        let p = &demo.ports;
        assert_eq!(p.catalog.list().await.unwrap().len(), 20);
        assert_eq!(p.identities.list(None, 100).await.unwrap().items.len(), 30);
        let pool = p.licenses.get_pool("pool-adobe-cc").await.unwrap().unwrap();
        assert_eq!((pool.total, pool.reserved, pool.assigned), (2, 0, 0));
        assert_eq!(p.clock.now(), DEMO_NOW.parse::<DateTime<Utc>>().unwrap());
    }

    #[tokio::test]
    async fn a_seeded_request_is_submitted_under_the_given_id() {
        let demo = demo_ports().await;
        let req = demo
            .seed_request(FIXTURE_REQUEST_ID, "E013", "prod-db-admin")
            .await;
        assert_eq!(req.status, RequestStatus::Submitted);
        assert_eq!(req.beneficiary_id, "E013");
        assert_eq!(req.duration_hours, Some(72), "the item's maximum applies");
        assert!(req.justification.is_some(), "the item requires one");
        assert_eq!(req.timeline.len(), 1);
    }
}
