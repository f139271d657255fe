use serde::Serialize;
use serde_json::Value;

/// A domain event published to the bus. `detail_type` is one of `names::event_types`; `detail` carries ids and
/// statuses only, never names or emails.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DomainEvent {
    pub detail_type: &'static str,
    pub detail: Value,
}

impl DomainEvent {
    pub fn new(detail_type: &'static str, detail: Value) -> Self {
        Self {
            detail_type,
            detail,
        }
    }
}
