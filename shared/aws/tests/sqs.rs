//! The SQS queue adapter against a FIFO queue on moto: order within a group, one delivery per deduplication id.

use provisio_aws::SqsQueue;
use provisio_conformance::moto::Moto;
use provisio_core::ports::{Queue, QueueMessage};

#[tokio::test]
async fn a_fifo_queue_keeps_group_order_and_drops_duplicates() {
    let moto = Moto::shared();
    let config = provisio_aws::endpoint_config(&moto.endpoint).await;
    let sqs = aws_sdk_sqs::Client::new(&config);
    let url = sqs
        .create_queue()
        .queue_name(format!("q{}.fifo", uuid::Uuid::new_v4().simple()))
        .attributes(aws_sdk_sqs::types::QueueAttributeName::FifoQueue, "true")
        .send()
        .await
        .expect("create FIFO queue")
        .queue_url
        .expect("queue url");
    let queue = SqsQueue::new(sqs.clone(), &url);
    let message = |dedup: &str, body: &str| QueueMessage {
        group_id: "E100".into(),
        deduplication_id: dedup.into(),
        body: body.into(),
    };
    for (dedup, body) in [
        ("e-1", "hire"),
        ("e-2", "update"),
        ("e-1", "hire again"),
        ("e-3", "terminate"),
    ] {
        queue.send(message(dedup, body)).await.expect("send");
    }
    let mut bodies = Vec::new();
    loop {
        let out = sqs
            .receive_message()
            .queue_url(&url)
            .max_number_of_messages(10)
            .send()
            .await
            .expect("receive");
        let messages = out.messages.unwrap_or_default();
        if messages.is_empty() {
            break;
        }
        for m in messages {
            bodies.push(m.body.unwrap_or_default());
            sqs.delete_message()
                .queue_url(&url)
                .receipt_handle(m.receipt_handle.unwrap_or_default())
                .send()
                .await
                .expect("delete");
        }
    }
    assert_eq!(
        bodies,
        ["hire", "update", "terminate"],
        "in order, the duplicate dropped"
    );

    let missing = SqsQueue::new(sqs, format!("{}-missing", url.trim_end_matches(".fifo")));
    let err = missing
        .send(message("e-4", "x"))
        .await
        .expect_err("no such queue");
    // A queue that does not exist is a misconfiguration, not an outage: not retried.
    assert_eq!(err.name(), "Provisio.Internal");
}
