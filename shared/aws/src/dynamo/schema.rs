//! Creates the tables of shared/tables.json on a DynamoDB endpoint (moto in tests, the local stack's
//! `--dynamodb-endpoint`). On AWS the CDK app creates them from the same file.

use std::collections::BTreeMap;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection,
    ProjectionType, ScalarAttributeType, TimeToLiveSpecification,
};
use provisio_core::{Error, Result};
use serde::Deserialize;

use super::{TableNames, unavailable};

const SCHEMA: &str = include_str!("../../../tables.json");

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct TableSpec {
    partition_key: KeySpec,
    sort_key: Option<KeySpec>,
    #[serde(default)]
    indexes: BTreeMap<String, IndexSpec>,
    time_to_live: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct IndexSpec {
    partition_key: KeySpec,
    sort_key: Option<KeySpec>,
}

#[derive(Deserialize, Clone)]
struct KeySpec {
    name: String,
    #[serde(rename = "type")]
    kind: String,
}

fn schema() -> Result<BTreeMap<String, TableSpec>> {
    let mut raw: BTreeMap<String, serde_json::Value> = serde_json::from_str(SCHEMA)
        .map_err(|e| Error::Internal(format!("shared/tables.json: {e}")))?;
    raw.retain(|name, _| !name.starts_with('$'));
    raw.into_iter()
        .map(|(name, spec)| {
            serde_json::from_value(spec)
                .map(|spec| (name.clone(), spec))
                .map_err(|e| Error::Internal(format!("shared/tables.json, table {name}: {e}")))
        })
        .collect()
}

fn key_schema(partition: &KeySpec, sort: Option<&KeySpec>) -> Result<Vec<KeySchemaElement>> {
    let element = |k: &KeySpec, t: KeyType| {
        KeySchemaElement::builder()
            .attribute_name(&k.name)
            .key_type(t)
            .build()
            .map_err(|e| Error::Internal(e.to_string()))
    };
    let mut keys = vec![element(partition, KeyType::Hash)?];
    if let Some(sort) = sort {
        keys.push(element(sort, KeyType::Range)?);
    }
    Ok(keys)
}

/// Creates every missing table (on-demand, with its indexes and TTL); existing tables are left as they are.
pub async fn create_tables(client: &Client, names: &TableNames) -> Result<()> {
    let specs = schema()?;
    let existing = client.list_tables().send().await.map_err(unavailable)?;
    let existing = existing.table_names.unwrap_or_default();
    for (logical, physical) in names.pairs() {
        if existing.iter().any(|t| t == physical) {
            continue;
        }
        let spec = specs
            .get(logical)
            .ok_or_else(|| Error::Internal(format!("shared/tables.json has no table {logical}")))?;
        let mut attributes: BTreeMap<String, String> = BTreeMap::new();
        let mut remember = |k: &KeySpec| {
            attributes.insert(k.name.clone(), k.kind.clone());
        };
        remember(&spec.partition_key);
        spec.sort_key.iter().for_each(&mut remember);
        let mut create = client
            .create_table()
            .table_name(physical)
            .billing_mode(BillingMode::PayPerRequest)
            .set_key_schema(Some(key_schema(
                &spec.partition_key,
                spec.sort_key.as_ref(),
            )?));
        for (index_name, index) in &spec.indexes {
            remember(&index.partition_key);
            index.sort_key.iter().for_each(&mut remember);
            create = create.global_secondary_indexes(
                GlobalSecondaryIndex::builder()
                    .index_name(index_name)
                    .set_key_schema(Some(key_schema(
                        &index.partition_key,
                        index.sort_key.as_ref(),
                    )?))
                    .projection(
                        Projection::builder()
                            .projection_type(ProjectionType::All)
                            .build(),
                    )
                    .build()
                    .map_err(|e| Error::Internal(e.to_string()))?,
            );
        }
        for (name, kind) in attributes {
            create = create.attribute_definitions(
                AttributeDefinition::builder()
                    .attribute_name(name)
                    .attribute_type(ScalarAttributeType::from(kind.as_str()))
                    .build()
                    .map_err(|e| Error::Internal(e.to_string()))?,
            );
        }
        create.send().await.map_err(unavailable)?;
        if let Some(attribute) = &spec.time_to_live {
            client
                .update_time_to_live()
                .table_name(physical)
                .time_to_live_specification(
                    TimeToLiveSpecification::builder()
                        .attribute_name(attribute)
                        .enabled(true)
                        .build()
                        .map_err(|e| Error::Internal(e.to_string()))?,
                )
                .send()
                .await
                .map_err(unavailable)?;
        }
    }
    Ok(())
}
