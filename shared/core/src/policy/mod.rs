//! Eligibility and routing rules: CEL expressions over `user`, `item` and `request`.

mod cost;
mod limits;

use cel::Context;
use serde_json::{Value, json};

use cost::FactSizes;
pub use limits::{ASSUMED_FACT_VALUES, MAX_COST, MAX_NESTING, MAX_RULE_CHARS};

use crate::model::{CatalogItem, Identity, IdentityStatus, Lifecycle, StageSpec};
use crate::{Error, FieldError, Result};

/// The facts a rule sees. `request` holds what the employee asked for (justification, durationHours, ...).
pub struct Facts {
    user: Value,
    item: Value,
    request: Value,
    sizes: FactSizes,
}

impl Facts {
    pub fn new(user: &Identity, item: &CatalogItem, request: Value) -> Self {
        let (user, item) = (to_json(user), to_json(item));
        Self {
            sizes: FactSizes::of(&user, &item, &request),
            user,
            item,
            request,
        }
    }
}

fn to_json<T: serde::Serialize>(v: &T) -> Value {
    // Model types always serialize; a failure here is a programming error surfaced as Null.
    serde_json::to_value(v).unwrap_or(Value::Null)
}

/// Compiles `expr` and checks it is within the limits (length, nesting, cost for facts of the assumed size), so
/// admins learn of a broken or too costly rule when they save it rather than when it runs.
pub fn validate(expr: &str) -> std::result::Result<(), String> {
    limits::compile(expr, &FactSizes::ASSUMED).map(|_| ())
}

/// Evaluates a boolean rule. A rule that fails to evaluate, yields a non-boolean or is over the limits for these
/// facts (a stored rule is checked again: it may predate the limits) is an error, never `true`.
pub fn holds(expr: &str, facts: &Facts) -> std::result::Result<bool, String> {
    let program = limits::compile(expr, &facts.sizes)?;
    let mut ctx = Context::default();
    for (name, value) in [
        ("user", &facts.user),
        ("item", &facts.item),
        ("request", &facts.request),
    ] {
        ctx.add_variable(name, value.clone())
            .map_err(|e| e.to_string())?;
    }
    match cel::Value::resolve(&program, &ctx).map_err(|e| e.to_string())? {
        cel::Value::Bool(b) => Ok(b),
        other => Err(format!("rule did not yield a boolean but {other:?}")),
    }
}

/// Reasons the user may not request the item; empty means eligible.
pub fn ineligibility_reasons(item: &CatalogItem, user: &Identity, request: Value) -> Vec<String> {
    let mut reasons = Vec::new();
    if item.lifecycle == Lifecycle::Eol {
        let hint = item
            .replacement_item_id
            .as_ref()
            .map(|r| format!("; request {r} instead"))
            .unwrap_or_default();
        reasons.push(format!(
            "{} is end-of-life and can no longer be requested{hint}",
            item.name
        ));
    }
    if user.status == IdentityStatus::Terminated {
        reasons.push("employee is no longer active".to_string());
    }
    let facts = Facts::new(user, item, request);
    for rule in &item.eligibility {
        match holds(&rule.when, &facts) {
            Ok(true) => {}
            Ok(false) => reasons.push(rule.reason.clone()),
            Err(e) => {
                tracing::warn!(item = %item.item_id, error = %e, "eligibility rule failed to evaluate");
                reasons.push(format!("{} (rule could not be evaluated)", rule.reason));
            }
        }
    }
    reasons
}

/// Reasons the user no longer fits an item they hold: the eligibility rules about the person. Rules about the
/// original ask (`request.*`) were judged when it was made and are not judged again.
pub fn person_reasons(item: &CatalogItem, user: &Identity) -> Vec<String> {
    let about_person = CatalogItem {
        eligibility: item
            .eligibility
            .iter()
            .filter(|r| !r.when.contains("request."))
            .cloned()
            .collect(),
        lifecycle: Lifecycle::Active,
        ..item.clone()
    };
    ineligibility_reasons(&about_person, user, Value::Null)
}

/// The approval stages whose condition holds for this request, with their policy index, in policy order.
pub fn applicable_stages<'a>(
    item: &'a CatalogItem,
    facts: &Facts,
) -> Result<Vec<(u32, &'a StageSpec)>> {
    let mut stages = Vec::new();
    for (index, stage) in (0u32..).zip(&item.approval_policy.stages) {
        let applies = match &stage.condition {
            None => true,
            Some(expr) => holds(expr, facts).map_err(|e| {
                Error::Internal(format!(
                    "stage {} condition of {}: {e}",
                    stage.name, item.item_id
                ))
            })?,
        };
        if applies {
            stages.push((index, stage));
        }
    }
    Ok(stages)
}

/// Checks every CEL expression of an item compiles; used when admins save items.
pub fn validate_item(item: &CatalogItem) -> Vec<FieldError> {
    let rules = item
        .eligibility
        .iter()
        .enumerate()
        .map(|(i, r)| (format!("eligibility[{i}].when"), &r.when))
        .chain(
            item.birthright
                .iter()
                .map(|b| ("birthright".to_string(), b)),
        );
    let stages = item
        .approval_policy
        .stages
        .iter()
        .enumerate()
        .filter_map(|(i, s)| {
            s.condition
                .as_ref()
                .map(|c| (format!("approvalPolicy.stages[{i}].condition"), c))
        });
    rules
        .chain(stages)
        .filter_map(|(field, expr)| {
            validate(expr)
                .err()
                .map(|e| FieldError::new(field, format!("invalid CEL: {e}")))
        })
        .collect()
}

/// The `request` fact for a submission.
pub fn request_facts(
    justification: Option<&str>,
    duration_hours: Option<u32>,
    on_behalf: bool,
) -> Value {
    json!({
        "justification": justification.unwrap_or_default(),
        "durationHours": duration_hours.unwrap_or_default(),
        "onBehalfOf": on_behalf,
    })
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::model::*;

    pub(crate) fn engineer() -> Identity {
        serde_json::from_value(json!({
            "employeeId": "E100", "email": "e100@example.com", "displayName": "Eng", "department": "Engineering",
            "jobTitle": "SRE", "location": "DE", "costCenter": "CC-100", "managerId": "E001",
            "employmentType": "FTE", "status": "active"
        }))
        .unwrap()
    }

    pub(crate) fn item(eligibility: Value, stages: Value) -> CatalogItem {
        serde_json::from_value(json!({
            "itemId": "x", "name": "X", "category": "saas",
            "cost": {"amount": 1500.0, "currency": "EUR", "recurrence": "monthly"},
            "glCode": "6100", "ownerId": "E001", "risk": "high", "lifecycle": "active",
            "eligibility": eligibility, "approvalPolicy": {"stages": stages}
        }))
        .unwrap()
    }

    #[test]
    fn eligibility_returns_the_reason_of_each_failed_rule() {
        let it = item(
            json!([
                {"when": "user.department in ['Engineering', 'IT']", "reason": "Engineering and IT only"},
                {"when": "user.employmentType == 'CONTRACTOR'", "reason": "contractors only"},
                {"when": "user.location == 'DE'", "reason": "Germany only"}
            ]),
            json!([]),
        );
        let reasons = ineligibility_reasons(&it, &engineer(), request_facts(None, None, false));
        assert_eq!(reasons, vec!["contractors only".to_string()]);
    }

    #[test]
    fn eol_items_are_never_eligible_and_name_the_replacement() {
        let mut it = item(json!([]), json!([]));
        it.lifecycle = Lifecycle::Eol;
        it.replacement_item_id = Some("y".into());
        let reasons = ineligibility_reasons(&it, &engineer(), request_facts(None, None, false));
        assert_eq!(reasons.len(), 1);
        assert!(reasons[0].contains("end-of-life") && reasons[0].contains("request y instead"));
    }

    #[test]
    fn a_rule_that_does_not_evaluate_denies_rather_than_allows() {
        let it = item(
            json!([{"when": "user.noSuchField == 'x'", "reason": "needs x"}]),
            json!([]),
        );
        let reasons = ineligibility_reasons(&it, &engineer(), request_facts(None, None, false));
        assert_eq!(
            reasons,
            vec!["needs x (rule could not be evaluated)".to_string()]
        );
    }

    #[test]
    fn stage_conditions_select_stages_over_cost_and_risk() {
        let it = item(
            json!([]),
            json!([
                {"name": "manager", "approvers": [{"type": "manager"}]},
                {"name": "finance", "approvers": [{"type": "group", "group": "finance"}], "condition": "item.cost.amount > 1000.0"},
                {"name": "cheap", "approvers": [{"type": "itemOwner"}], "condition": "item.cost.amount < 10.0"},
                {"name": "security", "approvers": [{"type": "group", "group": "security"}], "condition": "item.risk == 'high'"}
            ]),
        );
        let facts = Facts::new(&engineer(), &it, request_facts(None, None, false));
        let names: Vec<_> = applicable_stages(&it, &facts)
            .unwrap()
            .iter()
            .map(|(_, s)| s.name.clone())
            .collect();
        assert_eq!(names, vec!["manager", "finance", "security"]);
    }

    #[test]
    fn invalid_cel_is_reported_per_field() {
        let it = item(
            json!([{"when": "user.department ==", "reason": "r"}]),
            json!([]),
        );
        let errors = validate_item(&it);
        assert_eq!(errors.len(), 1);
        assert_eq!(errors[0].field, "eligibility[0].when");
    }
}
