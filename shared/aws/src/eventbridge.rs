use async_trait::async_trait;
use aws_sdk_eventbridge::Client;
use aws_sdk_eventbridge::types::PutEventsRequestEntry;
use provisio_core::model::DomainEvent;
use provisio_core::names::EVENT_SOURCE;
use provisio_core::ports::EventBus;
use provisio_core::{Error, Result};

/// Domain events on a custom EventBridge bus: `source` = `provisio`, `detail-type` = the event type
/// (names.json `eventTypes`), `detail` = ids and statuses only.
pub struct EventBridgeBus {
    client: Client,
    bus_name: String,
}

/// PutEvents takes at most 10 entries per call.
const BATCH: usize = 10;

impl EventBridgeBus {
    pub fn new(client: Client, bus_name: impl Into<String>) -> Self {
        Self {
            client,
            bus_name: bus_name.into(),
        }
    }
}

#[async_trait]
impl EventBus for EventBridgeBus {
    async fn publish(&self, events: Vec<DomainEvent>) -> Result<()> {
        for batch in events.chunks(BATCH) {
            let entries = batch
                .iter()
                .map(|e| {
                    PutEventsRequestEntry::builder()
                        .event_bus_name(&self.bus_name)
                        .source(EVENT_SOURCE)
                        .detail_type(e.detail_type)
                        .detail(e.detail.to_string())
                        .build()
                })
                .collect();
            let out = self
                .client
                .put_events()
                .set_entries(Some(entries))
                .send()
                .await
                .map_err(|e| crate::errors::sdk_error("EventBridge", e))?;
            // PutEvents is not all-or-nothing: report partial failure so the caller's retry republishes.
            if out.failed_entry_count > 0 {
                return Err(Error::StoreUnavailable(format!(
                    "EventBridge: {} of {} events not accepted",
                    out.failed_entry_count,
                    batch.len()
                )));
            }
        }
        Ok(())
    }
}
