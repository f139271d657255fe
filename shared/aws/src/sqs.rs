use async_trait::async_trait;
use aws_sdk_sqs::Client;
use provisio_core::Result;
use provisio_core::ports::{Queue, QueueMessage};

/// The queue port on an SQS FIFO queue: the group id orders messages (e.g. one group per employee), the
/// deduplication id makes a repeated send harmless within SQS's five-minute window.
pub struct SqsQueue {
    client: Client,
    queue_url: String,
}

impl SqsQueue {
    pub fn new(client: Client, queue_url: impl Into<String>) -> Self {
        Self {
            client,
            queue_url: queue_url.into(),
        }
    }
}

#[async_trait]
impl Queue for SqsQueue {
    async fn send(&self, message: QueueMessage) -> Result<()> {
        self.client
            .send_message()
            .queue_url(&self.queue_url)
            .message_group_id(message.group_id)
            .message_deduplication_id(message.deduplication_id)
            .message_body(message.body)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| crate::errors::sdk_error("SQS", e))
    }
}
