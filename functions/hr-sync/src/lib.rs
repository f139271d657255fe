//! Consumes the HR FIFO queue: applies each joiner/mover/leaver event through the identity lifecycle.
//!
//! Failures are reported per message (partial batch response), never swallowed: SQS delivers them again and,
//! after the queue's maximum receives, moves them to the dead-letter queue. After a failure, every later message
//! of the same group (employee) in the batch is reported failed unprocessed, so no event overtakes an earlier
//! one of the same employee; other employees' events go on.

use std::collections::HashSet;

use aws_lambda_events::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent, SqsMessage};
use provisio_core::Result;
use provisio_core::model::HrEvent;
use provisio_core::ports::Ports;
use provisio_core::usecases::hr;
use provisio_core::usecases::lifecycle::{Applied, LifecycleSettings};
use provisio_lambda::api::parse_json;

#[tracing::instrument(skip_all, fields(messages = event.records.len()))]
pub async fn handle(p: &Ports, settings: &LifecycleSettings, event: SqsEvent) -> SqsBatchResponse {
    let mut response = SqsBatchResponse::default();
    let mut stopped: HashSet<&str> = HashSet::new();
    for message in &event.records {
        // Without a group id (not a FIFO delivery) every message counts as one group: stop at the first failure.
        let group = message
            .attributes
            .get("MessageGroupId")
            .map_or("", String::as_str);
        let failed = stopped.contains(group)
            || {
                let result = apply(p, settings, message).await;
                if let Err(e) = &result {
                    tracing::error!(message = ?message.message_id, error = %e, "HR event not applied; redelivered later");
                }
                result.is_err()
            };
        if failed {
            stopped.insert(group);
            let mut failure = BatchItemFailure::default();
            failure.item_identifier = message.message_id.clone().unwrap_or_default();
            response.batch_item_failures.push(failure);
        }
    }
    response
}

async fn apply(p: &Ports, settings: &LifecycleSettings, message: &SqsMessage) -> Result<Applied> {
    let body = message.body.as_deref().unwrap_or_default();
    // The webhook checked the event before queueing it; a body that no longer parses is kept for the DLQ.
    let event: HrEvent = parse_json(body.as_bytes())?;
    hr::apply(p, settings, &event).await
}
