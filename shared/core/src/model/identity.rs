use serde::{Deserialize, Serialize};

use super::Timestamp;

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
}

impl Identity {
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
