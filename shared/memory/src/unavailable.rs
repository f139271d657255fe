use async_trait::async_trait;
use provisio_core::model::DomainEvent;
use provisio_core::ports::{EventBus, Queue, QueueMessage, Workflow};
use provisio_core::{Error, Result};
use serde_json::Value;

/// A workflow engine, event bus or queue that is down: every call fails with `Provisio.StoreUnavailable`, as the
/// AWS adapters report an outage. For tests of what a use case does when a dependency fails.
#[derive(Debug, Clone, Copy)]
pub struct Unavailable(pub &'static str);

impl Unavailable {
    fn error(&self) -> Error {
        Error::StoreUnavailable(format!("{} is down", self.0))
    }
}

#[async_trait]
impl Workflow for Unavailable {
    async fn start_fulfilment(&self, _: &str) -> Result<()> {
        Err(self.error())
    }
    async fn start_offboarding(&self, _: &str, _: Value) -> Result<()> {
        Err(self.error())
    }

    async fn start_deprovision(&self, _: &str, _: Value) -> Result<()> {
        Err(self.error())
    }
    async fn complete_task(&self, _: &str, _: Value) -> Result<()> {
        Err(self.error())
    }
    async fn fail_task(&self, _: &str, _: &str, _: &str) -> Result<()> {
        Err(self.error())
    }
}

#[async_trait]
impl EventBus for Unavailable {
    async fn publish(&self, _: Vec<DomainEvent>) -> Result<()> {
        Err(self.error())
    }
}

#[async_trait]
impl Queue for Unavailable {
    async fn send(&self, _: QueueMessage) -> Result<()> {
        Err(self.error())
    }
}
