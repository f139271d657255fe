use std::cmp::Reverse;

use async_trait::async_trait;
use provisio_core::Result;
use provisio_core::model::{Request, Timestamp};
use provisio_core::ports::RequestStore;

use crate::versioned::VersionedMap;

#[derive(Default)]
pub struct MemoryRequests(VersionedMap<Request>);

#[async_trait]
impl RequestStore for MemoryRequests {
    async fn create(&self, request: &Request) -> Result<()> {
        self.0.create(request.clone())
    }

    async fn get(&self, request_id: &str) -> Result<Option<Request>> {
        Ok(self.0.get(request_id))
    }

    async fn save(&self, request: &mut Request) -> Result<()> {
        self.0.save(request)
    }

    async fn list_for(&self, employee_id: &str) -> Result<Vec<Request>> {
        let mut requests = self.0.select(|r| r.parties().contains(&employee_id));
        // Stable sort over id order keeps same-instant requests deterministic.
        requests.sort_by_key(|r| Reverse(r.created_at));
        Ok(requests)
    }

    async fn created_between(&self, from: Timestamp, to: Timestamp) -> Result<Vec<Request>> {
        let mut requests = self.0.select(|r| from <= r.created_at && r.created_at < to);
        // Stable sort over id order: same-instant requests in id order.
        requests.sort_by_key(|r| r.created_at);
        Ok(requests)
    }
}
