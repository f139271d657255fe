//! `GET /scim/v2/Users?filter=...&sortBy=...` and `POST /.search` as the SCIM function reads them: the query
//! (first line: filter, second: sortBy, third: attributes) and a search body, then the filter and the sort key
//! evaluated on a rendered User.
#![no_main]

use std::collections::HashMap;
use std::sync::LazyLock;

use libfuzzer_sys::fuzz_target;
use scim::{Doc, ListQuery, Scope, from_search, from_url, sort_key};
use serde_json::{Value, json};

static USER: LazyLock<Doc> = LazyLock::new(|| {
    let user = json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User",
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
        "id": "E900", "userName": "lena.fischer@example.com", "externalId": "00u1fixture900",
        "name": {"givenName": "Lena", "familyName": "Fischer"}, "displayName": "Lena Fischer",
        "title": "Software Engineer", "userType": "Employee", "active": true,
        "emails": [{"value": "lena.fischer@example.com", "type": "work", "primary": true},
            {"value": "lena@home.example", "type": "home"}],
        "addresses": [{"type": "work", "locality": "Berlin", "country": "DE", "primary": true}],
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"employeeNumber": "E900",
            "department": "Engineering", "costCenter": "CC-100",
            "manager": {"value": "E009", "$ref": "https://api.example.com/scim/v2/Users/E009"}},
        "meta": {"resourceType": "User", "created": "2026-11-22T10:00:00Z",
            "lastModified": "2026-11-22T10:00:00Z", "version": "W/\"3694e05e9dff590\"",
            "location": "https://api.example.com/scim/v2/Users/E900"}
    });
    match user {
        Value::Object(user) => user,
        _ => unreachable!("a JSON object literal"),
    }
});

/// What `users::list` does with a query: check the filter on no User, then match and sort one.
fn run(query: &ListQuery) {
    if let Some(filter) = &query.filter {
        if filter.matches(Scope::Resource, &Doc::new()).is_err() {
            return;
        }
        let _ = filter.matches(Scope::Resource, &USER);
    }
    if let Some(sort_by) = &query.sort_by {
        let _ = sort_key(sort_by, &USER);
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(body) = serde_json::from_str::<Value>(text) {
        if let Ok(query) = from_search(&body) {
            run(&query);
        }
        return;
    }
    let mut lines = text.splitn(3, '\n');
    let mut params = HashMap::new();
    for name in ["filter", "sortBy", "attributes"] {
        if let Some(value) = lines.next() {
            params.insert(name.to_string(), value.to_string());
        }
    }
    if let Ok(query) = from_url(&params) {
        run(&query);
    }
});
