//! Submission rules: eligibility, lifecycle, justification, idempotency, and clear errors for bad input.

use provisio_tests::{Stack, assert_problem};
use serde_json::json;

#[tokio::test]
async fn the_catalog_shows_eligibility_with_reasons() {
    let s = Stack::start().await;
    let r = s.call("E022", "GET", "/catalog", None).await;
    assert_eq!(r.status, 200);
    let items = r.body["items"].as_array().unwrap();
    let copilot = items
        .iter()
        .find(|i| i["itemId"] == "github-copilot")
        .unwrap();
    assert_eq!(copilot["eligible"], false);
    assert!(!copilot["reasons"].as_array().unwrap().is_empty());
    assert!(
        items
            .iter()
            .any(|i| i["itemId"] == "lucidchart" && i["eligible"] == true)
    );
    assert!(
        items.iter().all(|i| i["itemId"] != "microsoft-visio"),
        "end-of-life items are not offered"
    );
}

#[tokio::test]
async fn an_ineligible_request_gets_422_with_reasons() {
    let s = Stack::start().await;
    let r = s
        .call(
            "E022",
            "POST",
            "/requests",
            Some(json!({"itemId": "github-copilot"})),
        )
        .await;
    assert_problem(&r, 422);
    let reasons = r.body["reasons"].as_array().unwrap();
    assert!(
        reasons
            .iter()
            .any(|x| x.as_str().unwrap().contains("Engineering")),
        "{reasons:?}"
    );
    assert!(
        s.call("E022", "GET", "/requests", None).await.body["items"]
            .as_array()
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn end_of_life_items_are_refused_and_name_their_replacement() {
    let s = Stack::start().await;
    let r = s
        .call(
            "E013",
            "POST",
            "/requests",
            Some(json!({"itemId": "microsoft-visio"})),
        )
        .await;
    assert_problem(&r, 422);
    let reason = r.body["reasons"][0].as_str().unwrap();
    assert!(
        reason.contains("end-of-life") && reason.contains("lucidchart"),
        "{reason}"
    );
}

#[tokio::test]
async fn a_missing_justification_is_a_field_error() {
    let s = Stack::start().await;
    let r = s
        .call(
            "E013",
            "POST",
            "/requests",
            Some(json!({"itemId": "prod-db-admin", "durationHours": 24})),
        )
        .await;
    assert_problem(&r, 400);
    assert_eq!(r.body["errors"][0]["field"], "justification");
    let too_long = s
        .call("E013", "POST", "/requests", Some(json!({"itemId": "prod-db-admin", "justification": "incident 42", "durationHours": 500})))
        .await;
    assert_problem(&too_long, 400);
    assert_eq!(too_long.body["errors"][0]["field"], "durationHours");
}

#[tokio::test]
async fn an_idempotency_key_replays_the_same_request_and_refuses_another_body() {
    let s = Stack::start().await;
    let token = s.token("E013").await;
    let body =
        json!({"itemId": "figma-professional", "justification": "design reviews"}).to_string();
    let key = [("idempotency-key", "k-123")];
    let first = s
        .send(
            "POST",
            "/requests",
            Some(&token),
            Some(body.as_bytes()),
            &key,
        )
        .await;
    let again = s
        .send(
            "POST",
            "/requests",
            Some(&token),
            Some(body.as_bytes()),
            &key,
        )
        .await;
    assert_eq!(first.status, 202);
    assert_eq!(again.status, 202);
    assert_eq!(first.body["requestId"], again.body["requestId"]);
    let mine = s.call("E013", "GET", "/requests", None).await;
    assert_eq!(
        mine.body["items"].as_array().unwrap().len(),
        1,
        "one request, not two"
    );

    let other = json!({"itemId": "lucidchart"}).to_string();
    assert_problem(
        &s.send(
            "POST",
            "/requests",
            Some(&token),
            Some(other.as_bytes()),
            &key,
        )
        .await,
        409,
    );
    // Keys are per caller: another employee's identical key is independent.
    let t2 = s.token("E015").await;
    assert_eq!(
        s.send("POST", "/requests", Some(&t2), Some(body.as_bytes()), &key)
            .await
            .status,
        202
    );
}

#[tokio::test]
async fn bad_input_and_bad_tokens_get_clear_4xx_never_5xx() {
    let s = Stack::start().await;
    let token = s.token("E013").await;
    let post = |body: Vec<u8>| {
        let s = s.clone();
        let token = token.clone();
        async move {
            s.send("POST", "/requests", Some(&token), Some(&body), &[])
                .await
        }
    };
    let malformed = post(b"{\"itemId\": ".to_vec()).await;
    assert_problem(&malformed, 400);
    let unknown = post(br#"{"itemId": "lucidchart", "colour": "red"}"#.to_vec()).await;
    assert_problem(&unknown, 400);
    assert!(
        unknown.body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("colour")
    );
    let wrong_type = post(br#"{"itemId": 42}"#.to_vec()).await;
    assert_problem(&wrong_type, 400);
    let huge = format!(
        r#"{{"itemId": "lucidchart", "justification": "{}"}}"#,
        "x".repeat(200_000)
    );
    assert_problem(&post(huge.into_bytes()).await, 413);
    let unknown_item = post(br#"{"itemId": "no-such-thing"}"#.to_vec()).await;
    assert_problem(&unknown_item, 400);

    assert_problem(&s.send("GET", "/catalog", None, None, &[]).await, 401);
    assert_problem(
        &s.send("GET", "/catalog", Some("not-a-jwt"), None, &[])
            .await,
        401,
    );
    let forged = provisio_local::auth::DevAuth::new("wrong-secret")
        .token("E016", &["provisio-admins".into()], 60)
        .unwrap();
    assert_problem(
        &s.send("GET", "/catalog", Some(&forged), None, &[]).await,
        401,
    );
    assert_problem(
        &s.send("GET", "/no/such/route", Some(&token), None, &[])
            .await,
        404,
    );
    assert_problem(
        &s.call("E013", "PUT", "/admin/catalog/x", Some(json!({})))
            .await,
        403,
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_duplicate_submits_create_one_request() {
    let s = Stack::start().await;
    let token = s.token("E013").await;
    let body = json!({"itemId": "lucidchart"}).to_string();
    let sends: Vec<_> = (0..10)
        .map(|_| {
            let (s, token, body) = (s.clone(), token.clone(), body.clone());
            tokio::spawn(async move {
                s.send(
                    "POST",
                    "/requests",
                    Some(&token),
                    Some(body.as_bytes()),
                    &[("idempotency-key", "k-burst")],
                )
                .await
            })
        })
        .collect();
    let mut ids = std::collections::BTreeSet::new();
    for send in sends {
        let reply = send.await.expect("send task");
        match reply.status {
            202 => {
                ids.insert(reply.body["requestId"].as_str().unwrap().to_string());
            }
            // The first attempt is still running: the client retries later with the same key.
            409 => assert_problem(&reply, 409),
            other => panic!("unexpected {other}: {:?}", reply.body),
        }
    }
    assert_eq!(
        ids.len(),
        1,
        "every accepted duplicate names the same request"
    );
    let mine = s.call("E013", "GET", "/requests", None).await;
    assert_eq!(
        mine.body["items"].as_array().unwrap().len(),
        1,
        "one request, not ten"
    );
}
