//! A fake target system for `webhook` connectors: it checks every call's signature, counts calls per action
//! (`grant`, `revoke`) and answers 200 `{"account":"acc-1"}` unless told to fail the next calls of an action.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use serde_json::Value;

use crate::CONNECTOR_SECRET;

pub struct Target {
    /// Where a catalog item's `{"type": "webhook", "url": ...}` connector points.
    pub url: String,
    state: Arc<Mutex<State>>,
}

#[derive(Default)]
struct State {
    /// Calls answered (successful or not), per action.
    calls: HashMap<String, usize>,
    bad_signatures: usize,
    /// Failures still to serve, per action.
    failures: HashMap<String, (usize, StatusCode)>,
}

impl Target {
    /// Serves on a free loopback port until the test ends.
    pub async fn start() -> Target {
        let state = Arc::new(Mutex::new(State::default()));
        let shared = state.clone();
        let app = Router::new().route(
            "/grants",
            post(move |headers: HeaderMap, body: Bytes| {
                let state = shared.clone();
                async move { answer(&state, &headers, &body) }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind target");
        let url = format!("http://{}/grants", listener.local_addr().expect("addr"));
        tokio::spawn(async move { axum::serve(listener, app).await.expect("serve target") });
        Target { url, state }
    }

    /// The next `times` calls of `action` answer `status`, replacing any failures still scripted for it.
    pub fn fail_next(&self, action: &str, times: usize, status: StatusCode) {
        let mut state = self.state.lock().expect("target state");
        state.failures.insert(action.to_string(), (times, status));
    }

    /// Calls of every action so far.
    pub fn calls(&self) -> usize {
        self.state
            .lock()
            .expect("target state")
            .calls
            .values()
            .sum()
    }

    /// Calls of `action` so far.
    pub fn calls_of(&self, action: &str) -> usize {
        let state = self.state.lock().expect("target state");
        state.calls.get(action).copied().unwrap_or(0)
    }

    /// Calls whose `x-provisio-signature` did not match the body.
    pub fn bad_signatures(&self) -> usize {
        self.state.lock().expect("target state").bad_signatures
    }
}

fn answer(state: &Mutex<State>, headers: &HeaderMap, body: &[u8]) -> (StatusCode, &'static str) {
    let signature = headers
        .get("x-provisio-signature")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let t: i64 = signature
        .split(',')
        .next()
        .and_then(|p| p.strip_prefix("t="))
        .and_then(|t| t.parse().ok())
        .unwrap_or(0);
    let action = serde_json::from_slice::<Value>(body)
        .ok()
        .and_then(|v| v["action"].as_str().map(str::to_string))
        .unwrap_or_default();
    let mut state = state.lock().expect("target state");
    if signature != provisio_connectors::sign(CONNECTOR_SECRET.as_bytes(), t, body) {
        state.bad_signatures += 1;
    }
    *state.calls.entry(action.clone()).or_default() += 1;
    match state.failures.get_mut(&action) {
        Some((left, status)) if *left > 0 => {
            *left -= 1;
            (*status, "{}")
        }
        _ => (StatusCode::OK, r#"{"account":"acc-1"}"#),
    }
}
