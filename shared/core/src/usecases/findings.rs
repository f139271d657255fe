//! Compliance findings: each daily sweep part observes a condition on a set of subjects (holdings, pools), and
//! `reconcile` turns what it saw into one stored finding per kind and subject. A finding opens (event
//! `FindingOpened`, audit entry) once its condition has held for the kind's observation period, stays open while
//! later sweeps still see it, and resolves (`FindingResolved`) when a sweep no longer does. Re-running a sweep
//! reports nothing twice; an event that did not reach the bus is published by the next sweep.

use std::collections::BTreeMap;

use chrono::Duration;
use serde::Serialize;
use serde_json::{Value, json};

use super::{admin::require_reader, audit, publish};
use crate::model::{Caller, Finding, FindingKind, FindingStatus, Timestamp};
use crate::names::event_types;
use crate::ports::Ports;
use crate::{Error, Result};

/// Under-utilization is reported only once it has lasted this long: a pool bought ahead of a hiring wave is
/// not waste.
pub const UNDER_UTILIZATION_DAYS: i64 = 30;

/// How long a condition must hold before it is reported.
fn observation_period(kind: FindingKind) -> Duration {
    match kind {
        FindingKind::UnderUtilization => Duration::days(UNDER_UTILIZATION_DAYS),
        _ => Duration::zero(),
    }
}

/// What one sweep part changed.
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FindingCounts {
    pub opened: u32,
    pub resolved: u32,
    /// Findings of the kind open after this sweep.
    pub open: u32,
}

/// Brings the stored findings of `kind` in line with `observed` (subject → detail), the complete set of
/// subjects on which the condition holds now. Never call it with a partial set: what is missing resolves.
pub(crate) async fn reconcile(
    p: &Ports,
    kind: FindingKind,
    observed: BTreeMap<String, Value>,
) -> Result<FindingCounts> {
    let now = p.clock.now();
    let mut counts = FindingCounts::default();
    for stale in p.findings.active(kind).await? {
        if !observed.contains_key(&stale.subject) {
            resolve(p, stale, now, &mut counts).await?;
        }
    }
    for (subject, detail) in observed {
        let finding = observe(p, kind, subject, detail, now, &mut counts).await?;
        if finding.status == FindingStatus::Open {
            counts.open += 1;
        }
    }
    Ok(counts)
}

async fn observe(
    p: &Ports,
    kind: FindingKind,
    subject: String,
    detail: Value,
    now: Timestamp,
    counts: &mut FindingCounts,
) -> Result<Finding> {
    let id = Finding::id_for(kind, &subject);
    let mut finding = match p.findings.get(&id).await? {
        Some(f) if f.is_active() => f,
        // New, or back after it was resolved: it is watched from now on.
        found => Finding {
            finding_id: id,
            kind,
            subject,
            detail: Value::Null,
            status: FindingStatus::Watching,
            observed_since: now,
            last_observed_at: now,
            opened_at: None,
            resolved_at: None,
            published: true,
            version: found.map_or(0, |f| f.version),
        },
    };
    finding.detail = detail;
    finding.last_observed_at = now;
    let opens = finding.status == FindingStatus::Watching
        && now - finding.observed_since >= observation_period(kind);
    if opens {
        finding.status = FindingStatus::Open;
        finding.opened_at = Some(now);
        finding.published = false;
    }
    p.findings.save(&mut finding).await?;
    if opens {
        counts.opened += 1;
        audit_change(p, &finding, "finding.opened").await?;
    }
    if !finding.published {
        announce(p, &mut finding, event_types::FINDING_OPENED).await?;
    }
    Ok(finding)
}

async fn resolve(
    p: &Ports,
    mut finding: Finding,
    now: Timestamp,
    counts: &mut FindingCounts,
) -> Result<()> {
    if finding.status == FindingStatus::Resolved {
        // Resolved earlier, but its event did not go out.
        return announce(p, &mut finding, event_types::FINDING_RESOLVED).await;
    }
    let was_open = finding.status == FindingStatus::Open;
    finding.status = FindingStatus::Resolved;
    finding.resolved_at = Some(now);
    // A finding only watched was never reported, so its end is not news either.
    finding.published = !was_open;
    p.findings.save(&mut finding).await?;
    if was_open {
        counts.resolved += 1;
        audit_change(p, &finding, "finding.resolved").await?;
        announce(p, &mut finding, event_types::FINDING_RESOLVED).await?;
    }
    Ok(())
}

/// Publishes the finding's current status, then records that it did; a crash in between publishes again. An
/// opening is dated when its event goes out: that is when anyone could hear of it (a reclamation's grace runs
/// from then).
async fn announce(p: &Ports, finding: &mut Finding, detail_type: &'static str) -> Result<()> {
    let detail = json!({
        "findingId": finding.finding_id,
        "kind": finding.kind,
        "subject": finding.subject,
        "detail": finding.detail,
    });
    publish(p, detail_type, detail).await?;
    if detail_type == event_types::FINDING_OPENED {
        finding.opened_at = Some(p.clock.now());
    }
    finding.published = true;
    p.findings.save(finding).await
}

async fn audit_change(p: &Ports, finding: &Finding, action: &str) -> Result<()> {
    audit(
        p,
        "provisio",
        action,
        &finding.finding_id,
        Value::Null,
        json!({"status": finding.status, "detail": finding.detail}),
        None,
    )
    .await
}

/// `GET /reports/findings`: the findings not yet resolved, of one kind or of all, for admins and auditors.
pub async fn list(
    p: &Ports,
    caller: &Caller,
    kind: Option<&str>,
    status: Option<&str>,
) -> Result<Vec<Finding>> {
    require_reader(caller)?;
    let kinds = match kind {
        None => FindingKind::ALL.to_vec(),
        Some(k) => vec![parse(
            k,
            "kind",
            &FindingKind::ALL.map(FindingKind::as_str),
        )?],
    };
    let status = status
        .map(|s| parse::<FindingStatus>(s, "status", &["OPEN", "WATCHING"]))
        .transpose()?;
    let mut found = Vec::new();
    for kind in kinds {
        found.extend(
            p.findings
                .active(kind)
                .await?
                .into_iter()
                .filter(|f| f.is_active() && status.is_none_or(|s| f.status == s)),
        );
    }
    Ok(found)
}

/// A query parameter that must be one of `allowed` (their wire names).
fn parse<T: serde::de::DeserializeOwned>(value: &str, field: &str, allowed: &[&str]) -> Result<T> {
    if !allowed.contains(&value) {
        return Err(Error::validation(
            field,
            format!("must be one of {}", allowed.join(", ")),
        ));
    }
    serde_json::from_value(Value::String(value.to_owned()))
        .map_err(|e| Error::validation(field, e.to_string()))
}
