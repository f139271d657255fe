//! Seed directories: `identities.json` (Identity[]), `catalog.json` (CatalogItem[]), `licenses.json`
//! ([{poolId, itemId, total}]). The demo organisation is compiled in so the binary runs from anywhere.

use std::path::Path;

use provisio_core::model::{CatalogItem, Identity};
use provisio_core::ports::Ports;
use serde::Deserialize;

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PoolSeed {
    pub pool_id: String,
    pub item_id: String,
    pub total: u32,
}

pub struct Seed {
    pub identities: Vec<Identity>,
    pub catalog: Vec<CatalogItem>,
    pub licenses: Vec<PoolSeed>,
}

#[derive(Debug, thiserror::Error)]
pub enum SeedError {
    #[error("cannot read {file}: {source}")]
    Read {
        file: String,
        source: std::io::Error,
    },
    #[error("{file} is not a valid seed file: {source}")]
    Parse {
        file: String,
        source: serde_json::Error,
    },
    #[error("loading the seed failed: {0}")]
    Load(#[from] provisio_core::Error),
}

fn parse<T: serde::de::DeserializeOwned>(file: &str, text: &str) -> Result<T, SeedError> {
    serde_json::from_str(text).map_err(|source| SeedError::Parse {
        file: file.to_string(),
        source,
    })
}

impl Seed {
    pub fn demo() -> Result<Self, SeedError> {
        Ok(Self {
            identities: parse(
                "identities.json",
                include_str!("../seed/demo/identities.json"),
            )?,
            catalog: parse("catalog.json", include_str!("../seed/demo/catalog.json"))?,
            licenses: parse("licenses.json", include_str!("../seed/demo/licenses.json"))?,
        })
    }

    pub fn from_dir(dir: &Path) -> Result<Self, SeedError> {
        let read = |name: &str| {
            let path = dir.join(name);
            std::fs::read_to_string(&path).map_err(|source| SeedError::Read {
                file: path.display().to_string(),
                source,
            })
        };
        Ok(Self {
            identities: parse("identities.json", &read("identities.json")?)?,
            catalog: parse("catalog.json", &read("catalog.json")?)?,
            licenses: parse("licenses.json", &read("licenses.json")?)?,
        })
    }

    /// Writes the seed straight into the stores (it is trusted configuration, not an API call).
    pub async fn load(self, p: &Ports) -> Result<(), SeedError> {
        for identity in self.identities {
            p.identities.put(identity).await?;
        }
        for item in self.catalog {
            p.catalog.put(item).await?;
        }
        for pool in self.licenses {
            p.licenses
                .set_total(&pool.pool_id, &pool.item_id, pool.total)
                .await?;
        }
        Ok(())
    }
}
