//! Scale: the daily compliance sweep reads only what is due. The same due set (holdings past their expiry and
//! holdings inside the notice window) is swept over assignment tables of growing size on moto, and the items
//! DynamoDB reads for the sweep (counted from every response: `ScannedCount` of queries, found items of
//! GetItem) must not grow with the table. Sizes: `PROVISIO_SWEEP_BENCH_HOLDINGS` (default `1000,5000`;
//! `scripts/bench-sweep-reads.sh` runs 1,000 and 100,000 and prints the table).

// Test code: helpers outside `#[test]` fns may fail the test with expect (clippy.toml only exempts the fns).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::{Arc, Mutex};

use aws_sdk_dynamodb::config::interceptors::AfterDeserializationInterceptorContextRef;
use aws_sdk_dynamodb::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_sdk_dynamodb::operation::get_item::GetItemOutput;
use aws_sdk_dynamodb::operation::query::QueryOutput;
use aws_sdk_dynamodb::operation::scan::ScanOutput;
use chrono::{DateTime, Duration};
use provisio_aws::{DynamoStores, TableNames, create_tables};
use provisio_conformance::moto::Moto;
use provisio_core::model::{Assignment, GrantSource, Timestamp};
use provisio_core::ports::{AssignmentStore, Ports};
use provisio_core::usecases::compliance::{self, ComplianceSettings};
use provisio_memory::{ManualClock, RecordingEventBus, RecordingWorkflow, ScriptedConnectors};

/// DynamoDB calls and the items they read.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
struct Reads {
    calls: u64,
    items: u64,
}

#[derive(Debug, Default, Clone)]
struct ReadCounter(Arc<Mutex<Reads>>);

impl ReadCounter {
    fn take(&self) -> Reads {
        std::mem::take(&mut *self.0.lock().unwrap())
    }
}

impl Intercept for ReadCounter {
    fn name(&self) -> &'static str {
        "ReadCounter"
    }

    fn read_after_deserialization(
        &self,
        context: &AfterDeserializationInterceptorContextRef<'_>,
        _: &RuntimeComponents,
        _: &mut ConfigBag,
    ) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
        let Ok(output) = context.output_or_error() else {
            return Ok(());
        };
        let items = if let Some(q) = output.downcast_ref::<QueryOutput>() {
            q.scanned_count()
        } else if let Some(s) = output.downcast_ref::<ScanOutput>() {
            s.scanned_count()
        } else if let Some(g) = output.downcast_ref::<GetItemOutput>() {
            i32::from(g.item().is_some())
        } else {
            return Ok(());
        };
        let mut reads = self.0.lock().unwrap();
        reads.calls += 1;
        reads.items += u64::try_from(items).unwrap_or(0);
        Ok(())
    }
}

/// Holdings past their expiry, and holdings inside the default week of notice: the same in every run.
const DUE: usize = 10;

fn holding(
    holder: &str,
    item: &str,
    granted_at: Timestamp,
    expires_at: Option<Timestamp>,
) -> Assignment {
    Assignment {
        sources: vec![GrantSource {
            request_id: format!("req-{holder}-{item}"),
            via_bundle: None,
            granted_at,
            expires_at,
        }],
        expires_at,
        granted_by: Some(format!("req-{holder}-{item}")),
        ..Assignment::new(holder, item, granted_at)
    }
}

/// Ports over fresh tables holding `background` permanent holdings plus the due set, and the counter of the
/// reads made through them afterwards.
async fn seeded(background: usize, now: Timestamp) -> (Ports, ReadCounter) {
    let config = provisio_aws::endpoint_config(&Moto::shared().endpoint).await;
    let names = TableNames::with_prefix(&format!("bench{}-", uuid::Uuid::new_v4().simple()));
    let seeding = aws_sdk_dynamodb::Client::new(&config);
    create_tables(&seeding, &names)
        .await
        .expect("create tables");
    let stores = DynamoStores::new(seeding, &names);
    let granted = now - Duration::days(30);
    let mut all: Vec<Assignment> = (0..background)
        .map(|i| {
            holding(
                &format!("E{i:06}"),
                &format!("item-{}", i % 100),
                granted,
                None,
            )
        })
        .collect();
    for i in 0..DUE {
        all.push(holding(
            &format!("D{i:03}"),
            "expired",
            granted,
            Some(now - Duration::hours(1)),
        ));
        all.push(holding(
            &format!("D{i:03}"),
            "expiring",
            granted,
            Some(now + Duration::days(2)),
        ));
    }
    // Moto serves one request at a time; a few writers keep it busy.
    let mut writers = tokio::task::JoinSet::new();
    for chunk in all
        .chunks(all.len().div_ceil(8))
        .map(<[Assignment]>::to_vec)
    {
        let assignments = stores.assignments.clone();
        writers.spawn(async move {
            for mut a in chunk {
                assignments.save(&mut a).await.expect("seed holding");
            }
        });
    }
    while let Some(done) = writers.join_next().await {
        done.expect("seeding task");
    }

    let counter = ReadCounter::default();
    let counted = aws_sdk_dynamodb::config::Builder::from(&config)
        .interceptor(counter.clone())
        .build();
    let ports = DynamoStores::new(aws_sdk_dynamodb::Client::from_conf(counted), &names).ports(
        Arc::new(RecordingWorkflow::default()),
        Arc::new(RecordingEventBus::default()),
        Arc::new(ManualClock::new(now)),
        Arc::new(ScriptedConnectors::default()),
    );
    (ports, counter)
}

fn sizes() -> Vec<usize> {
    std::env::var("PROVISIO_SWEEP_BENCH_HOLDINGS")
        .unwrap_or_else(|_| "1000,5000".into())
        .split(',')
        .map(|n| {
            n.trim()
                .parse()
                .expect("PROVISIO_SWEEP_BENCH_HOLDINGS: sizes like 1000,100000")
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn compliance_sweep_reads_stay_flat_as_holdings_grow() {
    let now = DateTime::from_timestamp(1_800_000_000, 0).expect("valid timestamp");
    let mut rows = Vec::new();
    for size in sizes() {
        let (ports, counter) = seeded(size - 2 * DUE, now).await;
        let started = std::time::Instant::now();
        let report = compliance::sweep(&ports, &ComplianceSettings::default())
            .await
            .expect("sweep");
        let elapsed = started.elapsed();
        assert_eq!(report.expired, DUE as u32, "every expired holding is ended");
        assert_eq!(
            report.findings[&provisio_core::model::FindingKind::Expiring].opened,
            DUE as u32
        );
        rows.push((size, counter.take(), elapsed));
    }
    println!("holdings | DynamoDB calls | items read | sweep time (moto)");
    for (size, reads, elapsed) in &rows {
        println!(
            "{size:>8} | {:>14} | {:>10} | {elapsed:.2?}",
            reads.calls, reads.items
        );
    }
    let first = rows[0].1;
    for (size, reads, _) in &rows {
        assert_eq!(
            *reads, first,
            "the sweep over {size} holdings read more than over {}: it must read only what is due",
            rows[0].0
        );
    }
}
