//! Load scenario: 2,000 parallel submits from 200 people over 20 items, on the store `PROVISIO_E2E_STORE` names.
//! Every request must end terminal, no person may have two open requests for one item at any time, seats must
//! reconcile exactly, the audit chain must verify, and throughput must not degrade over the run.
//!
//! Ignored by default (it is a figure-printing scenario, not a unit test): `scripts/load.sh` runs it on memory
//! and on DynamoDB (moto). Sizes come from `PROVISIO_LOAD_PEOPLE`, `PROVISIO_LOAD_ITEMS`,
//! `PROVISIO_LOAD_SUBMITS_PER_PERSON`, `PROVISIO_LOAD_CONCURRENCY` and `PROVISIO_LOAD_POLL_MS`.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::{Duration, Instant};

use provisio_local::seed::{PoolSeed, Seed};
use provisio_tests::Stack;
use serde_json::{Value, json};
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

const ADMIN: &str = "L-ADMIN";
const TERMINAL: [&str; 5] = ["FULFILLED", "REJECTED", "CANCELLED", "EXPIRED", "FAILED"];
/// A request must end within this long after its submission, however loaded the stack is.
const PER_REQUEST_LIMIT: Duration = Duration::from_secs(300);

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// How often a client asks for its request's status (`PROVISIO_LOAD_POLL_MS`): often on memory, rarely enough
/// on a DynamoDB endpoint that polling does not drown the submissions it waits for.
fn poll_ms() -> u64 {
    let default = if std::env::var("PROVISIO_E2E_STORE").as_deref() == Ok("dynamodb") {
        500
    } else {
        25
    };
    std::env::var("PROVISIO_LOAD_POLL_MS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn person(p: usize) -> String {
    format!("L{p:04}")
}

fn item(i: usize) -> String {
    format!("load-{i:02}")
}

/// Everyone reports to the admin; every item is auto-approved with a pool exactly as large as its demand.
fn seed(people: usize, items: usize, demand_per_item: usize) -> Seed {
    let admin = json!({
        "employeeId": ADMIN, "email": "load-admin@example.com", "displayName": "Load Admin",
        "department": "IT", "jobTitle": "Admin", "location": "DE", "costCenter": "CC-900",
        "employmentType": "FTE", "status": "active",
        "groups": ["provisio-admins", "provisio-auditors"], "delegates": []
    });
    let identities = std::iter::once(admin)
        .chain((0..people).map(|p| {
            json!({
                "employeeId": person(p), "email": format!("{}@example.com", person(p).to_lowercase()),
                "displayName": format!("Load Person {p}"), "department": "Engineering",
                "jobTitle": "Engineer", "location": "DE", "costCenter": "CC-100", "managerId": ADMIN,
                "employmentType": "FTE", "status": "active", "groups": [], "delegates": []
            })
        }))
        .map(|v| serde_json::from_value(v).expect("identity"))
        .collect();
    let catalog = (0..items)
        .map(|i| {
            serde_json::from_value(json!({
                "itemId": item(i), "version": 1, "name": format!("Load item {i}"),
                "description": "generated for the load scenario", "category": "saas",
                "cost": {"amount": 5.0, "currency": "EUR", "recurrence": "monthly"},
                "glCode": "6200", "ownerId": ADMIN, "risk": "low", "requiresJustification": false,
                "lifecycle": "active", "eligibility": [],
                "approvalPolicy": {"stages": [], "maxAgeHours": 168},
                "connector": {"type": "record"}, "licensePoolId": format!("pool-{}", item(i))
            }))
            .expect("catalog item")
        })
        .collect();
    let licenses = (0..items)
        .map(|i| PoolSeed {
            pool_id: format!("pool-{}", item(i)),
            item_id: item(i),
            total: u32::try_from(demand_per_item).expect("pool size"),
        })
        .collect();
    Seed {
        identities,
        catalog,
        licenses,
    }
}

/// One submission: who asked for what, what the API answered, and when its request ended.
struct Outcome {
    person: String,
    item: String,
    status: u16,
    request: Option<Value>,
    done_at: Instant,
}

async fn submit_and_wait(s: Stack, token: String, person: String, item: String) -> Outcome {
    let body = json!({"itemId": item}).to_string();
    let key = uuid::Uuid::new_v4().to_string();
    let r = s
        .send(
            "POST",
            "/requests",
            Some(&token),
            Some(body.as_bytes()),
            &[("idempotency-key", &key)],
        )
        .await;
    let mut outcome = Outcome {
        person,
        item,
        status: r.status,
        request: None,
        done_at: Instant::now(),
    };
    if r.status != 202 {
        return outcome;
    }
    let id = r.body["requestId"].as_str().expect("requestId").to_string();
    let started = Instant::now();
    loop {
        let got = s
            .send("GET", &format!("/requests/{id}"), Some(&token), None, &[])
            .await;
        assert_eq!(got.status, 200, "GET {id}: {}", got.text);
        if TERMINAL.contains(&got.body["status"].as_str().unwrap_or_default()) {
            outcome.request = Some(got.body);
            outcome.done_at = Instant::now();
            return outcome;
        }
        assert!(
            started.elapsed() < PER_REQUEST_LIMIT,
            "request {id} did not end within {PER_REQUEST_LIMIT:?}: {}",
            got.text
        );
        tokio::time::sleep(Duration::from_millis(poll_ms())).await;
    }
}

/// Terminal requests per second over completions `range` (in completion order), measured from `from`.
fn rate(done: &[Instant], from: Instant, range: std::ops::Range<usize>) -> f64 {
    let start = if range.start == 0 {
        from
    } else {
        done[range.start - 1]
    };
    let secs = done[range.end - 1].duration_since(start).as_secs_f64();
    range.len() as f64 / secs.max(1e-3)
}

fn at(v: &Value) -> chrono::DateTime<chrono::FixedOffset> {
    chrono::DateTime::parse_from_rfc3339(v.as_str().unwrap_or_default()).expect("RFC 3339 time")
}

/// When fulfilment first acted on a request: its first timeline entry after SUBMITTED. The submission's own
/// timestamp is taken before the open-request key is claimed, so it may precede the previous request's end by
/// a moment; the first step runs only after the claim.
fn acted_at(request: &Value) -> chrono::DateTime<chrono::FixedOffset> {
    let entry = request["timeline"]
        .as_array()
        .and_then(|t| t.get(1))
        .expect("a timeline entry after the submission");
    at(&entry["at"])
}

/// When a request stopped being open: the time of its first terminal timeline entry.
fn ended_at(request: &Value) -> chrono::DateTime<chrono::FixedOffset> {
    let entry = request["timeline"]
        .as_array()
        .and_then(|t| {
            t.iter()
                .find(|e| TERMINAL.contains(&e["status"].as_str().unwrap_or_default()))
        })
        .expect("a terminal timeline entry");
    at(&entry["at"])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "load scenario with printed figures: scripts/load.sh"]
async fn parallel_submits_end_terminal_reconcile_and_stay_flat() {
    let people = env_usize("PROVISIO_LOAD_PEOPLE", 200);
    let items = env_usize("PROVISIO_LOAD_ITEMS", 20);
    let per_person = env_usize("PROVISIO_LOAD_SUBMITS_PER_PERSON", 10).min(items);
    let concurrency = env_usize("PROVISIO_LOAD_CONCURRENCY", 64);
    // Each person asks for `per_person` distinct items, spread so every item sees the same demand; the first
    // tenth of the people also send every submission a second time at once, racing their own request.
    let demand = people * per_person / items;
    let s = Stack::start_with_seed(seed(people, items, demand)).await;
    let mut tokens = HashMap::new();
    for p in 0..people {
        tokens.insert(person(p), s.token(&person(p)).await);
    }
    let mut plan: Vec<(String, String)> = Vec::new();
    for k in 0..per_person {
        for p in 0..people {
            let pair = (person(p), item((p + k) % items));
            if p < people / 10 {
                plan.push(pair.clone());
            }
            plan.push(pair);
        }
    }

    let limit = Arc::new(Semaphore::new(concurrency));
    let mut jobs = JoinSet::new();
    let started = Instant::now();
    for (who, what) in plan.iter().cloned() {
        let permit = limit.clone().acquire_owned().await.expect("semaphore");
        let (s, token) = (s.clone(), tokens[&who].clone());
        jobs.spawn(async move {
            let outcome = submit_and_wait(s, token, who, what).await;
            drop(permit);
            outcome
        });
    }
    let mut outcomes = Vec::new();
    while let Some(done) = jobs.join_next().await {
        outcomes.push(done.expect("submission task"));
    }
    let elapsed = started.elapsed();

    // Every answer is 202 or a 409 for a request still open; every accepted request ended.
    let mut by_status: BTreeMap<String, usize> = BTreeMap::new();
    let mut conflicts = 0;
    for o in &outcomes {
        match (o.status, &o.request) {
            (202, Some(r)) => {
                *by_status
                    .entry(r["status"].as_str().unwrap_or_default().to_string())
                    .or_default() += 1
            }
            (409, None) => conflicts += 1,
            (status, _) => panic!("{} asking for {}: HTTP {status}", o.person, o.item),
        }
    }

    // No two requests of one person for one item were open at the same time.
    let mut per_pair: HashMap<(&str, &str), Vec<&Value>> = HashMap::new();
    for o in &outcomes {
        if let Some(r) = &o.request {
            per_pair.entry((&o.person, &o.item)).or_default().push(r);
        }
    }
    for ((who, what), mut requests) in per_pair {
        assert!(
            requests.iter().any(|r| r["status"] == "FULFILLED"),
            "{who} never got {what}: {:?}; all outcomes {by_status:?}",
            requests
                .iter()
                .map(|r| (&r["status"], &r["outcome"]))
                .collect::<Vec<_>>()
        );
        requests.sort_by_key(|r| at(&r["createdAt"]));
        for pair in requests.windows(2) {
            assert!(
                acted_at(pair[1]) >= ended_at(pair[0]),
                "{who} had two open requests for {what}: {} (ended {}) and {} (acted on {})",
                pair[0]["requestId"],
                ended_at(pair[0]),
                pair[1]["requestId"],
                acted_at(pair[1])
            );
        }
    }

    // Give back the first holding of every tenth person who sent no duplicates (a duplicate that came after the
    // first request ended is a second source of the same holding, and returning one source keeps the access),
    // then reconcile every pool with the holdings.
    let mut returned = 0;
    for p in (people / 10..people).step_by(10) {
        let token = &tokens[&person(p)];
        let held = s.assignments(&person(p)).await;
        let Some(a) = held.iter().find(|a| a["status"] == "ACTIVE") else {
            continue;
        };
        let id = a["assignmentId"].as_str().expect("assignmentId");
        let r = s
            .send(
                "POST",
                &format!("/assignments/{id}/return"),
                Some(token),
                None,
                &[],
            )
            .await;
        assert!(
            r.status == 200 || r.status == 202,
            "return {id}: {}",
            r.text
        );
        let what = a["itemId"].as_str().expect("itemId");
        s.wait_assignment(&person(p), what, "RETURNED", |a| a["status"] == "RETURNED")
            .await;
        returned += 1;
    }
    let mut active: HashMap<String, u64> = HashMap::new();
    for p in 0..people {
        for a in s.assignments(&person(p)).await {
            if a["status"] == "ACTIVE" {
                *active
                    .entry(a["itemId"].as_str().unwrap_or_default().to_string())
                    .or_default() += 1;
            }
        }
    }
    let holdings: u64 = active.values().sum();
    for i in 0..items {
        let pool = s
            .call(
                ADMIN,
                "GET",
                &format!("/admin/licenses/pool-{}", item(i)),
                None,
            )
            .await
            .body;
        let held = active.get(&item(i)).copied().unwrap_or_default();
        assert_eq!(pool["reserved"], 0, "{}: {pool}", item(i));
        assert_eq!(pool["assigned"], held, "{}: {pool}", item(i));
    }
    assert_eq!(
        usize::try_from(holdings).expect("count") + returned,
        people * per_person,
        "every distinct (person, item) is held once, less the returns"
    );

    let verify = s.call(ADMIN, "GET", "/admin/audit/verify", None).await;
    assert_eq!(verify.status, 200, "{}", verify.text);
    assert_eq!(verify.body["ok"], true, "audit chain: {}", verify.text);

    let mut done: Vec<Instant> = outcomes
        .iter()
        .filter(|o| {
            o.request
                .as_ref()
                .is_some_and(|r| r["status"] == "FULFILLED")
        })
        .map(|o| o.done_at)
        .collect();
    done.sort();
    let tenth = done.len() / 10;
    let first = rate(&done, started, 0..tenth);
    let last = rate(&done, started, done.len() - tenth..done.len());
    println!(
        "load: store={} people={people} items={items} submits={} concurrency={concurrency}",
        std::env::var("PROVISIO_E2E_STORE").unwrap_or_else(|_| "memory".into()),
        plan.len()
    );
    println!(
        "load: {:.1} s, {:.0} submits/s; outcomes {by_status:?}, 409 for an open duplicate: {conflicts}",
        elapsed.as_secs_f64(),
        plan.len() as f64 / elapsed.as_secs_f64()
    );
    println!(
        "load: fulfilled/s first 10% {first:.0}, last 10% {last:.0} (ratio {:.2}); holdings {holdings}, returned {returned}; audit checked {}",
        last / first,
        verify.body["checked"]
    );
    assert!(
        last >= 0.8 * first,
        "throughput degraded: {first:.0}/s in the first tenth, {last:.0}/s in the last"
    );
}
