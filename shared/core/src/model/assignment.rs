use serde::{Deserialize, Serialize};

use super::Timestamp;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum AssignmentStatus {
    Active,
    Returned,
    Expired,
    Revoked,
}

/// One reason a holder has an item: the request that granted it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GrantSource {
    pub request_id: String,
    /// Set when the grant came through a bundle.
    #[serde(default)]
    pub via_bundle: Option<String>,
    pub granted_at: Timestamp,
    #[serde(default)]
    pub expires_at: Option<Timestamp>,
}

/// What one holder has of one item. Keyed by holder + item: a second grant adds a source (and may extend the
/// expiry); returning one source never revokes the others. Access ends when the last source goes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Assignment {
    pub assignment_id: String,
    pub holder_id: String,
    pub item_id: String,
    pub status: AssignmentStatus,
    pub sources: Vec<GrantSource>,
    /// Latest expiry over the sources; None while any source is permanent.
    #[serde(default)]
    pub expires_at: Option<Timestamp>,
    /// License pool the holding occupies a seat in, if any.
    #[serde(default)]
    pub pool_id: Option<String>,
    /// The request whose seat the holding occupies.
    #[serde(default)]
    pub seat_request_id: Option<String>,
    /// The request whose connector grant created the entitlement; revoke names the same grant.
    #[serde(default)]
    pub granted_by: Option<String>,
    /// What the connector returned at grant time, handed back on revoke.
    #[serde(default)]
    pub connector_ref: Option<serde_json::Value>,
    pub granted_at: Timestamp,
    #[serde(default)]
    pub ended_at: Option<Timestamp>,
    /// A revocation scheduled ahead (a mover's grace period): the compliance sweep revokes the holding then.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revocation: Option<Revocation>,
    /// The latest usage signal (`POST /usage`); never moves backwards. Idle holdings of items with a
    /// reclamation policy are reclaimed by the compliance sweep.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_used_at: Option<Timestamp>,
    #[serde(default)]
    pub version: u64,
}

/// When and why a holding is to be revoked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Revocation {
    pub at: Timestamp,
    pub reason: String,
}

impl Assignment {
    /// A new active holding of `item_id` by `holder_id` from `granted_at`, before any source or seat is added.
    pub fn new(holder_id: &str, item_id: &str, granted_at: Timestamp) -> Self {
        Self {
            assignment_id: Self::id_for(holder_id, item_id),
            holder_id: holder_id.to_string(),
            item_id: item_id.to_string(),
            status: AssignmentStatus::Active,
            sources: vec![],
            expires_at: None,
            pool_id: None,
            seat_request_id: None,
            granted_by: None,
            connector_ref: None,
            granted_at,
            ended_at: None,
            revocation: None,
            last_used_at: None,
            version: 0,
        }
    }

    /// When the holding ends on its own: its expiry or a scheduled revocation, whichever comes first.
    pub fn ends_at(&self) -> Option<Timestamp> {
        match (self.expires_at, self.revocation.as_ref().map(|r| r.at)) {
            (Some(e), Some(r)) => Some(e.min(r)),
            (e, r) => e.or(r),
        }
    }

    /// Whether the holding was active at some moment in `[from, to)`: granted before `to`, and still active or
    /// ended after `from` (access ends at `ended_at`, so a holding ended exactly at `from` was not held).
    pub fn held_between(&self, from: Timestamp, to: Timestamp) -> bool {
        self.granted_at < to
            && match self.status {
                AssignmentStatus::Active => true,
                _ => self.ended_at.is_some_and(|end| end > from),
            }
    }

    /// When the holding was last used, as far as Provisio knows: its latest usage signal or, if later, its
    /// latest grant (asking for an item again is a sign of use too).
    pub fn last_use(&self) -> Timestamp {
        self.sources
            .iter()
            .map(|s| s.granted_at)
            .chain(self.last_used_at)
            .fold(self.granted_at, Timestamp::max)
    }

    pub fn id_for(holder_id: &str, item_id: &str) -> String {
        format!("{holder_id}.{item_id}")
    }

    /// Recomputes the expiry from the sources: the latest one, or none if any source is permanent.
    pub fn recompute_expiry(&mut self) {
        self.expires_at = if self.sources.iter().any(|s| s.expires_at.is_none()) {
            None
        } else {
            self.sources.iter().filter_map(|s| s.expires_at).max()
        };
    }
}
