//! Access follows people: what a change of an identity (HR event or SCIM write) means for what they hold.

use crate::model::{Identity, Timestamp};
use crate::ports::Ports;
use crate::{Error, Result};

/// How long a mover keeps access that no longer fits, unless configured otherwise.
pub const DEFAULT_MOVER_GRACE_HOURS: u32 = 7 * 24;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LifecycleSettings {
    /// How long a mover keeps a holding they are no longer eligible for, after a notice.
    pub mover_grace: chrono::Duration,
}

impl Default for LifecycleSettings {
    fn default() -> Self {
        Self {
            mover_grace: chrono::Duration::hours(DEFAULT_MOVER_GRACE_HOURS.into()),
        }
    }
}

/// What became of a change.
#[derive(Debug, Clone, PartialEq)]
pub enum Applied {
    /// Stored, and its consequences are done.
    Applied(Identity),
    /// This change was applied before: nothing done again.
    Duplicate(Identity),
    /// A newer change was applied already: this one is ignored.
    Stale(Identity),
}

/// One change of an identity, identified for idempotency and ordered by when it happened.
pub struct Change<'a> {
    pub employee_id: &'a str,
    /// Unique per change (the HR event id, or one per SCIM write).
    pub change_id: &'a str,
    pub occurred_at: Timestamp,
}

/// Applies `change`: `update` turns the stored identity (None: unknown) into the new one; then joiner, mover,
/// leaver and leave consequences follow from the difference. Safe to repeat: a redelivery of a change whose
/// consequences failed resumes them; a settled one is a `Duplicate`.
pub async fn apply(
    _p: &Ports,
    _settings: &LifecycleSettings,
    _change: Change<'_>,
    _update: impl FnOnce(Option<&Identity>) -> Result<Identity> + Send,
) -> Result<Applied> {
    Err(Error::Internal("lifecycle: not built yet".into()))
}
