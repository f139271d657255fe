//! An eligibility or approval rule as an admin saves it (`validate`) and as every catalog read evaluates it
//! (`holds`), against the facts of a fixed employee and item.
#![no_main]

use std::sync::LazyLock;

use libfuzzer_sys::fuzz_target;
use provisio_core::model::{CatalogItem, Identity};
use provisio_core::policy::{self, Facts};
use serde_json::json;

static FACTS: LazyLock<Facts> = LazyLock::new(|| {
    let user: Identity = serde_json::from_value(json!({
        "employeeId": "E031", "email": "noah.schmidt@example.com", "displayName": "Noah Schmidt",
        "department": "Engineering", "jobTitle": "Software Engineer", "location": "DE",
        "costCenter": "CC-100", "managerId": "E009", "employmentType": "FTE", "status": "active",
        "groups": ["engineering", "vpn-users"]
    }))
    .expect("fixed identity");
    let item: CatalogItem = serde_json::from_value(json!({
        "itemId": "miro-business", "name": "Miro Business", "description": "Online whiteboard.",
        "category": "saas", "cost": {"amount": 16.0, "currency": "EUR", "recurrence": "monthly"},
        "glCode": "6200", "ownerId": "E016", "risk": "low", "requiresJustification": false,
        "lifecycle": "active", "eligibility": [{"when": "user.department == 'Engineering'", "reason": "Engineering only"}],
        "approvalPolicy": {"stages": [{"name": "manager", "approvers": [{"type": "manager"}],
            "mode": "any", "slaHours": 48}], "maxAgeHours": 168},
        "connector": {"type": "record"}
    }))
    .expect("fixed catalog item");
    Facts::new(
        &user,
        &item,
        json!({"justification": "workshop", "durationHours": 8}),
    )
});

fuzz_target!(|data: &[u8]| {
    let Ok(rule) = std::str::from_utf8(data) else {
        return;
    };
    if policy::validate(rule).is_ok() {
        let _ = policy::holds(rule, &FACTS);
    }
});
