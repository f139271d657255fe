//! The HTTP API keeps what shared/openapi.json promises, over the local stack as a client sees it: bounded clock
//! control, 400s naming the field, 401 challenges, 415 for non-JSON bodies, SCIM-shaped 413s, admin id pattern.

// Test code: helpers outside `#[test]` fns may fail the test with expect (clippy.toml only exempts the fns).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::Duration;

use jsonwebtoken::{Algorithm, EncodingKey, Header};
use provisio_local::seed::Seed;
use provisio_local::{Config, LocalStack, Store};
use provisio_memory::MemoryStores;
use reqwest::{Method, Response};
use serde_json::{Value, json};

const JWT_SECRET: &str = "contract-jwt-secret";
const SCIM_TOKEN: &str = "contract-scim-token";

struct Api {
    base: String,
    stack: Arc<LocalStack>,
    client: reqwest::Client,
}

impl Api {
    async fn start() -> Self {
        let config = Config {
            seed: Seed::demo().expect("demo seed"),
            jwt_secret: JWT_SECRET.into(),
            scim_token: SCIM_TOKEN.into(),
            hr_webhook_secret: "contract-hr-secret".into(),
            lifecycle: Default::default(),
            compliance: Default::default(),
            connector_timeout: Duration::from_secs(5),
            store: Store::Memory(MemoryStores::new()),
        };
        let stack = LocalStack::new(config).await.expect("local stack starts");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let base = format!("http://{}", listener.local_addr().expect("addr"));
        let app = provisio_local::http::router(stack.clone()).expect("router");
        tokio::spawn(async move { axum::serve(listener, app).await.expect("serve") });
        Self {
            base,
            stack,
            client: reqwest::Client::new(),
        }
    }

    fn token(&self, employee: &str, groups: &[&str]) -> String {
        let groups: Vec<String> = groups.iter().map(|g| g.to_string()).collect();
        self.stack
            .auth
            .token(employee, &groups, 3600)
            .expect("token")
    }

    /// `method path` with an optional bearer token and a raw body with the given content type.
    async fn send(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<(&str, Vec<u8>)>,
    ) -> Response {
        let mut rb = self.client.request(method, format!("{}{path}", self.base));
        if let Some(token) = token {
            rb = rb.bearer_auth(token);
        }
        if let Some((content_type, body)) = body {
            rb = rb.header("content-type", content_type).body(body);
        }
        rb.send().await.expect("request sent")
    }

    async fn json(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> (u16, Value) {
        let body = body.map(|b| ("application/json", b.to_string().into_bytes()));
        let resp = self.send(method, path, token, body).await;
        let status = resp.status().as_u16();
        (status, resp.json().await.unwrap_or(Value::Null))
    }

    async fn spec(&self) -> Value {
        self.json(Method::GET, "/openapi.json", None, None).await.1
    }
}

/// A 400 problem naming `field`.
fn names_field(status: u16, body: &Value, field: &str) -> bool {
    status == 400
        && body["errors"]
            .as_array()
            .is_some_and(|e| e.iter().any(|e| e["field"] == field))
}

#[tokio::test]
async fn an_absurd_clock_advance_is_refused_and_the_clock_keeps_working() {
    let api = Api::start().await;
    let past_bound = provisio_local::clock::MAX_OFFSET_HOURS + 1;
    for hours in [
        json!(1e10),
        json!(1e300),
        json!(-1),
        json!(0),
        json!(past_bound),
    ] {
        let (status, body) = api
            .json(
                Method::POST,
                "/_local/clock/advance",
                None,
                Some(json!({"hours": hours})),
            )
            .await;
        assert!(
            names_field(status, &body, "hours"),
            "{hours}: {status} {body}"
        );
    }
    let (status, body) = api
        .json(
            Method::POST,
            "/_local/clock/advance",
            None,
            Some(json!({"hours": 24})),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    // Everything that reads the clock still works (a poisoned lock failed every later call).
    let token = api.token("E013", &[]);
    let (status, _) = api.json(Method::GET, "/catalog", Some(&token), None).await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn an_unknown_role_filter_is_a_400_naming_role() {
    let api = Api::start().await;
    let token = api.token("E013", &[]);
    let (status, body) = api
        .json(Method::GET, "/requests?role=AAA", Some(&token), None)
        .await;
    assert!(names_field(status, &body, "role"), "{status} {body}");
    let (status, _) = api
        .json(Method::GET, "/requests?role=approver", Some(&token), None)
        .await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn a_null_deadline_is_what_the_spec_says_it_is() {
    let api = Api::start().await;
    let spec = api.spec().await;
    let declared = &spec["components"]["schemas"]["CampaignInput"]["properties"]["deadlineDays"];
    assert_eq!(declared["type"], json!(["integer", "null"]));
    let admin = api.token("E016", &["provisio-admins"]);
    let (status, body) = api
        .json(
            Method::POST,
            "/admin/reviews/campaigns",
            Some(&admin),
            Some(json!({"deadlineDays": null})),
        )
        .await;
    assert_eq!(status, 201, "{body}");
}

#[tokio::test]
async fn an_integer_valued_float_is_an_integer() {
    let api = Api::start().await;
    let admin = api.token("E016", &["provisio-admins"]);
    let (status, body) = api
        .json(
            Method::PUT,
            "/admin/licenses/pool-zoom",
            Some(&admin),
            Some(json!({"itemId": "zoom-pro", "total": 130.0})),
        )
        .await;
    assert_eq!((status, &body["total"]), (200, &json!(130)), "{body}");
    let (status, body) = api
        .json(
            Method::PUT,
            "/admin/licenses/pool-zoom",
            Some(&admin),
            Some(json!({"itemId": "zoom-pro", "total": 130.5})),
        )
        .await;
    assert!(names_field(status, &body, "body"), "{status} {body}");
}

#[tokio::test]
async fn a_401_names_the_bearer_scheme() {
    let api = Api::start().await;
    for token in [None, Some("not-a-jwt")] {
        let resp = api.send(Method::GET, "/catalog", token, None).await;
        assert_eq!(resp.status().as_u16(), 401);
        assert_eq!(
            resp.headers()
                .get("www-authenticate")
                .and_then(|v| v.to_str().ok()),
            Some("Bearer"),
            "token {token:?}"
        );
    }
}

#[tokio::test]
async fn a_token_not_yet_valid_is_refused() {
    let api = Api::start().await;
    let now = chrono::Utc::now().timestamp();
    let sign = |nbf: i64| {
        let claims = json!({"sub": "E013", "nbf": nbf, "exp": now + 3600});
        jsonwebtoken::encode(
            &Header::new(Algorithm::HS256),
            &claims,
            &EncodingKey::from_secret(JWT_SECRET.as_bytes()),
        )
        .expect("sign")
    };
    let (status, _) = api
        .json(Method::GET, "/catalog", Some(&sign(now + 600)), None)
        .await;
    assert_eq!(status, 401);
    let (status, _) = api
        .json(Method::GET, "/catalog", Some(&sign(now - 60)), None)
        .await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn a_body_that_is_not_declared_json_is_415() {
    let api = Api::start().await;
    let token = api.token("E013", &[]);
    let body = json!({"itemId": "lucidchart"}).to_string().into_bytes();
    for content_type in ["text/plain", "application/x-www-form-urlencoded"] {
        let resp = api
            .send(
                Method::POST,
                "/requests",
                Some(&token),
                Some((content_type, body.clone())),
            )
            .await;
        assert_eq!(resp.status().as_u16(), 415, "{content_type}");
        assert_eq!(
            resp.headers()
                .get("content-type")
                .and_then(|v| v.to_str().ok()),
            Some("application/problem+json")
        );
    }
    // No body and no Content-Type: an optional body stays optional.
    let holder = api.token("E010", &[]);
    let resp = api
        .send(
            Method::POST,
            "/assignments/E010.nothing/return",
            Some(&holder),
            None,
        )
        .await;
    assert_eq!(resp.status().as_u16(), 404);
}

#[tokio::test]
async fn an_oversized_scim_body_gets_a_scim_error() {
    let api = Api::start().await;
    let big = vec![b' '; 70 * 1024];
    let resp = api
        .send(
            Method::POST,
            "/scim/v2/Users",
            Some(SCIM_TOKEN),
            Some(("application/scim+json", big)),
        )
        .await;
    assert_eq!(resp.status().as_u16(), 413);
    assert_eq!(
        resp.headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok()),
        Some("application/scim+json")
    );
    let body: Value = resp.json().await.expect("JSON body");
    assert_eq!(
        body["schemas"],
        json!(["urn:ietf:params:scim:api:messages:2.0:Error"])
    );
    assert_eq!(body["status"], "413");
    assert!(body["detail"].as_str().is_some_and(|d| !d.is_empty()));
}

#[tokio::test]
async fn admin_ids_outside_the_documented_pattern_are_refused() {
    let api = Api::start().await;
    let spec = api.spec().await;
    assert_eq!(
        spec["components"]["schemas"]["Id"]["pattern"],
        provisio_lambda::api::ID_PATTERN
    );
    let admin = api.token("E016", &["provisio-admins"]);
    for (encoded, id) in [("%2E%2E%2F%2E%2E%2Fetc", "../../etc"), ("%20", " ")] {
        let item = json!({
            "itemId": id, "name": "x", "category": "saas", "glCode": "6100", "ownerId": "E016",
            "risk": "low", "lifecycle": "active",
            "cost": {"amount": 1, "currency": "EUR", "recurrence": "monthly"},
        });
        let (status, body) = api
            .json(
                Method::PUT,
                &format!("/admin/catalog/{encoded}"),
                Some(&admin),
                Some(item),
            )
            .await;
        assert!(
            names_field(status, &body, "itemId"),
            "{id:?}: {status} {body}"
        );
        let (status, body) = api
            .json(
                Method::PUT,
                &format!("/admin/licenses/{encoded}"),
                Some(&admin),
                Some(json!({"itemId": "zoom-pro", "total": 1})),
            )
            .await;
        assert!(
            names_field(status, &body, "poolId"),
            "{id:?}: {status} {body}"
        );
    }
}

#[tokio::test]
async fn the_spec_describes_the_built_api() {
    let api = Api::start().await;
    let spec = api.spec().await;
    assert_eq!(spec["info"]["version"], env!("CARGO_PKG_VERSION"));
    let description = spec["info"]["description"].as_str().unwrap_or_default();
    assert!(!description.contains("not built"), "{description}");
    let policy = &spec["components"]["schemas"]["ApprovalPolicy"]["properties"];
    assert!(policy["fallbackGroup"].is_object(), "{policy}");
    // The field the spec now names is one the API takes.
    let admin = api.token("E016", &["provisio-admins"]);
    let (status, mut item) = api
        .json(Method::GET, "/catalog/zoom-pro", Some(&admin), None)
        .await;
    assert_eq!(status, 200, "{item}");
    let item = item.as_object_mut().expect("item");
    for derived in ["eligible", "reasons"] {
        item.remove(derived);
    }
    item.insert(
        "approvalPolicy".into(),
        json!({"stages": [], "fallbackGroup": "it-fulfilment"}),
    );
    let (status, body) = api
        .json(
            Method::PUT,
            "/admin/catalog/zoom-pro",
            Some(&admin),
            Some(Value::Object(item.clone())),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["approvalPolicy"]["fallbackGroup"], "it-fulfilment");
}
