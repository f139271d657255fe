use std::cmp::Reverse;

use async_trait::async_trait;
use provisio_core::model::{Request, Timestamp};
use provisio_core::ports::RequestStore;
use provisio_core::{Error, Result};

use crate::versioned::{Indexed, VersionedMap};

/// The indexes of the DynamoDB table: by party (requester and beneficiary, newest first), by creation time,
/// and the open-request key while the request is open.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum RequestKey {
    Party(String, Reverse<Timestamp>),
    Created(Timestamp),
    Open(String),
}

impl Indexed for Request {
    type Key = RequestKey;
    fn index_keys(&self) -> Vec<RequestKey> {
        let mut keys = vec![RequestKey::Created(self.created_at)];
        let mut parties = vec![self.requester_id.clone(), self.beneficiary_id.clone()];
        parties.dedup();
        keys.extend(
            parties
                .into_iter()
                .map(|p| RequestKey::Party(p, Reverse(self.created_at))),
        );
        if !self.status.is_terminal() {
            keys.push(RequestKey::Open(self.open_key()));
        }
        keys
    }
}

#[derive(Default)]
pub struct MemoryRequests(VersionedMap<Request>);

#[async_trait]
impl RequestStore for MemoryRequests {
    async fn create(&self, request: &Request) -> Result<()> {
        self.0.create_checked(request.clone(), |under| {
            if request.status.is_terminal() {
                return Ok(());
            }
            // Only open requests are under the key, so one that has ended no longer holds it.
            match under(&RequestKey::Open(request.open_key())).first() {
                Some(open) => Err(Error::Conflict(Request::still_open(&open.request_id))),
                None => Ok(()),
            }
        })
    }

    async fn get(&self, request_id: &str) -> Result<Option<Request>> {
        Ok(self.0.get(request_id))
    }

    async fn save(&self, request: &mut Request) -> Result<()> {
        self.0.save(request)
    }

    async fn list_for(&self, employee_id: &str) -> Result<Vec<Request>> {
        let first = RequestKey::Party(employee_id.to_owned(), Reverse(Timestamp::MAX_UTC));
        Ok(self.0.find_from(
            &first,
            |k| matches!(k, RequestKey::Party(e, _) if e == employee_id),
        ))
    }

    async fn created_between(&self, from: Timestamp, to: Timestamp) -> Result<Vec<Request>> {
        Ok(self.0.find_from(
            &RequestKey::Created(from),
            |k| matches!(k, RequestKey::Created(at) if *at < to),
        ))
    }
}
