//! Intrinsic functions, evaluated through a Pass state's Parameters.

use serde_json::{Value, json};

use super::support::*;

async fn eval(expression: &str, input: Value) -> Result<Value, String> {
    let done = run(pass_machine(json!({ "r.$": expression })), input).await;
    outcome(&done).map(|output| output["r"].clone())
}

#[tokio::test]
async fn intrinsics_compute_documented_results() {
    let input = json!({
        "name": "Ada", "n": 3, "list": [1, 2, 2, 3, 1], "obj": {"a": 1, "b": 2},
        "other": {"b": 9, "c": 3}, "json": "{\"k\":[1,2]}", "csv": "a,b;;c"
    });
    let cases = [
        (
            "States.Format('Hello, {}! You have {} items.', $.name, $.n)",
            json!("Hello, Ada! You have 3 items."),
        ),
        (
            "States.Format('literal \\{\\} and \\'quote\\' {}', 'x')",
            json!("literal {} and 'quote' x"),
        ),
        ("States.Format('{}-{}', true, null)", json!("true-null")),
        ("States.StringToJson($.json)", json!({"k": [1, 2]})),
        ("States.JsonToString($.obj)", json!("{\"a\":1,\"b\":2}")),
        (
            "States.Array('a', 1, $.n, States.Array())",
            json!(["a", 1, 3, []]),
        ),
        (
            "States.ArrayPartition($.list, 2)",
            json!([[1, 2], [2, 3], [1]]),
        ),
        ("States.ArrayContains($.list, 3)", json!(true)),
        ("States.ArrayContains($.list, 7)", json!(false)),
        ("States.ArrayRange(1, 9, 3)", json!([1, 4, 7])),
        ("States.ArrayRange(5, 1, -2)", json!([5, 3, 1])),
        ("States.ArrayGetItem($.list, 3)", json!(3)),
        ("States.ArrayLength($.list)", json!(5)),
        ("States.ArrayUnique($.list)", json!([1, 2, 3])),
        (
            "States.Base64Encode('Data to encode')",
            json!("RGF0YSB0byBlbmNvZGU="),
        ),
        (
            "States.Base64Decode('RGF0YSB0byBlbmNvZGU=')",
            json!("Data to encode"),
        ),
        (
            "States.Hash('input data', 'SHA-256')",
            json!("b4a697a057313163aee33cd8d40c66e9f0f177e00cac2de32475ffff6169c3e3"),
        ),
        (
            "States.JsonMerge($.obj, $.other, false)",
            json!({"a": 1, "b": 9, "c": 3}),
        ),
        ("States.MathAdd($.n, -5)", json!(-2)),
        ("States.StringSplit($.csv, ',;')", json!(["a", "b", "c"])),
        (
            "States.ArrayLength(States.StringSplit('x y z', ' '))",
            json!(3),
        ),
    ];
    for (expression, expected) in cases {
        assert_eq!(
            eval(expression, input.clone()).await,
            Ok(expected),
            "{expression}"
        );
    }
}

#[tokio::test]
async fn hash_supports_sha384_and_sha512_but_not_md5() {
    let sha384 = eval("States.Hash('abc', 'SHA-384')", json!({}))
        .await
        .unwrap();
    assert_eq!(sha384.as_str().unwrap().len(), 96);
    let sha512 = eval("States.Hash('abc', 'SHA-512')", json!({}))
        .await
        .unwrap();
    assert!(sha512.as_str().unwrap().starts_with("ddaf35a193617aba"));
    let md5 = eval("States.Hash('abc', 'MD5')", json!({}))
        .await
        .unwrap_err();
    assert!(md5.starts_with("States.IntrinsicFailure"), "{md5}");
}

#[tokio::test]
async fn random_and_uuid_produce_well_formed_values() {
    let seeded = eval("States.MathRandom(1, 100, 42)", json!({}))
        .await
        .unwrap();
    assert_eq!(
        eval("States.MathRandom(1, 100, 42)", json!({}))
            .await
            .unwrap(),
        seeded
    );
    for _ in 0..20 {
        let n = eval("States.MathRandom(5, 7)", json!({}))
            .await
            .unwrap()
            .as_i64()
            .unwrap();
        assert!((5..=7).contains(&n), "{n}");
    }
    let id = eval("States.UUID()", json!({})).await.unwrap();
    let parsed = uuid::Uuid::parse_str(id.as_str().unwrap()).unwrap();
    assert_eq!(parsed.get_version_num(), 4);
}

#[tokio::test]
async fn bad_arguments_fail_with_intrinsic_failure() {
    let cases = [
        "States.ArrayGetItem($.list, 10)",
        "States.ArrayPartition($.list, 0)",
        "States.ArrayRange(1, 2, 0)",
        "States.StringToJson('{not json')",
        "States.Base64Decode('***')",
        "States.JsonMerge($.list, $.list, false)",
        "States.JsonMerge($.obj, $.obj, true)",
        "States.MathAdd(9223372036854775807, 1)",
        "States.Format('{}', $.obj)",
        "States.ArrayRange(0, 5000, 1)",
    ];
    let input = json!({"list": [1], "obj": {}});
    for expression in cases {
        let error = eval(expression, input.clone()).await.unwrap_err();
        assert!(
            error.starts_with("States.IntrinsicFailure"),
            "{expression}: {error}"
        );
    }
}

#[test]
fn malformed_calls_are_rejected_when_the_definition_is_parsed() {
    let cases = [
        ("States.Nope(1)", "unknown function"),
        ("States.Format('{} {}', 1)", "placeholders"),
        ("States.ArrayLength()", "arguments"),
        ("States.Format($.template, 1)", "string literal template"),
        ("States.Array('unterminated)", "unterminated"),
        ("States.Array(1 2)", "expected ','"),
        ("States.Array(foo)", "unexpected argument"),
        ("States.Array('bad \\q escape')", "invalid escape"),
    ];
    for (expression, expected) in cases {
        let error = parse_error(pass_machine(json!({ "r.$": expression })));
        assert!(error.contains(expected), "{expression}: {error}");
    }
}
