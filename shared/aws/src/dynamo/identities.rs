use async_trait::async_trait;
use provisio_core::model::Identity;
use provisio_core::ports::{IdentityStore, Page};
use provisio_core::{Error, Result};

use super::{Item, Table, from_item, s, to_item, unavailable};

/// Table `identities`: one item per employee (key `employeeId`). Index `byEmployee` (constant partition
/// `kind`, sorted by id) pages through everyone in order; the sparse index `delegating` holds only identities
/// with delegate windows, the few an approver's inbox must consult.
pub struct DynamoIdentities(pub(crate) Table);

const KIND: &str = "identity";
const DELEGATING: &str = "1";

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
}
