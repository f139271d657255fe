//! JSON request bodies as the API handlers read them (`ApiRequest::json` / `json_or_default`): the first byte
//! picks the endpoint's input type, the rest is the body. Also the `Accept` negotiation on the same bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use provisio_core::model::CatalogItem;
use provisio_core::usecases::{admin, approvals, assignments, requests, reviews, usage};
use provisio_lambda::api::{ApiRequest, CSV};
use serde::de::DeserializeOwned;
use serde_json::Value;

fn body<T: DeserializeOwned + Default>(req: &ApiRequest) {
    let _ = req.json_or_default::<T>();
}

fn strict<T: DeserializeOwned>(req: &ApiRequest) {
    let _ = req.json::<T>();
}

fuzz_target!(|data: &[u8]| {
    let Some((kind, rest)) = data.split_first() else {
        return;
    };
    let mut req = ApiRequest {
        body: rest.to_vec().into(),
        ..ApiRequest::default()
    };
    match kind % 9 {
        // POST /requests reads a Value first (its fingerprint is the idempotency key's), then the input.
        0 => {
            if let Ok(value) = req.json::<Value>() {
                let _ = serde_json::from_value::<requests::SubmitInput>(value);
            }
        }
        1 => strict::<CatalogItem>(&req),
        2 => strict::<admin::PoolInput>(&req),
        3 => strict::<approvals::DecisionInput>(&req),
        4 => body::<assignments::ReturnInput>(&req),
        5 => strict::<assignments::ExtendInput>(&req),
        6 => body::<reviews::CampaignInput>(&req),
        7 => strict::<reviews::ReviewDecisionInput>(&req),
        _ => strict::<usage::UsageSignal>(&req),
    }
    if let Ok(accept) = http::HeaderValue::from_bytes(rest) {
        req.headers.insert(http::header::ACCEPT, accept);
        let _ = req.prefers(CSV);
    }
});
