//! Minimal valid records under fresh ids.

use provisio_core::audit::AuditRecord;
use provisio_core::model::*;
use serde_json::{Value, json};
use uuid::Uuid;

/// A prefix no other run uses, so checks can share a database.
pub(crate) fn unique(what: &str) -> String {
    format!("{what}-{}", Uuid::new_v4().simple())
}

pub(crate) fn identity(employee_id: &str) -> Identity {
    Identity {
        employee_id: employee_id.into(),
        email: format!("{employee_id}@example.com"),
        display_name: format!("Employee {employee_id}"),
        department: "Engineering".into(),
        job_title: "Engineer".into(),
        location: "Berlin".into(),
        cost_center: "CC-100".into(),
        manager_id: None,
        employment_type: EmploymentType::Fte,
        status: IdentityStatus::Active,
        groups: vec![],
        delegates: vec![],
        last_change: None,
        scim: None,
    }
}

pub(crate) fn catalog_item(item_id: &str, name: &str) -> CatalogItem {
    CatalogItem {
        item_id: item_id.into(),
        version: 0,
        name: name.into(),
        description: String::new(),
        category: Category::Saas,
        cost: Cost {
            amount: 8.5,
            currency: "EUR".into(),
            recurrence: Recurrence::Monthly,
        },
        gl_code: "6100".into(),
        owner_id: "E-owner".into(),
        risk: Risk::Low,
        requires_justification: false,
        lifecycle: Lifecycle::Active,
        replacement_item_id: None,
        eligibility: vec![],
        birthright: None,
        approval_policy: ApprovalPolicy::default(),
        license_pool_id: None,
        connector: ConnectorConfig::Record,
        max_duration_hours: None,
        components: vec![],
        access_review: None,
        updated_at: None,
        updated_by: None,
        reclamation: None,
    }
}

pub(crate) fn request(
    request_id: &str,
    requester_id: &str,
    beneficiary_id: &str,
    created_at: Timestamp,
) -> Request {
    Request {
        request_id: request_id.into(),
        // An item of its own, so open fixture requests never hold one another's open-request key.
        item_id: format!("item-{request_id}"),
        item_version: 1,
        requester_id: requester_id.into(),
        beneficiary_id: beneficiary_id.into(),
        justification: None,
        duration_hours: None,
        extends_assignment_id: None,
        status: RequestStatus::Submitted,
        stages: vec![],
        auto_approved: false,
        cancel_requested: false,
        outcome: None,
        timeline: vec![TimelineEntry {
            at: created_at,
            status: RequestStatus::Submitted,
            actor: requester_id.into(),
            note: "submitted".into(),
        }],
        created_at,
        updated_at: created_at,
        version: 0,
    }
}

pub(crate) fn approval_task(
    approval_id: &str,
    request_id: &str,
    stage_index: u32,
    approvers: Vec<Principal>,
    created_at: Timestamp,
) -> ApprovalTask {
    ApprovalTask {
        approval_id: approval_id.into(),
        request_id: request_id.into(),
        stage_index,
        stage_name: "manager".into(),
        item_id: "slack".into(),
        requester_id: "E-requester".into(),
        beneficiary_id: "E-requester".into(),
        mode: ApprovalMode::Any,
        approvers,
        decisions: vec![],
        status: ApprovalStatus::Pending,
        task_token: format!("token-{approval_id}"),
        created_at,
        due_at: created_at + chrono::Duration::hours(48),
        expires_at: None,
        reminded_at: None,
        escalated_at: None,
        outstanding: None,
        version: 0,
    }
}

pub(crate) fn decision(approver_id: &str, at: Timestamp) -> DecisionRecord {
    DecisionRecord {
        approver_id: approver_id.into(),
        principal: Principal::User(approver_id.into()),
        decision: Decision::Approve,
        comment: None,
        at,
        on_behalf_of: None,
    }
}

pub(crate) fn assignment(holder_id: &str, item_id: &str, granted_at: Timestamp) -> Assignment {
    Assignment {
        sources: vec![GrantSource {
            request_id: format!("req-{holder_id}-{item_id}"),
            via_bundle: None,
            granted_at,
            expires_at: None,
        }],
        connector_ref: Some(json!({"ref": "grant-1"})),
        ..Assignment::new(holder_id, item_id, granted_at)
    }
}

pub(crate) fn audit_record(subject: &str, at: Timestamp) -> AuditRecord {
    AuditRecord {
        at,
        actor: "provisio".into(),
        action: "request.submitted".into(),
        subject: subject.into(),
        before: Value::Null,
        after: json!({"status": "SUBMITTED"}),
        comment: None,
    }
}
