use std::collections::{BTreeMap, BTreeSet};
use std::ops::Bound;

use provisio_core::model::{Finding, ReviewCampaign, ReviewTask, Versioned};
use provisio_core::{Error, Result};

use crate::locked::Locked;

/// A record's secondary index entries, as the DynamoDB adapter's GSIs hold them: lookups read only the entries
/// under one key (or a key range), never every record.
pub(crate) trait Indexed: Versioned {
    type Key: Ord + Clone + Send;
    /// The entries of this record in its current state (sparse: a state may have none under some index).
    fn index_keys(&self) -> Vec<Self::Key>;
}

/// Records few enough, or read off the hot paths, to filter with [`VersionedMap::select`]: no index entries.
macro_rules! unindexed {
    ($($t:ty),*) => {$(
        impl Indexed for $t {
            type Key = ();
            fn index_keys(&self) -> Vec<()> {
                Vec::new()
            }
        }
    )*};
}
unindexed!(Finding, ReviewCampaign, ReviewTask);

struct Records<T: Indexed> {
    by_id: BTreeMap<String, T>,
    index: BTreeSet<(T::Key, String)>,
}

impl<T: Indexed> Default for Records<T> {
    fn default() -> Self {
        Self {
            by_id: BTreeMap::new(),
            index: BTreeSet::new(),
        }
    }
}

impl<T: Indexed> Records<T> {
    fn unindex(&mut self, record: &T) {
        for key in record.index_keys() {
            self.index.remove(&(key, record.id().to_owned()));
        }
    }

    fn reindex(&mut self, record: &T) {
        for key in record.index_keys() {
            self.index.insert((key, record.id().to_owned()));
        }
    }

    /// The records under index keys from `from` on while `keep` accepts the key, in (key, id) order.
    fn walk(&self, from: &T::Key, keep: impl Fn(&T::Key) -> bool) -> Vec<T> {
        self.index
            .range((
                Bound::Included((from.clone(), String::new())),
                Bound::Unbounded,
            ))
            .take_while(|(key, _)| keep(key))
            .filter_map(|(_, id)| self.by_id.get(id).cloned())
            .collect()
    }
}

/// Records by id with conditional create, compare-and-swap save and secondary indexes, shared by requests,
/// approvals and assignments.
pub(crate) struct VersionedMap<T: Indexed>(Locked<Records<T>>);

impl<T: Indexed> Default for VersionedMap<T> {
    fn default() -> Self {
        Self(Locked::default())
    }
}

impl<T: Indexed> VersionedMap<T> {
    /// Stores `record` as is; `Conflict` if its id exists.
    pub(crate) fn create(&self, record: T) -> Result<()> {
        self.create_checked(record, |_| Ok(()))
    }

    /// As [`Self::create`], once `check` accepted it given the records under the index keys it asks for, in
    /// the same atomic step (a uniqueness constraint over an index).
    pub(crate) fn create_checked(
        &self,
        record: T,
        check: impl FnOnce(&dyn Fn(&T::Key) -> Vec<T>) -> Result<()>,
    ) -> Result<()> {
        self.0.with(|records| {
            if records.by_id.contains_key(record.id()) {
                return Err(Error::Conflict(format!(
                    "{} {} already exists",
                    T::KIND,
                    record.id()
                )));
            }
            check(&|key: &T::Key| records.walk(key, |k| k == key))?;
            records.reindex(&record);
            records.by_id.insert(record.id().to_owned(), record);
            Ok(())
        })
    }

    /// Replaces the stored record if its version equals `record`'s, bumping the version in both.
    pub(crate) fn save(&self, record: &mut T) -> Result<()> {
        self.0.with(|records| {
            let stored = records
                .by_id
                .get(record.id())
                .ok_or_else(|| Error::NotFound(format!("{} {}", T::KIND, record.id())))?;
            if stored.version() != record.version() {
                return Err(Error::Conflict(format!(
                    "{} {} changed concurrently",
                    T::KIND,
                    record.id()
                )));
            }
            let old = stored.clone();
            records.unindex(&old);
            record.set_version(record.version() + 1);
            records.reindex(record);
            records.by_id.insert(record.id().to_owned(), record.clone());
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
        self.0.with(|records| records.by_id.get(id).cloned())
    }

    /// The records under index key `key`, in id order.
    pub(crate) fn find(&self, key: &T::Key) -> Vec<T> {
        self.0.with(|records| records.walk(key, |k| k == key))
    }

    /// The records under index keys from `from` on, as long as `keep` accepts the key, in (key, id) order.
    pub(crate) fn find_from(&self, from: &T::Key, keep: impl Fn(&T::Key) -> bool) -> Vec<T> {
        self.0.with(|records| records.walk(from, keep))
    }

    /// The records `keep` accepts, in id order: a scan, for stores without an index.
    pub(crate) fn select(&self, keep: impl Fn(&T) -> bool) -> Vec<T> {
        self.0.with(|records| {
            records
                .by_id
                .values()
                .filter(|r| keep(r))
                .cloned()
                .collect()
        })
    }
}
