use serde::{Deserialize, Serialize};

use super::{AccessReviewPolicy, Timestamp};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Category {
    SoftwareLicense,
    Saas,
    Device,
    Access,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Recurrence {
    OneTime,
    Monthly,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Cost {
    pub amount: f64,
    pub currency: String,
    pub recurrence: Recurrence,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Risk {
    Low,
    Medium,
    High,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Lifecycle {
    Active,
    Deprecated,
    Eol,
}

/// A CEL condition with the reason shown to the employee when it does not hold.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Rule {
    pub when: String,
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "camelCase", deny_unknown_fields)]
pub enum ApproverSpec {
    /// The beneficiary's manager.
    Manager,
    /// The catalog item's owner.
    ItemOwner,
    User {
        #[serde(rename = "employeeId")]
        employee_id: String,
    },
    Group {
        group: String,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ApprovalMode {
    /// One approval from any approver completes the stage.
    Any,
    /// Every named approver must approve (groups count as one approver each).
    All,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct StageSpec {
    pub name: String,
    pub approvers: Vec<ApproverSpec>,
    #[serde(default = "default_mode")]
    pub mode: ApprovalMode,
    #[serde(default = "default_sla")]
    pub sla_hours: u32,
    /// CEL over `user`, `item`, `request`; the stage applies only when it holds.
    #[serde(default)]
    pub condition: Option<String>,
}

fn default_mode() -> ApprovalMode {
    ApprovalMode::Any
}

fn default_sla() -> u32 {
    48
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ApprovalPolicy {
    #[serde(default)]
    pub stages: Vec<StageSpec>,
    /// A request still waiting for approval after this long expires.
    #[serde(default)]
    pub max_age_hours: Option<u32>,
    /// Where group-assigned approvals escalate after twice their SLA (user approvers escalate to their manager).
    #[serde(default)]
    pub fallback_group: Option<String>,
}

/// How an item is fulfilled.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "camelCase", deny_unknown_fields)]
pub enum ConnectorConfig {
    /// The Provisio assignment is the entitlement (devices handed out, manual grants).
    #[default]
    Record,
    /// POST a signed JSON grant/revoke to `url`; the HMAC secret comes from env `secretEnv`.
    Webhook {
        url: String,
        #[serde(rename = "secretEnv", default)]
        secret_env: Option<String>,
    },
}

/// When idle holdings of an item are reclaimed: a holding without a usage signal (or a grant) for `idleDays`
/// gets a notice (an `idle` finding), and is revoked `graceDays` later unless it is used meanwhile.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Reclamation {
    pub idle_days: u32,
    pub grace_days: u32,
}

/// A requestable thing. Items are versioned: every admin write creates the next version.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CatalogItem {
    pub item_id: String,
    #[serde(default)]
    pub version: u32,
    pub name: String,
    #[serde(default)]
    pub description: String,
    pub category: Category,
    pub cost: Cost,
    pub gl_code: String,
    /// Employee id of the item's owner (app owner).
    pub owner_id: String,
    pub risk: Risk,
    #[serde(default)]
    pub requires_justification: bool,
    pub lifecycle: Lifecycle,
    #[serde(default)]
    pub replacement_item_id: Option<String>,
    #[serde(default)]
    pub eligibility: Vec<Rule>,
    /// CEL over `user` and `item`: people it holds for get the item without asking when they join or move
    /// (e.g. `user.department == "Engineering"`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub birthright: Option<String>,
    #[serde(default)]
    pub approval_policy: ApprovalPolicy,
    #[serde(default)]
    pub license_pool_id: Option<String>,
    #[serde(default)]
    pub connector: ConnectorConfig,
    /// Time-bound items: access ends after at most this many hours.
    #[serde(default)]
    pub max_duration_hours: Option<u32>,
    /// Licence reclamation: holdings without a usage signal for a while are revoked after a notice.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reclamation: Option<Reclamation>,
    /// A bundle: these items are provisioned together, all or none.
    #[serde(default)]
    pub components: Vec<String>,
    /// Access reviews: what happens to unreviewed holdings; absent = [`AccessReviewPolicy::default_for`] the risk.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access_review: Option<AccessReviewPolicy>,
    #[serde(default)]
    pub updated_at: Option<Timestamp>,
    #[serde(default)]
    pub updated_by: Option<String>,
}

impl CatalogItem {
    pub fn is_bundle(&self) -> bool {
        !self.components.is_empty()
    }

    pub fn review_policy(&self) -> AccessReviewPolicy {
        self.access_review
            .unwrap_or_else(|| AccessReviewPolicy::default_for(self.risk))
    }
}
