//! CEL rules over the limits can neither crash nor stall the service: refused on save, and a stored one (saved
//! before the limits, straight into the store) only makes its own item ineligible.

use std::time::{Duration, Instant};

use provisio_core::model::CatalogItem;
use provisio_tests::{Stack, assert_problem};
use serde_json::json;

/// `1 + 1 + ... + 1 == 1`: a syntax tree `terms` levels deep.
fn terms(terms: usize) -> String {
    format!("{} == 1", vec!["1"; terms].join(" + "))
}

/// Nested comprehensions over 30 elements: 27,000 evaluations of the innermost body.
fn costly() -> String {
    let l = format!(
        "[{}]",
        (0..30)
            .map(|i| i.to_string())
            .collect::<Vec<_>>()
            .join(", ")
    );
    format!("size({l}.map(a, {l}.map(b, {l}.filter(c, a + b + c > 40)))) > 0")
}

#[tokio::test]
async fn a_rule_over_the_limits_is_refused_on_save_naming_the_field() {
    let s = Stack::start().await;
    let item = |when: String| {
        json!({
            "itemId": "deep", "name": "Deep", "category": "saas",
            "cost": {"amount": 10.0, "currency": "EUR", "recurrence": "monthly"},
            "glCode": "6200", "ownerId": "E016", "risk": "low", "lifecycle": "active",
            "eligibility": [{"when": when, "reason": "never"}]
        })
    };
    for rule in [terms(12_000), terms(2_000), costly()] {
        let r = s
            .call("E016", "PUT", "/admin/catalog/deep", Some(item(rule)))
            .await;
        assert_problem(&r, 400);
        let errors = r.body["errors"].as_array().expect("field errors");
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert_eq!(errors[0]["field"], "eligibility[0].when");
    }
    // The server is still up, and the item was never stored.
    assert_eq!(s.call("E016", "GET", "/catalog", None).await.status, 200);
    assert_eq!(
        s.call("E016", "GET", "/catalog/deep", None).await.status,
        404
    );
}

#[tokio::test]
async fn a_stored_rule_over_the_limits_makes_only_its_item_ineligible() {
    let s = Stack::start().await;
    for (id, when) in [("legacy-deep", terms(12_000)), ("legacy-costly", costly())] {
        let item: CatalogItem = serde_json::from_value(json!({
            "itemId": id, "name": id, "category": "saas",
            "cost": {"amount": 10.0, "currency": "EUR", "recurrence": "monthly"},
            "glCode": "6200", "ownerId": "E016", "risk": "low", "lifecycle": "active",
            "eligibility": [{"when": when, "reason": "legacy rule"}],
            "approvalPolicy": {"stages": [], "fallbackGroup": null}
        }))
        .expect("item");
        // Straight into the store, as an item saved before the limits existed.
        s.stack.ports.catalog.put(item).await.expect("stored");
    }
    let started = Instant::now();
    let r = s.call("E016", "GET", "/catalog", None).await;
    let took = started.elapsed();
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert!(took < Duration::from_secs(2), "GET /catalog took {took:?}");
    let items = r.body["items"].as_array().expect("items");
    for id in ["legacy-deep", "legacy-costly"] {
        let legacy = items.iter().find(|i| i["itemId"] == id).expect(id);
        assert_eq!(legacy["eligible"], false);
        assert_eq!(
            legacy["reasons"],
            json!(["legacy rule (rule could not be evaluated)"])
        );
    }
    assert!(
        items
            .iter()
            .any(|i| i["itemId"] == "lucidchart" && i["eligible"] == true),
        "other items are unaffected"
    );
    let r = s
        .call(
            "E016",
            "POST",
            "/requests",
            Some(json!({"itemId": "legacy-deep"})),
        )
        .await;
    assert_problem(&r, 422);
}
