//! `POST /hr/events`: the signature header checked against the raw body (first line: header, rest: body), the
//! body parsed and validated as the webhook does, and a body Provisio signs itself always verifies.
#![no_main]

use chrono::{DateTime, Utc};
use libfuzzer_sys::fuzz_target;
use provisio_core::model::HrEvent;
use provisio_core::signature;
use provisio_core::usecases::hr;
use provisio_lambda::api::parse_json;

const SECRET: &[u8] = b"hr-secret";
/// `events/hr-webhook/hire.json` is signed at this time.
const NOW: i64 = 1_795_341_600;

fuzz_target!(|data: &[u8]| {
    let (header, body) = match data.iter().position(|b| *b == b'\n') {
        Some(at) => (&data[..at], &data[at + 1..]),
        None => (data, &[][..]),
    };
    let Some(now) = DateTime::<Utc>::from_timestamp(NOW, 0) else {
        return;
    };
    if let Ok(header) = std::str::from_utf8(header) {
        let _ = signature::verify(SECRET, Some(header), body, now);
    }
    let signed = signature::sign(SECRET, NOW, body);
    assert!(
        signature::verify(SECRET, Some(&signed), body, now).is_ok(),
        "a body signed with the secret must verify"
    );
    // The webhook validates before queueing; hr-sync parses the queued body again.
    if let Ok(event) = parse_json::<HrEvent>(body)
        && hr::validate(&event).is_ok()
    {
        let message = hr::queue_message(&event, body);
        let _ = parse_json::<HrEvent>(message.body.as_bytes());
    }
});
