//! Usage signals: connectors and integrations (a service identity in `provisio-fulfilment`) or admins report that
//! a holding was used, so the compliance sweep does not reclaim it as idle.

use chrono::Duration;
use serde::{Deserialize, Serialize};

use super::MAX_CONFLICT_RETRIES;
use crate::model::{Assignment, AssignmentStatus, Caller, FULFILMENT, Timestamp, time};
use crate::ports::Ports;
use crate::{Error, Result};

/// How far ahead of our clock a reporter's clock may run.
pub const CLOCK_SKEW: Duration = Duration::minutes(5);

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UsageSignal {
    pub assignment_id: String,
    pub used_at: Timestamp,
}

/// The holding after a signal: what the reporter needs to know, no holder details beyond the ids.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Recorded {
    pub assignment_id: String,
    pub status: AssignmentStatus,
    pub last_used_at: Option<Timestamp>,
}

impl From<Assignment> for Recorded {
    fn from(a: Assignment) -> Self {
        Self {
            assignment_id: a.assignment_id,
            status: a.status,
            last_used_at: a.last_used_at,
        }
    }
}

/// Checked before the body is parsed, as `require_admin`.
pub fn require_reporter(caller: &Caller) -> Result<()> {
    if caller.is_admin() || caller.in_group(FULFILMENT) {
        Ok(())
    } else {
        Err(Error::Forbidden(
            "requires provisio-admins or provisio-fulfilment".into(),
        ))
    }
}

/// `POST /usage`: records `usedAt` as the holding's last use. Idempotent and order-free: the last use never
/// moves backwards, and a signal for an ended holding changes nothing. Not audited: signals are telemetry, and
/// what they prevent or allow (a reclamation) is audited where it happens.
pub async fn record(p: &Ports, caller: &Caller, signal: UsageSignal) -> Result<Recorded> {
    require_reporter(caller)?;
    if signal.used_at > time::plus(p.clock.now(), CLOCK_SKEW, "clock skew allowance")? {
        return Err(Error::validation("usedAt", "must not be in the future"));
    }
    let id = &signal.assignment_id;
    for _ in 0..MAX_CONFLICT_RETRIES {
        let mut a = p
            .assignments
            .get(id)
            .await?
            .ok_or_else(|| Error::NotFound(format!("assignment {id}")))?;
        let newer = a.last_used_at.is_none_or(|at| at < signal.used_at);
        if a.status != AssignmentStatus::Active || !newer {
            return Ok(a.into());
        }
        a.last_used_at = Some(signal.used_at);
        match p.assignments.save(&mut a).await {
            Ok(()) => return Ok(a.into()),
            Err(Error::Conflict(_)) => continue,
            Err(e) => return Err(e),
        }
    }
    Err(Error::Conflict(format!(
        "assignment {id} is changing concurrently; try again"
    )))
}
