//! Administration: catalog, license pools, identities and the audit check.

use serde::{Deserialize, Serialize};

use super::{audit, identity};
use crate::audit::{Verification, verify};
use crate::model::*;
use crate::policy::validate_item;
use crate::ports::{Page, Ports};
use crate::{Error, FieldError, Result};

/// Checked before a request body is even parsed, so callers without the role learn nothing about its shape.
pub fn require_admin(caller: &Caller) -> Result<()> {
    if caller.is_admin() {
        Ok(())
    } else {
        Err(Error::Forbidden("requires provisio-admins".into()))
    }
}

pub(crate) fn require_reader(caller: &Caller) -> Result<()> {
    if caller.is_admin() || caller.is_auditor() {
        Ok(())
    } else {
        Err(Error::Forbidden(
            "requires provisio-admins or provisio-auditors".into(),
        ))
    }
}

/// Creates or replaces an item as its next version, after checking its rules compile and its references exist.
pub async fn put_item(
    p: &Ports,
    caller: &Caller,
    item_id: &str,
    mut item: CatalogItem,
) -> Result<CatalogItem> {
    require_admin(caller)?;
    let mut errors = validate_item(&item);
    if item.item_id != item_id {
        errors.push(FieldError::new(
            "itemId",
            "must match the item id in the path",
        ));
    }
    if item.name.trim().is_empty() {
        errors.push(FieldError::new("name", "is required"));
    }
    if !(item.cost.amount.is_finite() && item.cost.amount >= 0.0) {
        errors.push(FieldError::new(
            "cost.amount",
            "must be a non-negative number",
        ));
    }
    if let Some(r) = item.reclamation {
        for (field, days) in [("idleDays", r.idle_days), ("graceDays", r.grace_days)] {
            if days == 0 {
                errors.push(FieldError::new(
                    format!("reclamation.{field}"),
                    "must be at least 1",
                ));
            }
        }
    }
    match item.max_duration_hours {
        Some(0) => errors.push(FieldError::new("maxDurationHours", "must be at least 1")),
        Some(h) if h > time::MAX_DURATION_HOURS => errors.push(FieldError::new(
            "maxDurationHours",
            format!("at most {} hours", time::MAX_DURATION_HOURS),
        )),
        _ => {}
    }
    for (i, stage) in item.approval_policy.stages.iter().enumerate() {
        if stage.approvers.is_empty() {
            errors.push(FieldError::new(
                format!("approvalPolicy.stages[{i}].approvers"),
                "needs at least one approver",
            ));
        }
    }
    for (i, c) in item.components.iter().enumerate() {
        match p.catalog.get(c).await? {
            None => errors.push(FieldError::new(
                format!("components[{i}]"),
                format!("no catalog item {c}"),
            )),
            Some(ci) if ci.is_bundle() => errors.push(FieldError::new(
                format!("components[{i}]"),
                "a bundle cannot contain a bundle",
            )),
            Some(_) => {}
        }
    }
    if p.identities.get(&item.owner_id).await?.is_none() {
        errors.push(FieldError::new(
            "ownerId",
            format!("no employee {}", item.owner_id),
        ));
    }
    if !errors.is_empty() {
        return Err(Error::Validation(errors));
    }
    item.updated_at = Some(p.clock.now());
    item.updated_by = Some(caller.employee_id.clone());
    let stored = p.catalog.put(item).await?;
    let after = serde_json::json!({"version": stored.version, "lifecycle": stored.lifecycle});
    audit(
        p,
        &caller.employee_id,
        "catalog.put",
        item_id,
        serde_json::Value::Null,
        after,
        None,
    )
    .await?;
    Ok(stored)
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PoolInput {
    pub item_id: String,
    pub total: u32,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PoolView {
    #[serde(flatten)]
    pub pool: LicensePool,
    pub available: u32,
}

impl From<LicensePool> for PoolView {
    fn from(pool: LicensePool) -> Self {
        Self {
            available: pool.available(),
            pool,
        }
    }
}

/// Creates or resizes a pool; never below the seats already assigned.
pub async fn put_pool(
    p: &Ports,
    caller: &Caller,
    pool_id: &str,
    input: PoolInput,
) -> Result<PoolView> {
    require_admin(caller)?;
    if p.catalog.get(&input.item_id).await?.is_none() {
        return Err(Error::validation(
            "itemId",
            format!("no catalog item {}", input.item_id),
        ));
    }
    if let Some(existing) = p.licenses.get_pool(pool_id).await?
        && existing.item_id != input.item_id
    {
        return Err(Error::validation(
            "itemId",
            format!("pool {pool_id} belongs to {}", existing.item_id),
        ));
    }
    let pool = p
        .licenses
        .set_total(pool_id, &input.item_id, input.total)
        .await?;
    let after = serde_json::json!({"total": pool.total});
    audit(
        p,
        &caller.employee_id,
        "license.pool_set",
        pool_id,
        serde_json::Value::Null,
        after,
        None,
    )
    .await?;
    Ok(pool.into())
}

pub async fn get_pool(p: &Ports, caller: &Caller, pool_id: &str) -> Result<PoolView> {
    require_reader(caller)?;
    let pool = p
        .licenses
        .get_pool(pool_id)
        .await?
        .ok_or_else(|| Error::NotFound(format!("license pool {pool_id}")))?;
    Ok(pool.into())
}

pub async fn verify_audit(p: &Ports, caller: &Caller) -> Result<Verification> {
    if !caller.is_auditor() {
        return Err(Error::Forbidden("requires provisio-auditors".into()));
    }
    verify(p.audit.as_ref()).await
}

pub const MAX_PAGE: usize = 100;

pub async fn list_identities(
    p: &Ports,
    caller: &Caller,
    cursor: Option<&str>,
    limit: Option<usize>,
) -> Result<Page<Identity>> {
    require_reader(caller)?;
    p.identities
        .list(cursor, limit.unwrap_or(50).clamp(1, MAX_PAGE))
        .await
}

pub async fn get_identity(p: &Ports, caller: &Caller, employee_id: &str) -> Result<Identity> {
    require_reader(caller)?;
    identity(p, employee_id).await
}
