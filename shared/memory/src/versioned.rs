use std::collections::BTreeMap;
use std::collections::btree_map::Entry;

use provisio_core::model::Versioned;
use provisio_core::{Error, Result};

use crate::locked::Locked;

/// Records by id with conditional create and compare-and-swap save, shared by requests, approvals and
/// assignments.
pub(crate) struct VersionedMap<T>(Locked<BTreeMap<String, T>>);

impl<T> Default for VersionedMap<T> {
    fn default() -> Self {
        Self(Locked::default())
    }
}

impl<T: Versioned> VersionedMap<T> {
    /// Stores `record` as is; `Conflict` if its id exists.
    pub(crate) fn create(&self, record: T) -> Result<()> {
        self.0
            .with(|records| match records.entry(record.id().to_owned()) {
                Entry::Occupied(_) => Err(Error::Conflict(format!(
                    "{} {} already exists",
                    T::KIND,
                    record.id()
                ))),
                Entry::Vacant(slot) => {
                    slot.insert(record);
                    Ok(())
                }
            })
    }

    /// Replaces the stored record if its version equals `record`'s, bumping the version in both.
    pub(crate) fn save(&self, record: &mut T) -> Result<()> {
        self.0.with(|records| {
            let stored = records
                .get_mut(record.id())
                .ok_or_else(|| Error::NotFound(format!("{} {}", T::KIND, record.id())))?;
            if stored.version() != record.version() {
                return Err(Error::Conflict(format!(
                    "{} {} changed concurrently",
                    T::KIND,
                    record.id()
                )));
            }
            record.set_version(record.version() + 1);
            *stored = record.clone();
            Ok(())
        })
    }

    /// Version 0 creates (storing version 1, as any save bumps it); otherwise [`Self::save`].
    pub(crate) fn create_or_save(&self, record: &mut T) -> Result<()> {
        if record.version() > 0 {
            return self.save(record);
        }
        let mut created = record.clone();
        created.set_version(1);
        self.create(created)?;
        record.set_version(1);
        Ok(())
    }

    pub(crate) fn get(&self, id: &str) -> Option<T> {
        self.0.with(|records| records.get(id).cloned())
    }

    /// The records `keep` accepts, in id order.
    pub(crate) fn select(&self, keep: impl Fn(&T) -> bool) -> Vec<T> {
        self.0
            .with(|records| records.values().filter(|r| keep(r)).cloned().collect())
    }
}
