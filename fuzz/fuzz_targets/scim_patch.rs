//! `PATCH /scim/v2/Users/{id}`: a PatchOp body applied to a User's working document, then the result normalized
//! and its userName checked, as the SCIM function does before it writes anything.
#![no_main]

use std::sync::LazyLock;

use libfuzzer_sys::fuzz_target;
use scim::{Doc, apply_patch, normalize, user_name};
use serde_json::Value;

/// The working document of the User `events/scim/create-user.json` creates.
static USER: LazyLock<Doc> = LazyLock::new(|| {
    let event: Value =
        serde_json::from_str(include_str!("../../events/scim/create-user.json")).expect("fixture");
    let body: Value =
        serde_json::from_str(event["body"].as_str().expect("a body")).expect("a JSON body");
    normalize(body.as_object().expect("a User object")).expect("a valid User")
});

fuzz_target!(|data: &[u8]| {
    let Ok(body) = serde_json::from_slice::<Value>(data) else {
        return;
    };
    let mut doc = USER.clone();
    if apply_patch(&mut doc, &body).is_ok()
        && let Ok(doc) = normalize(&doc)
    {
        let _ = user_name(&doc);
    }
});
