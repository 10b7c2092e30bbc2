//! sFlow agents: each packs its samples into datagrams of at most the configured size, numbers
//! them, stamps its uptime, and sends a datagram when the next sample would not fit or when a
//! sample has waited for a second.

use std::collections::VecDeque;
use std::net::{Ipv4Addr, SocketAddrV4};

use rtflow_sflow::{Address, DatagramBuilder, DatagramHeader};

/// A pending sample is sent at the latest this long after it was taken (µs).
pub(crate) const MAX_EXPORT_DELAY_US: u64 = 1_000_000;
/// Spare datagram buffers kept for reuse.
const MAX_FREE_BUFFERS: usize = 1024;

#[derive(Debug)]
pub(crate) struct Agent {
    pub address: Ipv4Addr,
    pub source_port: u16,
    /// Uptime (ms) at simulated time 0.
    pub boot_uptime_ms: u64,
    sequence: u32,
    builder: DatagramBuilder,
    /// Time of the oldest sample not yet sent.
    pending_since: Option<u64>,
}

impl Agent {
    pub(crate) fn new(address: Ipv4Addr, source_port: u16, boot_uptime_ms: u64) -> Self {
        Self {
            address,
            source_port,
            boot_uptime_ms,
            sequence: 0,
            builder: DatagramBuilder::new(DatagramHeader {
                agent: Address::V4(address),
                sub_agent_id: 0,
                sequence_number: 0,
                uptime_ms: 0,
            }),
            pending_since: None,
        }
    }

    /// Uptime in ms at simulated time `time_us` (sFlow's 32-bit field wraps after 49.7 days).
    pub(crate) fn uptime_ms(&self, time_us: u64) -> u32 {
        (self.boot_uptime_ms + time_us / 1000) as u32
    }

    /// Whether the oldest pending sample has waited `MAX_EXPORT_DELAY_US` by `time_us`.
    pub(crate) fn is_overdue(&self, time_us: u64) -> bool {
        self.pending_since
            .is_some_and(|since| time_us >= since + MAX_EXPORT_DELAY_US)
    }
}

/// A datagram ready to leave.
#[derive(Debug)]
pub(crate) struct Emitted {
    pub time_us: u64,
    pub source: SocketAddrV4,
    pub payload: Vec<u8>,
}

/// Datagrams in the order they leave, with their buffers recycled.
#[derive(Debug, Default)]
pub(crate) struct Outbox {
    pub queue: VecDeque<Emitted>,
    free: Vec<Vec<u8>>,
    pub datagrams: u64,
    pub bytes: u64,
}

impl Outbox {
    /// Takes a sample into `agent`'s datagram via `add`; when the datagram would exceed
    /// `max_size`, sends the datagram as it was (at `time_us`) and starts a new one with the sample.
    pub(crate) fn add_sample(
        &mut self,
        agent: &mut Agent,
        max_size: usize,
        time_us: u64,
        add: impl Fn(&mut DatagramBuilder),
    ) {
        let mark = agent.builder.mark();
        let was_empty = agent.builder.is_empty();
        add(&mut agent.builder);
        // A sample too large for an empty datagram still goes out, alone.
        if agent.builder.len() > max_size && !was_empty {
            agent.builder.rollback(mark);
            self.flush(agent, time_us);
            add(&mut agent.builder);
        }
        agent.pending_since.get_or_insert(time_us);
    }

    /// Sends `agent`'s pending samples (if any) as one datagram at `time_us`.
    pub(crate) fn flush(&mut self, agent: &mut Agent, time_us: u64) {
        if agent.builder.is_empty() {
            return;
        }
        agent.sequence = agent.sequence.wrapping_add(1);
        let uptime = agent.uptime_ms(time_us);
        let header = agent.builder.header_mut();
        header.sequence_number = agent.sequence;
        header.uptime_ms = uptime;
        let mut payload = self.free.pop().unwrap_or_default();
        payload.clear();
        agent.builder.encode(&mut payload);
        agent.builder.clear();
        agent.pending_since = None;
        self.datagrams += 1;
        self.bytes += payload.len() as u64;
        self.queue.push_back(Emitted {
            time_us,
            source: SocketAddrV4::new(agent.address, agent.source_port),
            payload,
        });
    }

    /// Returns a sent datagram's buffer for reuse.
    pub(crate) fn recycle(&mut self, payload: Vec<u8>) {
        if self.free.len() < MAX_FREE_BUFFERS {
            self.free.push(payload);
        }
    }

    /// Bytes held by queued and spare buffers.
    pub(crate) fn retained_bytes(&self) -> usize {
        self.queue
            .iter()
            .map(|e| e.payload.capacity())
            .sum::<usize>()
            + self.free.iter().map(Vec::capacity).sum::<usize>()
            + self.queue.capacity() * std::mem::size_of::<Emitted>()
    }
}
