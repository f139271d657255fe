use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{Timestamp, Versioned};

/// The compliance streams a finding belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FindingKind {
    /// A time-bound holding ends within the notice lead time: its holder may extend it.
    Expiring,
    /// A licence pool has more holders of its item than seats.
    OverAllocation,
    /// A licence pool has had fewer than half its seats in use for the observation period.
    UnderUtilization,
    /// Someone holds an end-of-life item.
    EndOfLife,
    /// A leaver still holds access after offboarding had its time: the sweep revokes it.
    Orphan,
    /// A holding of an item with a reclamation policy has not been used for its idle days: the notice before
    /// it is revoked.
    Idle,
}

impl FindingKind {
    pub const ALL: [FindingKind; 6] = [
        Self::Expiring,
        Self::OverAllocation,
        Self::UnderUtilization,
        Self::EndOfLife,
        Self::Orphan,
        Self::Idle,
    ];

    /// The wire name (`over_allocation`), also the key prefix of the finding ids.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Expiring => "expiring",
            Self::OverAllocation => "over_allocation",
            Self::UnderUtilization => "under_utilization",
            Self::EndOfLife => "end_of_life",
            Self::Orphan => "orphan",
            Self::Idle => "idle",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum FindingStatus {
    /// The condition holds but has not lasted long enough to report (under-utilization's 30 days).
    Watching,
    /// Reported: `FindingOpened` went out.
    Open,
    /// The condition no longer holds.
    Resolved,
}

/// One compliance finding: a condition found on a subject (a holding or a pool) by the daily sweep. There is
/// one record per kind and subject, so re-runs update it instead of reporting again; it reopens when the
/// condition comes back after it was resolved.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Finding {
    /// `<kind>:<subject>`.
    pub finding_id: String,
    pub kind: FindingKind,
    /// The holding (assignment id) or pool id the finding is about.
    pub subject: String,
    /// Figures and ids only (never names or e-mail addresses), as they were last observed.
    pub detail: Value,
    pub status: FindingStatus,
    /// Since when the condition has held without a break.
    pub observed_since: Timestamp,
    pub last_observed_at: Timestamp,
    #[serde(default)]
    pub opened_at: Option<Timestamp>,
    #[serde(default)]
    pub resolved_at: Option<Timestamp>,
    /// Whether the event of the current status reached the bus; a sweep that finds it unset publishes again.
    #[serde(default)]
    pub published: bool,
    #[serde(default)]
    pub version: u64,
}

impl Finding {
    pub fn id_for(kind: FindingKind, subject: &str) -> String {
        format!("{}:{subject}", kind.as_str())
    }

    /// Not yet resolved: watched or open.
    pub fn is_active(&self) -> bool {
        self.status != FindingStatus::Resolved
    }
}

impl Versioned for Finding {
    const KIND: &'static str = "finding";
    fn id(&self) -> &str {
        &self.finding_id
    }
    fn version(&self) -> u64 {
        self.version
    }
    fn set_version(&mut self, version: u64) {
        self.version = version;
    }
}
