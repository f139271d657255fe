//! What employees hold: listing, returning and extending.

use serde::Deserialize;
use sha2::{Digest, Sha256};

use super::fulfilment::Deprovision;
use crate::model::*;
use crate::ports::Ports;
use crate::{Error, Result};

pub async fn list(p: &Ports, caller: &Caller) -> Result<Vec<Assignment>> {
    p.assignments.list_by_holder(&caller.employee_id).await
}

/// The caller's own holding; anything else is NotFound.
async fn own(p: &Ports, caller: &Caller, assignment_id: &str) -> Result<Assignment> {
    match p.assignments.get(assignment_id).await? {
        Some(a) if a.holder_id == caller.employee_id => Ok(a),
        _ => Err(Error::NotFound(format!("assignment {assignment_id}"))),
    }
}

fn require_active(a: &Assignment) -> Result<()> {
    if a.status != AssignmentStatus::Active {
        return Err(Error::Conflict(format!(
            "assignment {} is no longer active",
            a.assignment_id
        )));
    }
    Ok(())
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ReturnInput {
    /// Which grant to give back; defaults to the most recent one.
    #[serde(default)]
    pub request_id: Option<String>,
}

/// Gives back one source of a holding. Access ends (revoke, seat freed) only when no other source grants it.
pub async fn give_back(
    p: &Ports,
    caller: &Caller,
    assignment_id: &str,
    input: ReturnInput,
) -> Result<Assignment> {
    let a = own(p, caller, assignment_id).await?;
    require_active(&a)?;
    let source = match input.request_id {
        Some(r) if a.sources.iter().any(|s| s.request_id == r) => r,
        Some(r) => {
            return Err(Error::validation(
                "requestId",
                format!("{r} is not a source of this assignment"),
            ));
        }
        None => a
            .sources
            .iter()
            .max_by_key(|s| s.granted_at)
            .map(|s| s.request_id.clone())
            .ok_or_else(|| Error::Conflict("assignment has no source left to return".into()))?,
    };
    let input = Deprovision {
        assignment_id: a.assignment_id.clone(),
        request_id: Some(source.clone()),
        reason: AssignmentStatus::Returned,
    };
    let name = execution_name("return", &[&a.assignment_id, &source]);
    let payload = serde_json::to_value(&input).map_err(|e| Error::Internal(e.to_string()))?;
    p.workflow.start_deprovision(&name, payload).await?;
    Ok(a)
}

/// Step Functions execution names allow 80 characters from a restricted set: derive a stable one from ids.
pub fn execution_name(prefix: &str, parts: &[&str]) -> String {
    let digest = Sha256::digest(parts.join("\n").as_bytes());
    format!("{prefix}-{}", &hex::encode(digest)[..40])
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ExtendInput {
    pub duration_hours: u32,
}

/// Asks for more time on a holding through a new request (approval re-runs when the item's policy says so).
pub async fn extend(
    p: &Ports,
    caller: &Caller,
    assignment_id: &str,
    input: ExtendInput,
) -> Result<Request> {
    let a = own(p, caller, assignment_id).await?;
    require_active(&a)?;
    super::requests::extend(p, caller, &a, input.duration_hours).await
}
