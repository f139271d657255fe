use serde::{Deserialize, Serialize};

use super::{ScimAccount, Timestamp};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum EmploymentType {
    Fte,
    Contractor,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IdentityStatus {
    Active,
    OnLeave,
    Terminated,
}

/// A period during which `delegate_id` acts for the identity on approvals.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DelegateWindow {
    pub delegate_id: String,
    pub from: Timestamp,
    #[serde(default)]
    pub until: Option<Timestamp>,
}

impl DelegateWindow {
    pub fn covers(&self, at: Timestamp) -> bool {
        self.from <= at && self.until.is_none_or(|u| at < u)
    }
}

/// An employee as HR describes them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Identity {
    pub employee_id: String,
    pub email: String,
    pub display_name: String,
    pub department: String,
    pub job_title: String,
    pub location: String,
    pub cost_center: String,
    #[serde(default)]
    pub manager_id: Option<String>,
    pub employment_type: EmploymentType,
    pub status: IdentityStatus,
    /// Group memberships known from the identity provider (used to resolve group approvers).
    #[serde(default)]
    pub groups: Vec<String>,
    #[serde(default)]
    pub delegates: Vec<DelegateWindow>,
    /// The last lifecycle change (HR event or SCIM write) applied: an older one never overwrites it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_change: Option<AppliedChange>,
    /// What the identity provider manages of this identity over SCIM, if it does.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scim: Option<ScimAccount>,
}

/// A lifecycle change applied to an identity, for ordering and for resuming one whose consequences failed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AppliedChange {
    pub change_id: String,
    pub occurred_at: Timestamp,
    /// While the change's consequences (birthright, revocations, offboarding) are not all done: the identity as
    /// it was before, so a redelivery resumes from the same starting point. None once settled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub settling_from: Option<Box<Previous>>,
}

/// The state an unsettled change started from (`None`: the identity did not exist).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Previous {
    #[serde(default)]
    pub identity: Option<Identity>,
}

impl Identity {
    /// When a terminated identity was terminated: the time of the change that applied (none for an identity
    /// loaded as terminated, which no change terminated).
    pub fn terminated_at(&self) -> Option<Timestamp> {
        match self.status {
            IdentityStatus::Terminated => self.last_change.as_ref().map(|c| c.occurred_at),
            _ => None,
        }
    }

    /// Who acts for this identity at `at`: an explicit delegate window, else nobody.
    pub fn active_delegate(&self, at: Timestamp) -> Option<&str> {
        self.delegates
            .iter()
            .find(|w| w.covers(at))
            .map(|w| w.delegate_id.as_str())
    }

    /// Whether someone else should act in this identity's place: on leave, or inside a delegate window.
    pub fn replaced_by(&self, at: Timestamp) -> Option<&str> {
        match self.status {
            IdentityStatus::Terminated => None,
            _ => self.active_delegate(at),
        }
    }
}
