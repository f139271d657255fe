use serde::{Deserialize, Serialize};

/// Groups with meaning to Provisio (CONTRACT.md).
pub const ADMINS: &str = "provisio-admins";
pub const AUDITORS: &str = "provisio-auditors";
pub const FULFILMENT: &str = "provisio-fulfilment";

/// The authenticated caller, built only from verified token claims.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Caller {
    pub employee_id: String,
    pub email: Option<String>,
    pub groups: Vec<String>,
}

impl Caller {
    /// The identity Provisio itself acts as (state machine steps, sweeps).
    pub fn system() -> Self {
        Self {
            employee_id: "provisio".into(),
            email: None,
            groups: vec![],
        }
    }

    pub fn in_group(&self, group: &str) -> bool {
        self.groups.iter().any(|g| g == group)
    }

    pub fn is_admin(&self) -> bool {
        self.in_group(ADMINS)
    }

    pub fn is_auditor(&self) -> bool {
        self.in_group(AUDITORS)
    }

    /// Approval principals this caller answers for directly: itself and its groups.
    pub fn principals(&self) -> Vec<Principal> {
        std::iter::once(Principal::User(self.employee_id.clone()))
            .chain(self.groups.iter().cloned().map(Principal::Group))
            .collect()
    }
}

/// Who an approval task is assigned to. Stored as `user:E100` / `group:security`, which is also the key of
/// the approvals-by-approver index.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Principal {
    User(String),
    Group(String),
}

impl std::fmt::Display for Principal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Principal::User(id) => write!(f, "user:{id}"),
            Principal::Group(g) => write!(f, "group:{g}"),
        }
    }
}

impl std::str::FromStr for Principal {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.split_once(':') {
            Some(("user", id)) if !id.is_empty() => Ok(Principal::User(id.into())),
            Some(("group", g)) if !g.is_empty() => Ok(Principal::Group(g.into())),
            _ => Err(format!("invalid principal {s:?}")),
        }
    }
}

impl Serialize for Principal {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Principal {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d)?
            .parse()
            .map_err(serde::de::Error::custom)
    }
}
