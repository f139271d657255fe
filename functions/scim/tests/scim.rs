//! The SCIM handler on memory adapters over the demo organisation: the API Gateway events in events/scim/ and
//! requests built here for the protocol details (headers, versions, error types).

// Test code: helpers outside `#[test]` fns may fail the test with expect (clippy.toml only exempts the fns).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use http::{HeaderMap, HeaderName, HeaderValue};
use provisio_core::model::IdentityStatus;
use provisio_lambda::ApiResponse;
use provisio_lambda::api::ApiRequest;
use provisio_lambda::fixtures::{Demo, check_http_fixtures, demo_ports, http_event};
use serde_json::{Value, json};

/// The token the events/scim fixtures carry.
const TOKEN: &str = "fixture-scim-token";
const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
const PATCH_OP: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";

fn settings() -> scim::Settings {
    scim::Settings {
        token: TOKEN.into(),
        lifecycle: Default::default(),
    }
}

async fn fixture(demo: &Demo, case: &str) -> ApiResponse {
    scim::handle(&demo.ports, &settings(), http_event("scim", case)).await
}

/// A request as API Gateway would deliver it, with the SCIM token.
fn request(route: &str, id: Option<&str>, body: Option<Value>) -> ApiRequest {
    let mut headers = HeaderMap::new();
    headers.insert(
        "authorization",
        HeaderValue::from_str(&format!("Bearer {TOKEN}")).unwrap(),
    );
    headers.insert("host", HeaderValue::from_static("scim.example.com"));
    headers.insert("x-forwarded-proto", HeaderValue::from_static("https"));
    ApiRequest {
        route: route.into(),
        path_params: id
            .map(|id| [("id".to_string(), id.to_string())].into())
            .unwrap_or_default(),
        body: body
            .map(|b| b.to_string().into_bytes())
            .unwrap_or_default()
            .into(),
        headers,
        ..Default::default()
    }
}

fn with_header(mut req: ApiRequest, name: &'static str, value: &str) -> ApiRequest {
    req.headers.insert(
        HeaderName::from_static(name),
        HeaderValue::from_str(value).unwrap(),
    );
    req
}

async fn call(demo: &Demo, req: ApiRequest) -> ApiResponse {
    scim::handle(&demo.ports, &settings(), req).await
}

fn header<'a>(resp: &'a ApiResponse, name: &str) -> Option<&'a str> {
    resp.headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

fn assert_scim_error(resp: &ApiResponse, status: u16, scim_type: Option<&str>) {
    let body = resp.body_json();
    assert_eq!(resp.status, status, "{body}");
    assert_eq!(resp.content_type, "application/scim+json");
    assert_eq!(
        body["schemas"],
        json!(["urn:ietf:params:scim:api:messages:2.0:Error"])
    );
    assert_eq!(body["status"], status.to_string());
    assert_eq!(
        body.get("scimType").and_then(Value::as_str),
        scim_type,
        "{body}"
    );
}

fn patch(ops: Value) -> Value {
    json!({"schemas": [PATCH_OP], "Operations": ops})
}

async fn create(demo: &Demo, body: Value) -> ApiResponse {
    let resp = call(demo, request("POST /scim/v2/Users", None, Some(body))).await;
    assert_eq!(resp.status, 201, "{}", resp.body_json());
    resp
}

fn minimal(user_name: &str, employee_number: &str) -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "userName": user_name,
        ENTERPRISE: {"employeeNumber": employee_number}
    })
}

#[test]
fn every_fixture_targets_a_scim_route() {
    let cases = check_http_fixtures("scim", scim::ROUTES);
    for required in ["create-user", "deactivate-user", "list-users-by-user-name"] {
        assert!(cases.iter().any(|c| c == required), "missing {required}");
    }
}

#[tokio::test]
async fn an_identity_provider_creates_finds_and_deactivates_a_user() {
    let demo = demo_ports().await;

    let created = fixture(&demo, "create-user").await;
    assert_eq!(created.status, 201, "{}", created.body_json());
    assert_eq!(created.content_type, "application/scim+json");
    let base = "https://a1b2c3d4e5.execute-api.eu-central-1.amazonaws.com/scim/v2";
    assert_eq!(
        header(&created, "Location"),
        Some(&*format!("{base}/Users/E900"))
    );
    let body = created.body_json();
    assert_eq!(header(&created, "ETag"), body["meta"]["version"].as_str());
    assert_eq!(body["id"], "E900");
    assert_eq!(
        body[ENTERPRISE]["manager"],
        json!({"value": "E009", "$ref": format!("{base}/Users/E009")})
    );
    let identity = demo.ports.identities.get("E900").await.unwrap().unwrap();
    assert_eq!(identity.email, "lena.fischer@example.com");
    assert_eq!(identity.display_name, "Lena Fischer");
    assert_eq!(identity.department, "Engineering");
    assert_eq!(identity.manager_id.as_deref(), Some("E009"));
    assert_eq!(identity.location, "DE");
    assert_eq!(identity.status, IdentityStatus::Active);
    assert_eq!(identity.last_change.as_ref().unwrap().settling_from, None);

    let found = fixture(&demo, "list-users-by-user-name").await;
    assert_eq!(found.status, 200);
    let found = found.body_json();
    assert_eq!(found["totalResults"], 1);
    assert_eq!(found["Resources"][0], body);

    let left = fixture(&demo, "deactivate-user").await;
    assert_eq!(left.status, 200, "{}", left.body_json());
    assert_eq!(left.body_json()["active"], false);
    let identity = demo.ports.identities.get("E900").await.unwrap().unwrap();
    assert_eq!(identity.status, IdentityStatus::Terminated);
    let offboardings = demo.workflow.offboardings();
    assert_eq!(offboardings.len(), 1, "the leaver's offboarding starts");
    assert_eq!(offboardings[0].input, json!({"employeeId": "E900"}));
}

#[tokio::test]
async fn the_wrong_token_is_401_with_a_bearer_challenge() {
    let demo = demo_ports().await;
    let resp = fixture(&demo, "list-users-wrong-token").await;
    assert_scim_error(&resp, 401, None);
    assert_eq!(
        header(&resp, "WWW-Authenticate"),
        Some("Bearer realm=\"provisio-scim\"")
    );
    // A server configured without a token admits nobody, even with an empty bearer token.
    let open = scim::Settings {
        token: String::new(),
        lifecycle: Default::default(),
    };
    let req = with_header(
        request("GET /scim/v2/Users", None, None),
        "authorization",
        "Bearer ",
    );
    assert_scim_error(&scim::handle(&demo.ports, &open, req).await, 401, None);
}

#[tokio::test]
async fn discovery_describes_users_and_the_enterprise_extension() {
    let demo = demo_ports().await;
    let schema = fixture(&demo, "get-enterprise-schema").await;
    assert_eq!(schema.status, 200);
    let schema = schema.body_json();
    assert_eq!(schema["id"], ENTERPRISE);
    let names: Vec<&str> = schema["attributes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "employeeNumber",
            "costCenter",
            "organization",
            "division",
            "department",
            "manager"
        ]
    );

    let config = call(
        &demo,
        request("GET /scim/v2/ServiceProviderConfig", None, None),
    )
    .await;
    let config = config.body_json();
    assert_eq!(config["patch"]["supported"], true);
    assert_eq!(config["etag"]["supported"], true);
    assert_eq!(config["bulk"]["supported"], false);
    assert_eq!(
        config["authenticationSchemes"][0]["type"],
        "oauthbearertoken"
    );

    let types = call(&demo, request("GET /scim/v2/ResourceTypes", None, None)).await;
    assert_eq!(
        types.body_json()["Resources"][0]["schemaExtensions"][0]["schema"],
        ENTERPRISE
    );
    assert_scim_error(
        &call(
            &demo,
            request("GET /scim/v2/ResourceTypes/{id}", Some("Group"), None),
        )
        .await,
        404,
        None,
    );
    let mut filtered = request("GET /scim/v2/Schemas", None, None);
    filtered.query.insert("filter".into(), "id pr".into());
    assert_scim_error(&call(&demo, filtered).await, 403, None);
    let wrong_method = call(&demo, request("DELETE /scim/v2/Schemas", None, None)).await;
    assert_scim_error(&wrong_method, 405, None);
    assert_eq!(header(&wrong_method, "Allow"), Some("GET"));
}

#[tokio::test]
async fn versions_guard_writes_and_spare_reads() {
    let demo = demo_ports().await;
    let created = create(&demo, minimal("ada@example.com", "E950")).await;
    let version = header(&created, "ETag").unwrap().to_string();

    let unchanged = with_header(
        request("GET /scim/v2/Users/{id}", Some("E950"), None),
        "if-none-match",
        &version,
    );
    let resp = call(&demo, unchanged).await;
    assert_eq!(resp.status, 304);
    assert!(resp.body.is_empty());

    let retitle = patch(json!([{"op": "add", "path": "title", "value": "Analyst"}]));
    let stale = with_header(
        request(
            "PATCH /scim/v2/Users/{id}",
            Some("E950"),
            Some(retitle.clone()),
        ),
        "if-match",
        "W/\"not-the-version\"",
    );
    assert_scim_error(&call(&demo, stale).await, 412, None);
    assert_eq!(
        demo.ports
            .identities
            .get("E950")
            .await
            .unwrap()
            .unwrap()
            .job_title,
        "",
        "a stale version changes nothing"
    );

    let current = with_header(
        request("PATCH /scim/v2/Users/{id}", Some("E950"), Some(retitle)),
        "if-match",
        &version,
    );
    let resp = call(&demo, current).await;
    assert_eq!(resp.status, 200, "{}", resp.body_json());
    assert_ne!(
        header(&resp, "ETag"),
        Some(version.as_str()),
        "a write is a new version"
    );
}

#[tokio::test]
async fn a_patch_that_changes_nothing_writes_nothing() {
    let demo = demo_ports().await;
    create(&demo, minimal("ada@example.com", "E950")).await;
    let before = demo.ports.identities.get("E950").await.unwrap().unwrap();
    let resp = call(
        &demo,
        request(
            "PATCH /scim/v2/Users/{id}",
            Some("E950"),
            Some(patch(
                json!([{"op": "replace", "path": "userName", "value": "ada@example.com"}]),
            )),
        ),
    )
    .await;
    assert_eq!(resp.status, 200);
    assert_eq!(
        demo.ports.identities.get("E950").await.unwrap().unwrap(),
        before
    );
}

#[tokio::test]
async fn hr_changes_show_in_scim_and_survive_unrelated_scim_writes() {
    let demo = demo_ports().await;
    let mut body = minimal("ada@example.com", "E950");
    body["emails"] = json!([{"value": "ada@example.com", "primary": true}]);
    body[ENTERPRISE]["department"] = json!("Engineering");
    create(&demo, body).await;

    // HR moves her and changes her email behind SCIM's back.
    let mut moved = demo.ports.identities.get("E950").await.unwrap().unwrap();
    moved.department = "Research".into();
    moved.email = "ada.lovelace@example.com".into();
    demo.ports.identities.put(moved).await.unwrap();

    let read = call(
        &demo,
        request("GET /scim/v2/Users/{id}", Some("E950"), None),
    )
    .await;
    assert_eq!(read.body_json()[ENTERPRISE]["department"], "Research");

    let resp = call(
        &demo,
        request(
            "PATCH /scim/v2/Users/{id}",
            Some("E950"),
            Some(patch(
                json!([{"op": "add", "path": "nickName", "value": "Ada"}]),
            )),
        ),
    )
    .await;
    assert_eq!(resp.status, 200, "{}", resp.body_json());
    let identity = demo.ports.identities.get("E950").await.unwrap().unwrap();
    assert_eq!(identity.department, "Research");
    assert_eq!(
        identity.email, "ada.lovelace@example.com",
        "the User's emails did not change, so HR's email stays"
    );
}

#[tokio::test]
async fn put_replaces_the_user_but_keeps_hr_attributes_it_leaves_out() {
    let demo = demo_ports().await;
    // E013 is an HR identity (Engineering, GB); the identity provider takes it over.
    create(&demo, minimal("sarah@example.com", "E013")).await;
    let hr = demo.ports.identities.get("E013").await.unwrap().unwrap();
    assert_eq!(hr.department, "Engineering");

    let resp = call(
        &demo,
        request(
            "PUT /scim/v2/Users/{id}",
            Some("E013"),
            Some(json!({
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                "userName": "sarah.kim@example.com",
                "nickName": "Sarah",
                "userType": "Contractor"
            })),
        ),
    )
    .await;
    assert_eq!(resp.status, 200, "{}", resp.body_json());
    let body = resp.body_json();
    assert_eq!(body["userName"], "sarah.kim@example.com");
    assert_eq!(
        body[ENTERPRISE]["department"], "Engineering",
        "not asserted: kept"
    );
    assert!(
        body.get(ENTERPRISE)
            .unwrap()
            .get("employeeNumber")
            .is_none(),
        "replaced"
    );
    let identity = demo.ports.identities.get("E013").await.unwrap().unwrap();
    assert_eq!(identity.department, "Engineering");
    assert_eq!(identity.manager_id, hr.manager_id);
    assert_eq!(
        identity.employment_type,
        provisio_core::model::EmploymentType::Contractor
    );

    // PATCH removal is explicit: the department goes.
    let resp = call(
        &demo,
        request(
            "PATCH /scim/v2/Users/{id}",
            Some("E013"),
            Some(patch(
                json!([{"op": "remove", "path": format!("{ENTERPRISE}:department")}]),
            )),
        ),
    )
    .await;
    assert_eq!(resp.status, 200, "{}", resp.body_json());
    assert_eq!(
        demo.ports
            .identities
            .get("E013")
            .await
            .unwrap()
            .unwrap()
            .department,
        ""
    );
}

#[tokio::test]
async fn entra_style_patches_apply() {
    let demo = demo_ports().await;
    create(&demo, minimal("ada@example.com", "E950")).await;
    let resp = call(
        &demo,
        request(
            "PATCH /scim/v2/Users/{id}",
            Some("E950"),
            Some(patch(json!([
                {"op": "Add", "path": "emails[type eq \"work\"].value", "value": "ada@example.com"},
                {"op": "Add", "path": "addresses[type eq \"work\"].country", "value": "GB"},
                {"op": "Add", "path": "phoneNumbers[type eq \"mobile\"].value", "value": "+44 20 0000"},
                {"op": "Replace", "path": "displayName", "value": "Ada Lovelace"},
                {"op": "Replace", "path": format!("{ENTERPRISE}:manager"), "value": "E002"},
                {"op": "Replace", "path": "active", "value": "False"}
            ]))),
        ),
    )
    .await;
    assert_eq!(resp.status, 200, "{}", resp.body_json());
    let body = resp.body_json();
    assert_eq!(
        body["emails"],
        json!([{"type": "work", "value": "ada@example.com"}])
    );
    assert!(body.get("phoneNumbers").is_none(), "not kept");
    let identity = demo.ports.identities.get("E950").await.unwrap().unwrap();
    assert_eq!(identity.email, "ada@example.com");
    assert_eq!(identity.location, "GB");
    assert_eq!(identity.display_name, "Ada Lovelace");
    assert_eq!(identity.status, IdentityStatus::Terminated);
}

#[tokio::test]
async fn bad_input_gets_the_scim_type_the_rfc_names() {
    let demo = demo_ports().await;
    let mut not_json = request("POST /scim/v2/Users", None, None);
    not_json.body = b"{not json".to_vec().into();
    assert_scim_error(&call(&demo, not_json).await, 400, Some("invalidSyntax"));
    assert_scim_error(
        &call(
            &demo,
            request(
                "POST /scim/v2/Users",
                None,
                Some(json!({"name": {"givenName": "x"}})),
            ),
        )
        .await,
        400,
        Some("invalidValue"),
    );
    assert_scim_error(
        &call(
            &demo,
            request(
                "POST /scim/v2/Users",
                None,
                Some(json!({"userName": "x", "active": "sometimes"})),
            ),
        )
        .await,
        400,
        Some("invalidValue"),
    );
    create(&demo, minimal("ada@example.com", "E950")).await;
    assert_scim_error(
        &call(
            &demo,
            request(
                "POST /scim/v2/Users",
                None,
                Some(minimal("ADA@example.com", "E951")),
            ),
        )
        .await,
        409,
        Some("uniqueness"),
    );
    let patch_at =
        |ops: Value| request("PATCH /scim/v2/Users/{id}", Some("E950"), Some(patch(ops)));
    assert_scim_error(
        &call(
            &demo,
            patch_at(json!([{"op": "replace", "path": "shoeSize", "value": "9"}])),
        )
        .await,
        400,
        Some("invalidPath"),
    );
    assert_scim_error(
        &call(&demo, patch_at(json!([{"op": "remove"}]))).await,
        400,
        Some("noTarget"),
    );
    assert_scim_error(
        &call(
            &demo,
            patch_at(json!([{"op": "replace", "path": "meta.created", "value": "x"}])),
        )
        .await,
        400,
        Some("mutability"),
    );
    assert_scim_error(
        &call(
            &demo,
            patch_at(json!([{"op": "remove", "path": "userName"}])),
        )
        .await,
        400,
        Some("invalidValue"),
    );
    let mut bad_filter = request("GET /scim/v2/Users", None, None);
    bad_filter
        .query
        .insert("filter".into(), "userName eq".into());
    assert_scim_error(&call(&demo, bad_filter).await, 400, Some("invalidFilter"));
    // Unknown standard attributes in a body are ignored, not refused.
    let mut body = minimal("grace@example.com", "E951");
    body["phoneNumbers"] = json!([{"value": "+1 555 0100"}]);
    body["urn:example:custom"] = json!({"x": 1});
    let created = create(&demo, body).await.body_json();
    assert!(created.get("phoneNumbers").is_none());
}

#[tokio::test]
async fn a_generated_id_serves_users_without_a_url_safe_employee_number() {
    let demo = demo_ports().await;
    let mut body = minimal("grace@example.com", "E 951/x");
    body["urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"]["employeeNumber"] =
        json!("E 951/x");
    let created = create(&demo, body).await.body_json();
    let id = created["id"].as_str().unwrap();
    assert!(id.starts_with("scim-"), "{id}");
    assert_eq!(created[ENTERPRISE]["employeeNumber"], "E 951/x");
    let read = call(&demo, request("GET /scim/v2/Users/{id}", Some(id), None)).await;
    assert_eq!(read.status, 200);
}
