use std::collections::BTreeMap;
use std::ops::Bound;

use async_trait::async_trait;
use provisio_core::Result;
use provisio_core::model::{Identity, ScimAccount, ScimUsers, Timestamp, live_scim_account};
use provisio_core::ports::{IdentityStore, Page};

use crate::locked::Locked;

#[derive(Default)]
pub struct MemoryIdentities(Locked<BTreeMap<String, Identity>>);

#[async_trait]
impl IdentityStore for MemoryIdentities {
    async fn get(&self, employee_id: &str) -> Result<Option<Identity>> {
        Ok(self.0.with(|ids| ids.get(employee_id).cloned()))
    }

    async fn put(&self, identity: Identity) -> Result<()> {
        self.0
            .with(|ids| ids.insert(identity.employee_id.clone(), identity));
        Ok(())
    }

    async fn list(&self, cursor: Option<&str>, limit: usize) -> Result<Page<Identity>> {
        let start = cursor.map_or(Bound::Unbounded, Bound::Excluded);
        self.0.with(|ids| {
            let mut rest = ids
                .range::<str, _>((start, Bound::Unbounded))
                .map(|(_, i)| i);
            // An empty page would hand back the same cursor forever, so every page makes progress.
            let items: Vec<Identity> = rest.by_ref().take(limit.max(1)).cloned().collect();
            let next_cursor = match (items.last(), rest.next()) {
                (Some(last), Some(_)) => Some(last.employee_id.clone()),
                _ => None,
            };
            Ok(Page { items, next_cursor })
        })
    }

    async fn delegators_of(&self, delegate_id: &str) -> Result<Vec<Identity>> {
        Ok(self.0.with(|ids| {
            ids.values()
                .filter(|i| i.delegates.iter().any(|w| w.delegate_id == delegate_id))
                .cloned()
                .collect()
        }))
    }

    async fn by_scim_user_name(&self, user_name: &str) -> Result<Option<Identity>> {
        let key = ScimAccount::user_name_key(user_name);
        Ok(self.0.with(|ids| {
            ids.values()
                .find(|i| {
                    live_scim_account(i)
                        .is_some_and(|s| ScimAccount::user_name_key(&s.user_name) == key)
                })
                .cloned()
        }))
    }

    async fn by_scim_external_id(&self, external_id: &str) -> Result<Vec<Identity>> {
        Ok(self.0.with(|ids| {
            ids.values()
                .filter(|i| {
                    live_scim_account(i)
                        .is_some_and(|s| s.external_id.as_deref() == Some(external_id))
                })
                .cloned()
                .collect()
        }))
    }

    async fn scim_users(&self, offset: usize, limit: usize) -> Result<ScimUsers> {
        Ok(self.0.with(|ids| {
            // The DynamoDB index sorts by the userName key, then by employee id: the same order here.
            let mut live: Vec<(String, &Identity)> = ids
                .values()
                .filter_map(|i| {
                    live_scim_account(i).map(|s| (ScimAccount::user_name_key(&s.user_name), i))
                })
                .collect();
            live.sort_by(|a, b| (&a.0, &a.1.employee_id).cmp(&(&b.0, &b.1.employee_id)));
            ScimUsers {
                total: live.len(),
                items: live
                    .into_iter()
                    .skip(offset)
                    .take(limit)
                    .map(|(_, i)| i.clone())
                    .collect(),
            }
        }))
    }

    async fn terminated_since(&self, from: Timestamp) -> Result<Vec<Identity>> {
        let mut leavers: Vec<Identity> = self.0.with(|ids| {
            ids.values()
                .filter(|i| i.terminated_at().is_some_and(|at| at >= from))
                .cloned()
                .collect()
        });
        leavers.sort_by_key(Identity::terminated_at);
        Ok(leavers)
    }
}
