use serde::{Deserialize, Serialize};

/// The SCIM 2.0 side of an identity: what an identity provider set that HR attributes do not cover.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ScimAccount {
    pub user_name: String,
    #[serde(default)]
    pub external_id: Option<String>,
}
