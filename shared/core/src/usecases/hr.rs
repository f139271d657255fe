//! HR events (CONTRACT.md, "HR webhook"): checked when they arrive, queued in order per employee, then applied
//! one by one through the identity lifecycle.

use super::lifecycle::{self, Applied, Change, LifecycleSettings};
use crate::model::*;
use crate::ports::{Ports, QueueMessage};
use crate::{Error, FieldError, Result};

/// SQS limits message group and deduplication ids to 128 printable ASCII characters; ids are used as both.
const MAX_ID_LEN: usize = 128;

fn valid_id(id: &str) -> bool {
    !id.is_empty() && id.len() <= MAX_ID_LEN && id.bytes().all(|b| b.is_ascii_graphic())
}

/// Field errors of an event that parsed, so nothing unusable is queued. A hire must describe the whole employee.
pub fn validate(event: &HrEvent) -> Result<()> {
    let mut errors = Vec::new();
    let rule = format!("1 to {MAX_ID_LEN} printable ASCII characters without spaces");
    if !valid_id(&event.event_id) {
        errors.push(FieldError::new("eventId", rule.clone()));
    }
    let e = &event.employee;
    if !valid_id(&e.employee_id) {
        errors.push(FieldError::new("employee.employeeId", rule));
    }
    if event.kind == HrEventType::Hire {
        let required = [
            ("email", e.email.is_some()),
            ("displayName", e.display_name.is_some()),
            ("department", e.department.is_some()),
            ("jobTitle", e.job_title.is_some()),
            ("location", e.location.is_some()),
            ("costCenter", e.cost_center.is_some()),
            ("employmentType", e.employment_type.is_some()),
        ];
        for (field, present) in required {
            if !present {
                errors.push(FieldError::new(
                    format!("employee.{field}"),
                    "is required for a hire",
                ));
            }
        }
    }
    if e.manager_id.as_deref() == Some(e.employee_id.as_str()) {
        errors.push(FieldError::new(
            "employee.managerId",
            "an employee cannot manage themselves",
        ));
    }
    match (event.kind, event.delegate_id.as_deref()) {
        (HrEventType::LeaveStart, Some(d)) if d == e.employee_id => errors.push(FieldError::new(
            "delegateId",
            "an employee cannot delegate to themselves",
        )),
        (HrEventType::LeaveStart, _) | (_, None) => {}
        (_, Some(_)) => errors.push(FieldError::new(
            "delegateId",
            "only a leave_start names a delegate",
        )),
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(Error::Validation(errors))
    }
}

/// The queue message carrying a checked event: ordered per employee, deduplicated by event id.
pub fn queue_message(event: &HrEvent, raw_body: &[u8]) -> QueueMessage {
    QueueMessage {
        group_id: event.employee.employee_id.clone(),
        deduplication_id: event.event_id.clone(),
        body: String::from_utf8_lossy(raw_body).into_owned(),
    }
}

/// Applies one event. A duplicate is applied once, an event older than the last one applied to the employee is
/// ignored, and one whose consequences failed resumes them when delivered again.
pub async fn apply(p: &Ports, settings: &LifecycleSettings, event: &HrEvent) -> Result<Applied> {
    let change = Change {
        employee_id: &event.employee.employee_id,
        change_id: &event.event_id,
        occurred_at: event.occurred_at,
        source: "hr",
    };
    let applied = lifecycle::apply(p, settings, change, |before| updated(event, before)).await?;
    match &applied {
        Applied::Applied(_) => {
            tracing::info!(event = %event.event_id, kind = ?event.kind, "HR event applied")
        }
        Applied::Duplicate(_) => {
            tracing::info!(event = %event.event_id, "HR event already applied")
        }
        Applied::Stale(_) => {
            tracing::info!(event = %event.event_id, "HR event older than the last applied one: ignored")
        }
    }
    Ok(applied)
}

/// The identity after `event`: its attributes over the stored ones, and the status and delegate window it sets.
fn updated(event: &HrEvent, before: Option<&Identity>) -> Result<Identity> {
    let e = &event.employee;
    let mut who = match before {
        Some(b) => b.clone(),
        None => new_identity(e).ok_or_else(|| {
            Error::NotFound(format!(
                "employee {} (an event other than a complete hire for an unknown employee)",
                e.employee_id
            ))
        })?,
    };
    let set = |field: &mut String, value: &Option<String>| {
        if let Some(v) = value {
            field.clone_from(v);
        }
    };
    set(&mut who.email, &e.email);
    set(&mut who.display_name, &e.display_name);
    set(&mut who.department, &e.department);
    set(&mut who.job_title, &e.job_title);
    set(&mut who.location, &e.location);
    set(&mut who.cost_center, &e.cost_center);
    if let Some(m) = &e.manager_id {
        who.manager_id = Some(m.clone());
    }
    if let Some(t) = e.employment_type {
        who.employment_type = t;
    }
    let at = event.occurred_at;
    let close_windows = |who: &mut Identity| {
        for w in who.delegates.iter_mut().filter(|w| w.covers(at)) {
            w.until = Some(at);
        }
    };
    match event.kind {
        HrEventType::Hire => who.status = IdentityStatus::Active,
        HrEventType::Update => {}
        HrEventType::Terminate => who.status = IdentityStatus::Terminated,
        HrEventType::LeaveStart if who.status != IdentityStatus::Terminated => {
            who.status = IdentityStatus::OnLeave;
            close_windows(&mut who);
            if let Some(d) = &event.delegate_id {
                who.delegates.push(DelegateWindow {
                    delegate_id: d.clone(),
                    from: at,
                    until: None,
                });
            }
        }
        HrEventType::LeaveEnd if who.status == IdentityStatus::OnLeave => {
            who.status = IdentityStatus::Active;
            close_windows(&mut who);
        }
        HrEventType::LeaveStart | HrEventType::LeaveEnd => {}
    }
    Ok(who)
}

fn new_identity(e: &HrEmployee) -> Option<Identity> {
    Some(Identity {
        employee_id: e.employee_id.clone(),
        email: e.email.clone()?,
        display_name: e.display_name.clone()?,
        department: e.department.clone()?,
        job_title: e.job_title.clone()?,
        location: e.location.clone()?,
        cost_center: e.cost_center.clone()?,
        manager_id: e.manager_id.clone(),
        employment_type: e.employment_type?,
        status: IdentityStatus::Active,
        groups: vec![],
        delegates: vec![],
        last_change: None,
        scim: None,
    })
}
