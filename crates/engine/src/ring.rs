//! A bounded ring of records with increasing ids (events, flow records), queried newest first, and the live
//! subscribers that tail it ([`crate::streams`]).

use std::collections::VecDeque;

use crate::streams::{Stream, Subscription};

/// Items carry their own id (assigned by [`IdRing::push`]) and a topic subscribers may filter on.
pub(crate) trait HasId {
    fn id(&self) -> u64;
    /// Threshold id of an event, flow definition name of a flow record.
    fn topic(&self) -> &str;
}

#[derive(Debug)]
pub(crate) struct IdRing<T> {
    items: VecDeque<T>,
    capacity: usize,
    last_id: u64,
    stream: Stream<T>,
}

impl<T: HasId + Clone> IdRing<T> {
    pub(crate) fn new(capacity: usize) -> Self {
        Self {
            items: VecDeque::new(),
            capacity: capacity.max(1),
            last_id: 0,
            stream: Stream::default(),
        }
    }

    /// A live subscription to the items pushed from now on (see [`crate::streams`]).
    pub(crate) fn subscribe(
        &mut self,
        capacity: usize,
        topics: Option<Vec<String>>,
    ) -> Subscription<T> {
        self.stream.subscribe(capacity, topics)
    }

    pub(crate) fn last_id(&self) -> u64 {
        self.last_id
    }

    /// Appends an item built with the next id; the oldest item is dropped when full.
    pub(crate) fn push_with(&mut self, build: impl FnOnce(u64) -> T) {
        self.last_id += 1;
        let item = build(self.last_id);
        self.stream.publish(item.topic(), &item);
        if self.items.len() >= self.capacity {
            self.items.pop_front();
        }
        self.items.push_back(item);
    }

    /// Items with id > `after` (all when `None`) that `keep` accepts, newest first, at most `max`.
    pub(crate) fn newest_after(
        &self,
        after: Option<u64>,
        max: usize,
        keep: impl Fn(&T) -> bool,
    ) -> Vec<T> {
        self.items
            .iter()
            .rev()
            .take_while(|item| after.is_none_or(|a| item.id() > a))
            .filter(|item| keep(item))
            .take(max)
            .cloned()
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Clone, Debug, PartialEq)]
    struct Item(u64);
    impl HasId for Item {
        fn id(&self) -> u64 {
            self.0
        }
        fn topic(&self) -> &str {
            "item"
        }
    }

    #[test]
    fn ids_increase_and_capacity_bounds_the_ring() {
        let mut ring = IdRing::new(3);
        for _ in 0..5 {
            ring.push_with(Item);
        }
        assert_eq!(ring.last_id(), 5);
        assert_eq!(
            ring.newest_after(None, 10, |_| true),
            vec![Item(5), Item(4), Item(3)]
        );
        assert_eq!(
            ring.newest_after(Some(3), 10, |_| true),
            vec![Item(5), Item(4)]
        );
        assert_eq!(ring.newest_after(Some(5), 10, |_| true), vec![]);
        assert_eq!(ring.newest_after(None, 1, |_| true), vec![Item(5)]);
        assert_eq!(
            ring.newest_after(None, 10, |i| i.0 % 2 == 1),
            vec![Item(5), Item(3)]
        );
    }
}
