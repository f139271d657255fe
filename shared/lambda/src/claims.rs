//! The caller from verified JWT claims: `sub` = employee id, `email`, `groups` (array, or a space/comma
//! separated string as API Gateway flattens arrays to `[a b]`).

use provisio_core::model::Caller;
use serde_json::Value;

pub fn caller_from_claims(claims: &serde_json::Map<String, Value>) -> Option<Caller> {
    let employee_id = claims.get("sub")?.as_str()?.trim();
    if employee_id.is_empty() {
        return None;
    }
    let groups = match claims.get("groups") {
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_string)
            .collect(),
        Some(Value::String(s)) => split_groups(s),
        _ => vec![],
    };
    Some(Caller {
        employee_id: employee_id.to_string(),
        email: claims
            .get("email")
            .and_then(Value::as_str)
            .map(str::to_string),
        groups,
    })
}

fn split_groups(s: &str) -> Vec<String> {
    s.trim_matches(|c| c == '[' || c == ']')
        .split(|c: char| c == ',' || c.is_whitespace())
        .filter(|g| !g.is_empty())
        .map(str::to_string)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn claims(v: Value) -> serde_json::Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn groups_arrive_as_array_or_flattened_string() {
        let a = caller_from_claims(&claims(json!({"sub": "E1", "groups": ["x", "y"]}))).unwrap();
        let b = caller_from_claims(&claims(json!({"sub": "E1", "groups": "[x y]"}))).unwrap();
        let c = caller_from_claims(&claims(json!({"sub": "E1", "groups": "x, y"}))).unwrap();
        assert_eq!(a.groups, vec!["x", "y"]);
        assert_eq!(a, b);
        assert_eq!(b, c);
    }

    #[test]
    fn no_subject_means_no_caller() {
        assert!(caller_from_claims(&claims(json!({"email": "a@example.com"}))).is_none());
        assert!(caller_from_claims(&claims(json!({"sub": " "}))).is_none());
    }
}
