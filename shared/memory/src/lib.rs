//! In-memory adapters of the Provisio ports for the local stack and tests. They keep the promises the port docs
//! make exactly as the DynamoDB adapters do; `provisio-conformance` holds both to the same behaviour.

mod approvals;
mod assignments;
mod audit;
mod catalog;
mod clock;
mod connectors;
mod events;
mod findings;
mod idempotency;
mod identities;
mod licenses;
mod locked;
mod queue;
mod requests;
mod reviews;
mod unavailable;
mod versioned;
mod workflow;

use std::sync::Arc;

use provisio_core::ports::{Clock, Connectors, EventBus, Ports, Workflow};

pub use approvals::MemoryApprovals;
pub use assignments::MemoryAssignments;
pub use audit::{AuditChains, MemoryAudit};
pub use catalog::MemoryCatalog;
pub use clock::ManualClock;
pub use connectors::{ConnectorFailure, Revocation, ScriptedConnectors};
pub use events::RecordingEventBus;
pub use findings::MemoryFindings;
pub use idempotency::MemoryIdempotency;
pub use identities::MemoryIdentities;
pub use licenses::MemoryLicenses;
pub use queue::{DeadLetter, Depth, FifoQueue, Received};
pub use requests::MemoryRequests;
pub use reviews::MemoryReviews;
pub use unavailable::Unavailable;
pub use workflow::{
    CallbackFault, CompletedTask, FailedTask, FlakyWorkflow, RecordingWorkflow, StartedExecution,
};

/// Every store, kept as typed handles (e.g. to tamper with the audit log) and wired into [`Ports`] in one call.
#[derive(Clone, Default)]
pub struct MemoryStores {
    pub catalog: Arc<MemoryCatalog>,
    pub identities: Arc<MemoryIdentities>,
    pub requests: Arc<MemoryRequests>,
    pub approvals: Arc<MemoryApprovals>,
    pub licenses: Arc<MemoryLicenses>,
    pub assignments: Arc<MemoryAssignments>,
    pub audit: Arc<MemoryAudit>,
    pub idempotency: Arc<MemoryIdempotency>,
    pub findings: Arc<MemoryFindings>,
    pub reviews: Arc<MemoryReviews>,
}

impl MemoryStores {
    pub fn new() -> Self {
        Self::default()
    }

    /// The ports over these stores plus the given non-store adapters. The stores stay shared: writes through
    /// the ports are visible through the typed handles and vice versa.
    pub fn ports(
        &self,
        workflow: Arc<dyn Workflow>,
        events: Arc<dyn EventBus>,
        clock: Arc<dyn Clock>,
        connectors: Arc<dyn Connectors>,
    ) -> Ports {
        Ports {
            catalog: self.catalog.clone(),
            identities: self.identities.clone(),
            requests: self.requests.clone(),
            approvals: self.approvals.clone(),
            licenses: self.licenses.clone(),
            assignments: self.assignments.clone(),
            audit: self.audit.clone(),
            idempotency: self.idempotency.clone(),
            findings: self.findings.clone(),
            reviews: self.reviews.clone(),
            workflow,
            events,
            clock,
            connectors,
        }
    }
}
