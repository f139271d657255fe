//! The domain model, serialized camelCase: the same shapes are stored, returned by the API and used in seed files.

mod approval;
mod assignment;
mod caller;
mod catalog;
mod event;
mod finding;
mod hr;
mod identity;
mod license;
mod request;
mod review;
mod scim;
pub mod time;

pub use approval::*;
pub use assignment::*;
pub use caller::*;
pub use catalog::*;
pub use event::*;
pub use finding::*;
pub use hr::*;
pub use identity::*;
pub use license::*;
pub use request::*;
pub use review::*;
pub use scim::*;

pub type Timestamp = chrono::DateTime<chrono::Utc>;

/// A record saved under optimistic concurrency: an id plus a version that every save bumps.
pub trait Versioned: Clone {
    /// Names the record in error messages.
    const KIND: &'static str;
    fn id(&self) -> &str;
    fn version(&self) -> u64;
    fn set_version(&mut self, version: u64);
}

impl Versioned for Request {
    const KIND: &'static str = "request";
    fn id(&self) -> &str {
        &self.request_id
    }
    fn version(&self) -> u64 {
        self.version
    }
    fn set_version(&mut self, version: u64) {
        self.version = version;
    }
}

impl Versioned for ApprovalTask {
    const KIND: &'static str = "approval";
    fn id(&self) -> &str {
        &self.approval_id
    }
    fn version(&self) -> u64 {
        self.version
    }
    fn set_version(&mut self, version: u64) {
        self.version = version;
    }
}

impl Versioned for Assignment {
    const KIND: &'static str = "assignment";
    fn id(&self) -> &str {
        &self.assignment_id
    }
    fn version(&self) -> u64 {
        self.version
    }
    fn set_version(&mut self, version: u64) {
        self.version = version;
    }
}
