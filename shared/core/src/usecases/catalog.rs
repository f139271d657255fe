//! Browsing the catalog, with the caller's eligibility for each item.

use serde::Serialize;

use super::{identity, item};
use crate::Result;
use crate::model::{Caller, CatalogItem, Lifecycle};
use crate::policy::{ineligibility_reasons, request_facts};
use crate::ports::Ports;

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CatalogEntry {
    #[serde(flatten)]
    pub item: CatalogItem,
    pub eligible: bool,
    pub reasons: Vec<String>,
}

fn entry(item: CatalogItem, reasons: Vec<String>) -> CatalogEntry {
    CatalogEntry {
        eligible: reasons.is_empty(),
        reasons,
        item,
    }
}

/// Items the caller may see (end-of-life items are no longer offered), each with eligibility and reasons.
pub async fn browse(p: &Ports, caller: &Caller) -> Result<Vec<CatalogEntry>> {
    let me = identity(p, &caller.employee_id).await?;
    let facts = request_facts(None, None, false);
    let mut items: Vec<_> = p
        .catalog
        .list()
        .await?
        .into_iter()
        .filter(|i| i.lifecycle != Lifecycle::Eol)
        .map(|i| {
            let reasons = ineligibility_reasons(&i, &me, facts.clone());
            entry(i, reasons)
        })
        .collect();
    items.sort_by(|a, b| a.item.item_id.cmp(&b.item.item_id));
    Ok(items)
}

/// One item, end-of-life ones included (so links keep working and say why it cannot be requested).
pub async fn get(p: &Ports, caller: &Caller, item_id: &str) -> Result<CatalogEntry> {
    let me = identity(p, &caller.employee_id).await?;
    let it = item(p, item_id).await?;
    let reasons = ineligibility_reasons(&it, &me, request_facts(None, None, false));
    Ok(entry(it, reasons))
}
