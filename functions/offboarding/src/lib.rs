//! Offboarding steps (Step Functions tasks of statemachines/offboarding.asl.json). The payload's `action` names
//! the step; the behaviour lives in `provisio_core::usecases::offboarding`. Revoking each holding is not here:
//! the state machine's Map sends every holding to the deprovisioning function.

use provisio_core::Result;
use provisio_core::ports::Ports;
use provisio_core::usecases::approvals::Reassignment;
use provisio_core::usecases::offboarding::{
    self, DeviceReturns, Holdings, Leaver, Report, ReportInput, RequestsOutcome,
};
use serde::{Deserialize, Serialize};

/// One step of the offboarding state machine.
#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "action", rename_all = "camelCase")]
pub enum Step {
    /// Refuses (Provisio.Validation) unless the identity is terminated.
    CheckLeaver(Leaver),
    CancelRequests(Leaver),
    ReassignApprovals(Leaver),
    ListHoldings(Leaver),
    RequestDeviceReturns(Leaver),
    Report(Box<ReportInput>),
}

impl Step {
    fn employee_id(&self) -> &str {
        match self {
            Step::CheckLeaver(l)
            | Step::CancelRequests(l)
            | Step::ReassignApprovals(l)
            | Step::ListHoldings(l)
            | Step::RequestDeviceReturns(l) => &l.employee_id,
            Step::Report(r) => &r.employee_id,
        }
    }

    fn name(&self) -> &'static str {
        match self {
            Step::CheckLeaver(_) => "checkLeaver",
            Step::CancelRequests(_) => "cancelRequests",
            Step::ReassignApprovals(_) => "reassignApprovals",
            Step::ListHoldings(_) => "listHoldings",
            Step::RequestDeviceReturns(_) => "requestDeviceReturns",
            Step::Report(_) => "report",
        }
    }
}

/// What a step returns (the state machine's ResultSelectors read these fields).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Output {
    Checked(Checked),
    Requests(RequestsOutcome),
    Approvals(Reassignment),
    Holdings(Holdings),
    Devices(DeviceReturns),
    Report(Report),
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Checked {
    pub employee_id: String,
}

// Employee ids are identifiers, not personal data; nothing else of the payload is logged.
#[tracing::instrument(skip_all, fields(step = step.name(), employee = step.employee_id()))]
pub async fn handle(p: &Ports, step: Step) -> Result<Output> {
    Ok(match step {
        Step::CheckLeaver(l) => {
            offboarding::check_leaver(p, &l.employee_id).await?;
            Output::Checked(Checked {
                employee_id: l.employee_id,
            })
        }
        Step::CancelRequests(l) => {
            Output::Requests(offboarding::cancel_requests(p, &l.employee_id).await?)
        }
        Step::ReassignApprovals(l) => {
            Output::Approvals(offboarding::reassign_approvals(p, &l.employee_id).await?)
        }
        Step::ListHoldings(l) => {
            Output::Holdings(offboarding::list_holdings(p, &l.employee_id).await?)
        }
        Step::RequestDeviceReturns(l) => {
            Output::Devices(offboarding::request_device_returns(p, &l.employee_id).await?)
        }
        Step::Report(input) => Output::Report(offboarding::report(p, &input).await?),
    })
}
