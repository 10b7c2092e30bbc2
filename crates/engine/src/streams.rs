//! The engine's output streams: threshold events, logged flow records and interval ticks, each delivered to
//! its subscribers (scripts, the UI, exporters) through a bounded queue per subscriber.
//!
//! Publishing never blocks: when a subscriber's queue is full the item is dropped for that subscriber and
//! counted in its `lost` counter, so a slow consumer can never stall ingest or the ticker. A subscriber that
//! drops its [`Subscription`] is forgotten at the next publish.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use crossbeam_channel::{Receiver, Sender, TrySendError};

/// Counters shared by a subscriber and the stream that feeds it.
#[derive(Debug, Default)]
struct Counters {
    delivered: AtomicU64,
    lost: AtomicU64,
}

/// The receiving end of one subscription to an engine stream.
#[derive(Debug)]
pub struct Subscription<T> {
    receiver: Receiver<T>,
    counters: Arc<Counters>,
}

impl<T> Subscription<T> {
    /// The queue to read items from (usable with `crossbeam_channel::select!`).
    pub fn receiver(&self) -> &Receiver<T> {
        &self.receiver
    }

    /// Items queued for this subscriber so far (read or not).
    pub fn delivered(&self) -> u64 {
        self.counters.delivered.load(Ordering::Relaxed)
    }

    /// Items dropped because this subscriber's queue was full.
    pub fn lost(&self) -> u64 {
        self.counters.lost.load(Ordering::Relaxed)
    }

    /// A handle on this subscription's counters that other threads can read.
    pub fn stats(&self) -> SubscriptionStats {
        SubscriptionStats {
            counters: self.counters.clone(),
        }
    }
}

/// The delivered/lost counters of a [`Subscription`], readable from any thread.
#[derive(Clone, Debug)]
pub struct SubscriptionStats {
    counters: Arc<Counters>,
}

impl SubscriptionStats {
    /// Items queued for the subscriber so far.
    pub fn delivered(&self) -> u64 {
        self.counters.delivered.load(Ordering::Relaxed)
    }

    /// Items dropped because the subscriber's queue was full.
    pub fn lost(&self) -> u64 {
        self.counters.lost.load(Ordering::Relaxed)
    }
}

#[derive(Debug)]
struct Subscriber<T> {
    sender: Sender<T>,
    /// Only items whose topic (threshold id, flow definition name) is listed; all when `None`.
    topics: Option<Vec<String>>,
    counters: Arc<Counters>,
}

/// One output stream and its subscribers.
#[derive(Debug)]
pub(crate) struct Stream<T> {
    subscribers: Vec<Subscriber<T>>,
}

impl<T> Default for Stream<T> {
    fn default() -> Self {
        Self {
            subscribers: Vec::new(),
        }
    }
}

impl<T: Clone> Stream<T> {
    /// A new subscriber with a queue of `capacity` items (at least 1), optionally limited to `topics`.
    pub(crate) fn subscribe(
        &mut self,
        capacity: usize,
        topics: Option<Vec<String>>,
    ) -> Subscription<T> {
        let (sender, receiver) = crossbeam_channel::bounded(capacity.max(1));
        let counters = Arc::new(Counters::default());
        self.subscribers.push(Subscriber {
            sender,
            topics,
            counters: counters.clone(),
        });
        Subscription { receiver, counters }
    }

    /// Offers `item` (of `topic`) to every interested subscriber without blocking.
    pub(crate) fn publish(&mut self, topic: &str, item: &T) {
        if self.subscribers.is_empty() {
            return;
        }
        self.subscribers.retain(|subscriber| {
            if let Some(topics) = &subscriber.topics
                && !topics.iter().any(|t| t == topic)
            {
                return true;
            }
            match subscriber.sender.try_send(item.clone()) {
                Ok(()) => {
                    subscriber
                        .counters
                        .delivered
                        .fetch_add(1, Ordering::Relaxed);
                    true
                }
                Err(TrySendError::Full(_)) => {
                    subscriber.counters.lost.fetch_add(1, Ordering::Relaxed);
                    true
                }
                Err(TrySendError::Disconnected(_)) => false,
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn full_queues_count_losses_and_topics_filter() {
        let mut stream = Stream::<u32>::default();
        let all = stream.subscribe(2, None);
        let only_a = stream.subscribe(10, Some(vec!["a".into()]));
        for i in 0..5 {
            stream.publish(if i % 2 == 0 { "a" } else { "b" }, &i);
        }
        assert_eq!(all.receiver().try_iter().collect::<Vec<_>>(), vec![0, 1]);
        assert_eq!((all.delivered(), all.lost()), (2, 3));
        assert_eq!(
            only_a.receiver().try_iter().collect::<Vec<_>>(),
            vec![0, 2, 4]
        );
        assert_eq!(only_a.lost(), 0);
    }

    #[test]
    fn dropped_subscriptions_are_forgotten() {
        let mut stream = Stream::<u32>::default();
        let sub = stream.subscribe(1, None);
        drop(sub);
        stream.publish("x", &1);
        assert!(stream.subscribers.is_empty());
    }
}
