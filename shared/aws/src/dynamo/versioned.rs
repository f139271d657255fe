//! Optimistic concurrency for records with a `version` attribute (requests, approvals, assignments): a create
//! is a put that the key must not exist for, a save a put conditioned on the version read.

use provisio_core::model::Versioned;
use provisio_core::{Error, Result};
use serde::Serialize;

use super::{Item, Table, condition_failed, n, unavailable};

/// Stores `record` (with `extra` key and index attributes) if nothing is stored under `key_attr` yet.
pub(crate) async fn create<T: Versioned + Serialize>(
    table: &Table,
    key_attr: &str,
    record: &T,
    extra: &[(&str, aws_sdk_dynamodb::types::AttributeValue)],
) -> Result<()> {
    let item = super::to_item(record, extra)?;
    let result = table
        .client
        .put_item()
        .table_name(&table.name)
        .set_item(Some(item))
        .condition_expression("attribute_not_exists(#k)")
        .expression_attribute_names("#k", key_attr)
        .send()
        .await;
    match result {
        Ok(_) => Ok(()),
        Err(e) if condition_failed(&e) => Err(Error::Conflict(format!(
            "{} {} already exists",
            T::KIND,
            record.id()
        ))),
        Err(e) => Err(unavailable(e)),
    }
}

/// Replaces the stored record if its version equals `record`'s, bumping the version in both.
pub(crate) async fn save<T: Versioned + Serialize>(
    table: &Table,
    key: Item,
    record: &mut T,
    extra: &[(&str, aws_sdk_dynamodb::types::AttributeValue)],
) -> Result<()> {
    let expected = record.version();
    let mut next = record.clone();
    next.set_version(expected + 1);
    let item = super::to_item(&next, extra)?;
    let result = table
        .client
        .put_item()
        .table_name(&table.name)
        .set_item(Some(item))
        .condition_expression("#v = :v")
        .expression_attribute_names("#v", "version")
        .expression_attribute_values(":v", n(expected))
        .send()
        .await;
    match result {
        Ok(_) => {
            record.set_version(expected + 1);
            Ok(())
        }
        Err(e) if condition_failed(&e) => Err(lost_race::<T>(table, key, record.id()).await),
        Err(e) => Err(unavailable(e)),
    }
}

/// Version 0 creates (storing version 1, as any save bumps it); otherwise [`save`]. The record's key is its
/// id, under `key_attr`; `index_attributes` adds the index attributes the record's state calls for.
pub(crate) async fn create_or_save<T: Versioned + Serialize>(
    table: &Table,
    key_attr: &str,
    record: &mut T,
    index_attributes: impl Fn(&T) -> Vec<(&'static str, aws_sdk_dynamodb::types::AttributeValue)>,
) -> Result<()> {
    if record.version() > 0 {
        let key = Item::from([(key_attr.to_owned(), super::s(record.id()))]);
        let extra = index_attributes(record);
        return save(table, key, record, &extra).await;
    }
    let mut created = record.clone();
    created.set_version(1);
    create(table, key_attr, &created, &index_attributes(&created)).await?;
    record.set_version(1);
    Ok(())
}

/// The error for a conditional save that failed: the record is gone, or someone saved it first.
pub(crate) async fn lost_race<T: Versioned>(table: &Table, key: Item, id: &str) -> Error {
    match table.get_item(key).await {
        Ok(None) => Error::NotFound(format!("{} {id}", T::KIND)),
        Ok(Some(_)) => Error::Conflict(format!("{} {id} changed concurrently", T::KIND)),
        Err(e) => e,
    }
}
