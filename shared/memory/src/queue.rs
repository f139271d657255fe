use std::collections::{HashSet, VecDeque};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use provisio_core::Result;
use provisio_core::ports::{Queue, QueueMessage};

use crate::locked::Locked;

/// A message handed to a consumer, with the receipt it settles it by.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Received {
    pub message_id: String,
    pub message: QueueMessage,
    /// How often it has been received, this time included (SQS `ApproximateReceiveCount`).
    pub receive_count: u32,
}

/// A message that failed `max_receives` times and was set aside.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeadLetter {
    pub message: QueueMessage,
    pub receive_count: u32,
}

/// How many messages wait, are being handled, and were set aside.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Depth {
    pub waiting: usize,
    pub in_flight: usize,
    pub dead: usize,
}

/// An SQS FIFO queue with a redrive policy, in memory: messages of a group are delivered in order and one batch
/// at a time (a group with a message in flight or waiting to be retried delivers nothing else); a repeated
/// deduplication id is dropped; a failed message comes back after `retry_delay` (the visibility timeout) ahead
/// of the rest of its group, and after `max_receives` receives goes to the dead-letter list.
pub struct FifoQueue {
    state: Locked<State>,
    max_receives: u32,
    retry_delay: Duration,
}

#[derive(Default)]
struct State {
    next_id: u64,
    waiting: VecDeque<Entry>,
    in_flight: Vec<Entry>,
    dead: Vec<DeadLetter>,
    /// Deduplication ids ever accepted. SQS forgets them after 5 minutes; the process lifetime is close enough
    /// locally, and consumers are idempotent anyway.
    seen: HashSet<String>,
}

struct Entry {
    id: String,
    message: QueueMessage,
    receives: u32,
    visible_at: Instant,
}

impl FifoQueue {
    pub fn new(max_receives: u32, retry_delay: Duration) -> Self {
        Self {
            state: Locked::default(),
            max_receives: max_receives.max(1),
            retry_delay,
        }
    }

    /// Up to `max` visible messages, oldest first, from groups with nothing in flight or held back.
    pub fn receive(&self, max: usize) -> Vec<Received> {
        let now = Instant::now();
        self.state.with(|s| {
            let mut blocked: HashSet<String> = s
                .in_flight
                .iter()
                .map(|e| e.message.group_id.clone())
                .collect();
            let mut taken = Vec::new();
            let mut i = 0;
            while i < s.waiting.len() && taken.len() < max {
                let entry = &s.waiting[i];
                let group = &entry.message.group_id;
                if blocked.contains(group) || entry.visible_at > now {
                    // Nothing of this group may overtake a message held back for a retry.
                    blocked.insert(group.clone());
                    i += 1;
                    continue;
                }
                let Some(mut entry) = s.waiting.remove(i) else {
                    break; // unreachable: `i < s.waiting.len()` above
                };
                entry.receives += 1;
                taken.push(Received {
                    message_id: entry.id.clone(),
                    message: entry.message.clone(),
                    receive_count: entry.receives,
                });
                s.in_flight.push(entry);
            }
            taken
        })
    }

    /// Ends the handling of received messages: those in `failed` come back after the retry delay (or go to the
    /// dead-letter list once received `max_receives` times), the others are deleted.
    pub fn settle(&self, received: &[String], failed: &[String]) {
        let retry_at = Instant::now() + self.retry_delay;
        let max = self.max_receives;
        self.state.with(|s| {
            let (done, rest): (Vec<Entry>, Vec<Entry>) = std::mem::take(&mut s.in_flight)
                .into_iter()
                .partition(|e| received.contains(&e.id));
            s.in_flight = rest;
            // Back to the front, in their original order, so each group keeps its order.
            for mut entry in done.into_iter().rev() {
                if !failed.contains(&entry.id) {
                    continue;
                }
                if entry.receives >= max {
                    s.dead.push(DeadLetter {
                        message: entry.message,
                        receive_count: entry.receives,
                    });
                } else {
                    entry.visible_at = retry_at;
                    s.waiting.push_front(entry);
                }
            }
        })
    }

    pub fn depth(&self) -> Depth {
        self.state.with(|s| Depth {
            waiting: s.waiting.len(),
            in_flight: s.in_flight.len(),
            dead: s.dead.len(),
        })
    }

    pub fn dead_letters(&self) -> Vec<DeadLetter> {
        self.state.with(|s| s.dead.clone())
    }
}

#[async_trait]
impl Queue for FifoQueue {
    async fn send(&self, message: QueueMessage) -> Result<()> {
        self.state.with(|s| {
            if !s.seen.insert(message.deduplication_id.clone()) {
                return;
            }
            s.next_id += 1;
            let id = format!("msg-{}", s.next_id);
            s.waiting.push_back(Entry {
                id,
                message,
                receives: 0,
                visible_at: Instant::now(),
            });
        });
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg(group: &str, dedup: &str) -> QueueMessage {
        QueueMessage {
            group_id: group.into(),
            deduplication_id: dedup.into(),
            body: format!("{group}/{dedup}"),
        }
    }

    fn bodies(received: &[Received]) -> Vec<&str> {
        received.iter().map(|r| r.message.body.as_str()).collect()
    }

    fn ids(received: &[Received]) -> Vec<String> {
        received.iter().map(|r| r.message_id.clone()).collect()
    }

    async fn queue(messages: &[(&str, &str)]) -> FifoQueue {
        let q = FifoQueue::new(3, Duration::ZERO);
        for (group, dedup) in messages {
            q.send(msg(group, dedup)).await.unwrap();
        }
        q
    }

    #[tokio::test]
    async fn a_repeated_deduplication_id_is_delivered_once() {
        let q = queue(&[("E1", "e-1"), ("E1", "e-1"), ("E2", "e-1")]).await;
        assert_eq!(bodies(&q.receive(10)), ["E1/e-1"]);
    }

    #[tokio::test]
    async fn a_group_in_flight_delivers_nothing_more_until_settled() {
        let q = queue(&[("E1", "a"), ("E2", "b"), ("E1", "c")]).await;
        let first = q.receive(1);
        assert_eq!(bodies(&first), ["E1/a"]);
        assert_eq!(bodies(&q.receive(10)), ["E2/b"], "E1/c waits behind E1/a");
        q.settle(&ids(&first), &[]);
        assert_eq!(bodies(&q.receive(10)), ["E1/c"]);
    }

    #[tokio::test]
    async fn a_failed_message_comes_back_before_the_rest_of_its_group() {
        let q = queue(&[("E1", "a"), ("E1", "b"), ("E2", "c")]).await;
        let batch = q.receive(10);
        assert_eq!(bodies(&batch), ["E1/a", "E1/b", "E2/c"]);
        q.settle(&ids(&batch), &ids(&batch[..2]));
        let again = q.receive(10);
        assert_eq!(bodies(&again), ["E1/a", "E1/b"]);
        assert_eq!(
            again.iter().map(|r| r.receive_count).collect::<Vec<_>>(),
            [2, 2]
        );
    }

    #[tokio::test]
    async fn a_message_held_back_for_a_retry_holds_its_group_back() {
        let q = FifoQueue::new(3, Duration::from_secs(3600));
        for (g, d) in [("E1", "a"), ("E1", "b"), ("E2", "c")] {
            q.send(msg(g, d)).await.unwrap();
        }
        let first = q.receive(1);
        q.settle(&ids(&first), &ids(&first));
        assert_eq!(
            bodies(&q.receive(10)),
            ["E2/c"],
            "E1/b must not overtake E1/a"
        );
    }

    #[tokio::test]
    async fn after_max_receives_a_message_goes_to_the_dead_letters_and_its_group_moves_on() {
        let q = queue(&[("E1", "poison"), ("E1", "next")]).await;
        for attempt in 1..=3 {
            let batch = q.receive(1);
            assert_eq!(bodies(&batch), ["E1/poison"], "attempt {attempt}");
            q.settle(&ids(&batch), &ids(&batch));
        }
        assert_eq!(
            q.dead_letters(),
            [DeadLetter {
                message: msg("E1", "poison"),
                receive_count: 3
            }]
        );
        assert_eq!(bodies(&q.receive(10)), ["E1/next"]);
        assert_eq!(
            q.depth(),
            Depth {
                waiting: 0,
                in_flight: 1,
                dead: 1
            }
        );
    }
}
