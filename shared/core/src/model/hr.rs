use serde::{Deserialize, Serialize};

use super::{EmploymentType, Timestamp};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HrEventType {
    /// A joiner.
    Hire,
    /// A mover (department, job, location, cost center, manager…).
    Update,
    /// A leaver.
    Terminate,
    /// Leave begins; `delegateId` acts on the employee's approvals meanwhile.
    LeaveStart,
    LeaveEnd,
}

/// The employee as the HR system describes them. A hire carries every attribute; other events may carry only
/// what they change (absent means unchanged).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct HrEmployee {
    pub employee_id: String,
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default)]
    pub display_name: Option<String>,
    #[serde(default)]
    pub department: Option<String>,
    #[serde(default)]
    pub job_title: Option<String>,
    #[serde(default)]
    pub location: Option<String>,
    #[serde(default)]
    pub cost_center: Option<String>,
    #[serde(default)]
    pub manager_id: Option<String>,
    #[serde(default)]
    pub employment_type: Option<EmploymentType>,
}

/// A joiner/mover/leaver event posted by an HR system (CONTRACT.md, "HR webhook").
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct HrEvent {
    pub event_id: String,
    #[serde(rename = "type")]
    pub kind: HrEventType,
    pub occurred_at: Timestamp,
    pub employee: HrEmployee,
    #[serde(default)]
    pub delegate_id: Option<String>,
}
