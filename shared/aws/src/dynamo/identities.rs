use async_trait::async_trait;
use provisio_core::model::{Identity, ScimAccount, ScimUsers, Timestamp, live_scim_account};
use provisio_core::ports::{IdentityStore, Page};
use provisio_core::{Error, Result};

use super::{Item, Table, from_item, s, sort_time, to_item, unavailable};

/// Table `identities`: one item per employee (key `employeeId`). Index `byEmployee` (constant partition
/// `kind`, sorted by id) pages through everyone in order; the sparse index `delegating` holds only identities
/// with delegate windows, the few an approver's inbox must consult. Two sparse indexes hold only identities
/// with a live SCIM account: `scimUsers` (constant partition `scimAccount`, sorted by `scimUserName`, the
/// lower-cased userName) lists them and finds one by userName; `scimExternalIds` (partition `scimExternalId`)
/// finds them by externalId. The sparse index `byTermination` (constant partition `leaver`, sorted by
/// `terminatedKey`) holds only terminated identities, for the orphaned-access sweep's recent leavers.
pub struct DynamoIdentities(pub(crate) Table);

const KIND: &str = "identity";
const DELEGATING: &str = "1";
const SCIM_ACCOUNT: &str = "1";
const LEAVER: &str = "1";

#[async_trait]
impl IdentityStore for DynamoIdentities {
    async fn get(&self, employee_id: &str) -> Result<Option<Identity>> {
        let key = Item::from([("employeeId".to_owned(), s(employee_id))]);
        self.0.get_item(key).await?.map(from_item).transpose()
    }

    async fn put(&self, identity: Identity) -> Result<()> {
        let mut extra = vec![("kind", s(KIND))];
        if !identity.delegates.is_empty() {
            extra.push(("delegating", s(DELEGATING)));
        }
        if let Some(at) = identity.terminated_at() {
            extra.push(("leaver", s(LEAVER)));
            extra.push(("terminatedKey", s(sort_time(at))));
        }
        // A put replaces the whole item, so a deleted account drops out of the SCIM indexes here.
        if let Some(account) = live_scim_account(&identity) {
            extra.push(("scimAccount", s(SCIM_ACCOUNT)));
            extra.push((
                "scimUserName",
                s(ScimAccount::user_name_key(&account.user_name)),
            ));
            if let Some(external_id) = &account.external_id {
                extra.push(("scimExternalId", s(external_id)));
            }
        }
        self.0
            .client
            .put_item()
            .table_name(&self.0.name)
            .set_item(Some(to_item(&identity, &extra)?))
            .send()
            .await
            .map_err(unavailable)?;
        Ok(())
    }

    async fn list(&self, cursor: Option<&str>, limit: usize) -> Result<Page<Identity>> {
        // One more than asked tells whether a next page exists; every page makes progress, as in memory.
        let limit = limit.max(1);
        let wanted =
            i32::try_from(limit + 1).map_err(|_| Error::validation("limit", "too large"))?;
        let mut items: Vec<Identity> = Vec::new();
        let mut after = cursor.map(str::to_owned);
        loop {
            let mut q = self
                .0
                .client
                .query()
                .table_name(&self.0.name)
                .index_name("byEmployee")
                .expression_attribute_names("#kind", "kind")
                .expression_attribute_values(":k", s(KIND))
                .limit(wanted);
            q = match &after {
                Some(id) => q
                    .key_condition_expression("#kind = :k AND #id > :after")
                    .expression_attribute_names("#id", "employeeId")
                    .expression_attribute_values(":after", s(id)),
                None => q.key_condition_expression("#kind = :k"),
            };
            let out = q.send().await.map_err(unavailable)?;
            for item in out.items.unwrap_or_default() {
                items.push(from_item(item)?);
            }
            let exhausted = out.last_evaluated_key.is_none_or(|k| k.is_empty());
            if items.len() > limit || exhausted {
                break;
            }
            after = items.last().map(|i| i.employee_id.clone());
        }
        let next_cursor = (items.len() > limit).then(|| {
            items.truncate(limit);
            items[limit - 1].employee_id.clone()
        });
        Ok(Page { items, next_cursor })
    }

    async fn delegators_of(&self, delegate_id: &str) -> Result<Vec<Identity>> {
        let items = self
            .0
            .query_all(
                Some("delegating"),
                "#delegating = :d",
                &[(":d", s(DELEGATING))],
                true,
            )
            .await?;
        let mut delegators = Vec::new();
        for item in items {
            let identity: Identity = from_item(item)?;
            if identity
                .delegates
                .iter()
                .any(|w| w.delegate_id == delegate_id)
            {
                delegators.push(identity);
            }
        }
        Ok(delegators)
    }

    async fn by_scim_user_name(&self, user_name: &str) -> Result<Option<Identity>> {
        let items = self
            .0
            .query_all(
                Some("scimUsers"),
                "#scimAccount = :a AND #scimUserName = :u",
                &[
                    (":a", s(SCIM_ACCOUNT)),
                    (":u", s(ScimAccount::user_name_key(user_name))),
                ],
                true,
            )
            .await?;
        // Index reads are eventually consistent: re-read the item itself for its current state.
        for item in items {
            let identity: Identity = from_item(item)?;
            if let Some(current) = self.get(&identity.employee_id).await?
                && live_scim_account(&current).is_some_and(|a| {
                    ScimAccount::user_name_key(&a.user_name)
                        == ScimAccount::user_name_key(user_name)
                })
            {
                return Ok(Some(current));
            }
        }
        Ok(None)
    }

    async fn by_scim_external_id(&self, external_id: &str) -> Result<Vec<Identity>> {
        let items = self
            .0
            .query_all(
                Some("scimExternalIds"),
                "#scimExternalId = :e",
                &[(":e", s(external_id))],
                true,
            )
            .await?;
        let mut found = Vec::new();
        for item in items {
            let identity: Identity = from_item(item)?;
            if let Some(current) = self.get(&identity.employee_id).await?
                && live_scim_account(&current)
                    .is_some_and(|a| a.external_id.as_deref() == Some(external_id))
            {
                found.push(current);
            }
        }
        Ok(found)
    }

    async fn scim_users(&self, offset: usize, limit: usize) -> Result<ScimUsers> {
        // SCIM pages by index and wants the total, so the whole (sparse) index is read; only the requested
        // window is decoded.
        let mut total = 0usize;
        let mut items = Vec::new();
        let mut start: Option<Item> = None;
        loop {
            let out = self
                .0
                .client
                .query()
                .table_name(&self.0.name)
                .index_name("scimUsers")
                .key_condition_expression("#a = :a")
                .expression_attribute_names("#a", "scimAccount")
                .expression_attribute_values(":a", s(SCIM_ACCOUNT))
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(unavailable)?;
            for item in out.items.unwrap_or_default() {
                if total >= offset && items.len() < limit {
                    items.push(from_item(item)?);
                }
                total += 1;
            }
            match out.last_evaluated_key {
                Some(key) if !key.is_empty() => start = Some(key),
                _ => return Ok(ScimUsers { total, items }),
            }
        }
    }

    async fn terminated_since(&self, from: Timestamp) -> Result<Vec<Identity>> {
        let items = self
            .0
            .query_all(
                Some("byTermination"),
                "#leaver = :l AND #terminatedKey >= :from",
                &[(":l", s(LEAVER)), (":from", s(sort_time(from)))],
                true,
            )
            .await?;
        let mut leavers = Vec::new();
        for item in items {
            let identity: Identity = from_item(item)?;
            // The index may lag a put (a rehire): keep only who is still a recent leaver.
            if identity.terminated_at().is_some_and(|at| at >= from) {
                leavers.push(identity);
            }
        }
        Ok(leavers)
    }
}
