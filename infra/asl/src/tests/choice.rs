//! Choice state operators and rule nesting.

use serde_json::{Value, json};

use super::support::*;

/// Runs a Choice with `rule` → "Yes" and Default "No"; returns the branch taken.
async fn branch(rule: Value, input: Value) -> Result<Value, String> {
    let mut rule = rule;
    rule["Next"] = json!("Yes");
    let machine = json!({
        "StartAt": "C",
        "States": {
            "C": { "Type": "Choice", "Choices": [rule], "Default": "No" },
            "Yes": { "Type": "Pass", "Result": "yes", "End": true },
            "No": { "Type": "Pass", "Result": "no", "End": true }
        }
    });
    outcome(&run(machine, input).await)
}

#[tokio::test]
async fn comparison_operators_follow_the_spec() {
    let input = json!({
        "s": "beta", "n": 10, "b": true, "t": "2024-05-01T12:00:00Z",
        "s2": "alpha", "n2": 10.0, "b2": true, "t2": "2024-05-01T13:00:00+01:00",
        "file": "report-2024.csv", "star": "a*b", "nil": null
    });
    let cases = [
        (json!({"Variable": "$.s", "StringEquals": "beta"}), true),
        (json!({"Variable": "$.s", "StringEquals": "Beta"}), false),
        (json!({"Variable": "$.s", "StringLessThan": "gamma"}), true),
        (
            json!({"Variable": "$.s", "StringGreaterThan": "gamma"}),
            false,
        ),
        (
            json!({"Variable": "$.s", "StringLessThanEquals": "beta"}),
            true,
        ),
        (
            json!({"Variable": "$.s", "StringGreaterThanEquals": "beta"}),
            true,
        ),
        (
            json!({"Variable": "$.s", "StringGreaterThanPath": "$.s2"}),
            true,
        ),
        (
            json!({"Variable": "$.s", "StringEqualsPath": "$.s2"}),
            false,
        ),
        (json!({"Variable": "$.n", "NumericEquals": 10}), true),
        (
            json!({"Variable": "$.n", "NumericEqualsPath": "$.n2"}),
            true,
        ),
        (json!({"Variable": "$.n", "NumericLessThan": 10}), false),
        (
            json!({"Variable": "$.n", "NumericLessThanEquals": 10}),
            true,
        ),
        (json!({"Variable": "$.n", "NumericGreaterThan": 9.5}), true),
        (
            json!({"Variable": "$.n", "NumericGreaterThanEquals": 11}),
            false,
        ),
        (
            json!({"Variable": "$.n", "NumericLessThanPath": "$.n2"}),
            false,
        ),
        (json!({"Variable": "$.b", "BooleanEquals": true}), true),
        (
            json!({"Variable": "$.b", "BooleanEqualsPath": "$.b2"}),
            true,
        ),
        (
            json!({"Variable": "$.t", "TimestampEquals": "2024-05-01T12:00:00Z"}),
            true,
        ),
        // Same instant in another offset.
        (
            json!({"Variable": "$.t", "TimestampEqualsPath": "$.t2"}),
            true,
        ),
        (
            json!({"Variable": "$.t", "TimestampLessThan": "2024-05-01T12:00:01Z"}),
            true,
        ),
        (
            json!({"Variable": "$.t", "TimestampGreaterThan": "2024-05-01T12:00:01Z"}),
            false,
        ),
        (
            json!({"Variable": "$.t", "TimestampLessThanEquals": "2024-05-01T12:00:00Z"}),
            true,
        ),
        (
            json!({"Variable": "$.t", "TimestampGreaterThanEquals": "2025-01-01T00:00:00Z"}),
            false,
        ),
        (
            json!({"Variable": "$.file", "StringMatches": "report-*.csv"}),
            true,
        ),
        (
            json!({"Variable": "$.file", "StringMatches": "*.json"}),
            false,
        ),
        (
            json!({"Variable": "$.star", "StringMatches": "a\\*b"}),
            true,
        ),
        (
            json!({"Variable": "$.file", "StringMatches": "report\\*"}),
            false,
        ),
        // Type mismatches are false, not errors.
        (json!({"Variable": "$.s", "NumericEquals": 1}), false),
        (json!({"Variable": "$.n", "StringEquals": "10"}), false),
        (
            json!({"Variable": "$.s", "TimestampEquals": "2024-05-01T12:00:00Z"}),
            false,
        ),
        (json!({"Variable": "$.nil", "IsNull": true}), true),
        (json!({"Variable": "$.s", "IsNull": true}), false),
        (json!({"Variable": "$.s", "IsPresent": true}), true),
        (json!({"Variable": "$.n", "IsNumeric": true}), true),
        (json!({"Variable": "$.s", "IsNumeric": false}), true),
        (json!({"Variable": "$.s", "IsString": true}), true),
        (json!({"Variable": "$.b", "IsBoolean": true}), true),
        (json!({"Variable": "$.t", "IsTimestamp": true}), true),
        (json!({"Variable": "$.s", "IsTimestamp": true}), false),
        // A missing variable is only "not present"; other type checks are false.
        (json!({"Variable": "$.absent", "IsPresent": false}), true),
        (json!({"Variable": "$.absent", "IsPresent": true}), false),
        (json!({"Variable": "$.absent", "IsNull": false}), false),
        (json!({"Variable": "$.absent", "IsString": false}), false),
    ];
    for (rule, expected) in cases {
        let expected = json!(if expected { "yes" } else { "no" });
        assert_eq!(
            branch(rule.clone(), input.clone()).await,
            Ok(expected),
            "rule {rule}"
        );
    }
}

#[tokio::test]
async fn and_or_not_nest() {
    let input = json!({"role": "admin", "level": 3});
    let rule = json!({
        "And": [
            { "Variable": "$.role", "StringEquals": "admin" },
            { "Or": [
                { "Variable": "$.level", "NumericGreaterThan": 5 },
                { "Not": { "Variable": "$.level", "NumericLessThan": 2 } }
            ]}
        ]
    });
    assert_eq!(branch(rule.clone(), input).await, Ok(json!("yes")));
    let input = json!({"role": "admin", "level": 1});
    assert_eq!(branch(rule, input).await, Ok(json!("no")));
}

#[tokio::test]
async fn comparison_on_a_missing_variable_is_a_runtime_error() {
    let rule = json!({"Variable": "$.absent", "StringEquals": "x"});
    let result = branch(rule, json!({})).await;
    assert!(
        result
            .unwrap_err()
            .starts_with("States.Runtime: Invalid path '$.absent'")
    );
}

#[tokio::test]
async fn first_matching_rule_wins_and_no_match_without_default_fails() {
    let machine = json!({
        "StartAt": "C",
        "States": {
            "C": { "Type": "Choice", "OutputPath": "$.v", "Choices": [
                { "Variable": "$.v", "NumericGreaterThan": 1, "Next": "First" },
                { "Variable": "$.v", "NumericGreaterThan": 0, "Next": "Second" }
            ]},
            "First": { "Type": "Pass", "Parameters": { "took": "first", "in.$": "$" }, "End": true },
            "Second": { "Type": "Pass", "Result": "second", "End": true }
        }
    });
    assert_eq!(
        run(machine.clone(), json!({"v": 5})).await.output,
        Some(json!({"took": "first", "in": 5}))
    );
    assert_eq!(
        run(machine.clone(), json!({"v": 1})).await.output,
        Some(json!("second"))
    );
    let done = run(machine, json!({"v": 0})).await;
    assert_eq!(done.error.as_deref(), Some("States.NoChoiceMatched"));
}
