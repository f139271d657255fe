use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::{Identity, Timestamp};

/// The SCIM 2.0 side of an identity: what an identity provider set that HR attributes do not cover.
///
/// The identity itself holds what Provisio acts on (email, display name, title, department, cost center,
/// manager, employment type, location, status); the SCIM server derives those from the User it is sent and
/// keeps the rest of the User here, so the identity provider reads back what it wrote.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ScimAccount {
    /// Unique among live accounts, case-insensitively.
    pub user_name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_id: Option<String>,
    /// The User's other attributes as SCIM JSON (core attributes by name, the enterprise extension under its
    /// URN), except those the identity holds (title, department, costCenter, manager).
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    pub attributes: Map<String, Value>,
    pub created: Timestamp,
    pub last_modified: Timestamp,
    /// Set by a SCIM DELETE: the User is gone for the identity provider, the identity stays for the audit trail.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deleted_at: Option<Timestamp>,
}

impl ScimAccount {
    /// Whether the identity provider still sees this User (not deleted).
    pub fn is_live(&self) -> bool {
        self.deleted_at.is_none()
    }

    /// The form userName is unique and looked up in: SCIM compares userName case-insensitively (RFC 7643
    /// section 4.1.1, `caseExact: false`).
    pub fn user_name_key(user_name: &str) -> String {
        user_name.to_lowercase()
    }
}

/// The live SCIM account of `identity`, if an identity provider manages it.
pub fn live_scim_account(identity: &Identity) -> Option<&ScimAccount> {
    identity.scim.as_ref().filter(|s| s.is_live())
}

/// One page of the identities with a live SCIM account.
#[derive(Debug, Clone, PartialEq)]
pub struct ScimUsers {
    /// How many identities have a live SCIM account, in all.
    pub total: usize,
    pub items: Vec<Identity>,
}
