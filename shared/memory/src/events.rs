use async_trait::async_trait;
use provisio_core::Result;
use provisio_core::model::DomainEvent;
use provisio_core::ports::EventBus;

use crate::locked::Locked;

/// An event bus that keeps what was published, in order, for assertions and the local stack's event log.
#[derive(Default)]
pub struct RecordingEventBus(Locked<Vec<DomainEvent>>);

impl RecordingEventBus {
    pub fn events(&self) -> Vec<DomainEvent> {
        self.0.with(|events| events.clone())
    }
}

#[async_trait]
impl EventBus for RecordingEventBus {
    async fn publish(&self, events: Vec<DomainEvent>) -> Result<()> {
        self.0.with(|published| published.extend(events));
        Ok(())
    }
}
