use std::collections::{HashMap, VecDeque};

use async_trait::async_trait;
use provisio_core::model::ConnectorConfig;
use provisio_core::ports::{Connectors, Grant};
use provisio_core::{Error, Result};
use serde_json::{Value, json};

use crate::locked::Locked;

/// How a scripted connector call fails.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConnectorFailure {
    /// `ConnectorTransient`: the state machine retries.
    Transient,
    /// `ConnectorPermanent`: the request fails.
    Permanent,
}

/// A successful revoke, with the reference the connector got back.
#[derive(Debug, Clone, PartialEq)]
pub struct Revocation {
    pub grant: Grant,
    pub connector_ref: Option<Value>,
}

/// Connectors that succeed unless told otherwise and record every successful grant and revoke.
#[derive(Default)]
pub struct ScriptedConnectors(Locked<Script>);

#[derive(Default)]
struct Script {
    /// Failures still to serve, per item id, in order.
    failures: HashMap<String, VecDeque<ConnectorFailure>>,
    grants: Vec<Grant>,
    revokes: Vec<Revocation>,
}

impl Script {
    /// Serves the next scripted failure for the grant's item, if any.
    fn next_failure(&mut self, action: &str, grant: &Grant) -> Result<()> {
        let message = || {
            format!(
                "scripted failure to {action} {} for {}",
                grant.item_id, grant.holder_id
            )
        };
        match self
            .failures
            .get_mut(&grant.item_id)
            .and_then(VecDeque::pop_front)
        {
            Some(ConnectorFailure::Transient) => Err(Error::ConnectorTransient(message())),
            Some(ConnectorFailure::Permanent) => Err(Error::ConnectorPermanent(message())),
            None => Ok(()),
        }
    }
}

impl ScriptedConnectors {
    /// Makes the next `times` grant or revoke calls for `item_id` fail with `failure`, after any failures
    /// already scripted for it.
    pub fn fail_next(&self, item_id: &str, times: usize, failure: ConnectorFailure) {
        self.0.with(|script| {
            script
                .failures
                .entry(item_id.to_owned())
                .or_default()
                .extend(std::iter::repeat_n(failure, times));
        });
    }

    /// Successful grants, in call order (a retried grant appears once per success).
    pub fn grants(&self) -> Vec<Grant> {
        self.0.with(|script| script.grants.clone())
    }

    /// Successful revokes, in call order.
    pub fn revokes(&self) -> Vec<Revocation> {
        self.0.with(|script| script.revokes.clone())
    }
}

#[async_trait]
impl Connectors for ScriptedConnectors {
    async fn grant(&self, _config: &ConnectorConfig, grant: &Grant) -> Result<Value> {
        self.0.with(|script| {
            script.next_failure("grant", grant)?;
            script.grants.push(grant.clone());
            Ok(json!({ "ref": grant.grant_id }))
        })
    }

    async fn revoke(
        &self,
        _config: &ConnectorConfig,
        grant: &Grant,
        connector_ref: Option<&Value>,
    ) -> Result<()> {
        self.0.with(|script| {
            script.next_failure("revoke", grant)?;
            script.revokes.push(Revocation {
                grant: grant.clone(),
                connector_ref: connector_ref.cloned(),
            });
            Ok(())
        })
    }
}

#[cfg(test)]
mod tests {
    use provisio_core::names::errors::{
        CONNECTOR_PERMANENT as PERMANENT, CONNECTOR_TRANSIENT as TRANSIENT,
    };

    use super::*;

    fn grant(item_id: &str) -> Grant {
        Grant {
            grant_id: format!("req-1.{item_id}"),
            request_id: "req-1".into(),
            holder_id: "E1".into(),
            item_id: item_id.into(),
            expires_at: None,
        }
    }

    #[tokio::test]
    async fn grants_succeed_by_default_and_return_a_ref() {
        let connectors = ScriptedConnectors::default();
        let reference = connectors
            .grant(&ConnectorConfig::Record, &grant("slack"))
            .await
            .expect("grant");
        assert_eq!(reference, json!({"ref": "req-1.slack"}));
        assert_eq!(connectors.grants(), [grant("slack")]);
    }

    #[tokio::test]
    async fn scripted_failures_are_served_in_order_then_calls_succeed() {
        let connectors = ScriptedConnectors::default();
        connectors.fail_next("slack", 2, ConnectorFailure::Transient);
        connectors.fail_next("slack", 1, ConnectorFailure::Permanent);
        let config = ConnectorConfig::Record;

        let mut outcomes = Vec::new();
        for _ in 0..4 {
            outcomes.push(
                connectors
                    .grant(&config, &grant("slack"))
                    .await
                    .map_err(|e| e.name()),
            );
        }
        let expected = [
            Err(TRANSIENT),
            Err(TRANSIENT),
            Err(PERMANENT),
            Ok(json!({"ref": "req-1.slack"})),
        ];
        assert_eq!(outcomes, expected);
        assert_eq!(
            connectors.grants(),
            [grant("slack")],
            "failed grants are not recorded"
        );
    }

    #[tokio::test]
    async fn failures_are_per_item_and_apply_to_revokes() {
        let connectors = ScriptedConnectors::default();
        connectors.fail_next("vpn", 1, ConnectorFailure::Permanent);
        let config = ConnectorConfig::Record;

        connectors
            .grant(&config, &grant("slack"))
            .await
            .expect("other items are unaffected");
        let reference = json!({"ref": "req-1.vpn"});
        let failed = connectors
            .revoke(&config, &grant("vpn"), Some(&reference))
            .await;
        assert!(
            matches!(failed, Err(Error::ConnectorPermanent(_))),
            "got {failed:?}"
        );
        connectors
            .revoke(&config, &grant("vpn"), Some(&reference))
            .await
            .expect("the failure was used up");

        assert_eq!(
            connectors.revokes(),
            [Revocation {
                grant: grant("vpn"),
                connector_ref: Some(reference)
            }]
        );
    }
}
