//! Per-agent state: datagram/sample accounting (`/agents/json`) and the per-data-source state holders.

use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};

use foldhash::HashMap;
use serde::Serialize;

use crate::activeflows::FlowTable;
use crate::counters::CounterState;
use crate::sample::{DataSource, DatagramInfo, Millis};
use crate::sequence::{SeqCounters, SeqOutcome, SeqTracker};

/// How many distinct UDP source addresses are remembered per agent.
const MAX_DATAGRAM_SOURCES: usize = 8;
/// An uptime going backwards by more than this (ms) is a restart rather than datagram reordering.
const RESTART_UPTIME_SLACK_MS: u32 = 10_000;
/// Uptime values this close to 2^32 may legitimately wrap to small values (49.7 days).
const UPTIME_WRAP_ZONE_MS: u32 = 3_600_000;

/// One `/agents/json` entry, with sFlow-RT's exact field names.
#[derive(Clone, Debug, PartialEq, Serialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct AgentInfo {
    /// `sFlowDatagramsReceived`: datagrams received from this agent.
    #[serde(rename = "sFlowDatagramsReceived")]
    pub sflow_datagrams_received: u64,
    /// `sFlowDatagramsLost`: datagrams missing from the agent's sequence numbers.
    #[serde(rename = "sFlowDatagramsLost")]
    pub sflow_datagrams_lost: u64,
    /// `sFlowDatagramsDuplicates`: datagrams received twice (same sequence number).
    #[serde(rename = "sFlowDatagramsDuplicates")]
    pub sflow_datagrams_duplicates: u64,
    /// `sFlowDatagramsOutOfOrder`: datagrams that arrived after a later one.
    #[serde(rename = "sFlowDatagramsOutOfOrder")]
    pub sflow_datagrams_out_of_order: u64,
    /// `sFlowFlowSamples`: flow samples received.
    #[serde(rename = "sFlowFlowSamples")]
    pub sflow_flow_samples: u64,
    /// `sFlowFlowLostSamples`: flow samples missing from their data sources' sequence numbers.
    #[serde(rename = "sFlowFlowLostSamples")]
    pub sflow_flow_lost_samples: u64,
    /// `sFlowFlowDuplicateSamples`: flow samples received twice.
    #[serde(rename = "sFlowFlowDuplicateSamples")]
    pub sflow_flow_duplicate_samples: u64,
    /// `sFlowFlowOutOfOrderSamples`: flow samples that arrived after a later one.
    #[serde(rename = "sFlowFlowOutOfOrderSamples")]
    pub sflow_flow_out_of_order_samples: u64,
    /// `sFlowFlowDrops`: packets the agent could not sample (its flow samples' `drops`).
    #[serde(rename = "sFlowFlowDrops")]
    pub sflow_flow_drops: u64,
    /// `sFlowCounterSamples`: counter samples received.
    #[serde(rename = "sFlowCounterSamples")]
    pub sflow_counter_samples: u64,
    /// `sFlowCounterLostSamples`: counter samples missing from their data sources' sequence numbers.
    #[serde(rename = "sFlowCounterLostSamples")]
    pub sflow_counter_lost_samples: u64,
    /// `sFlowCounterDuplicateSamples`: counter samples received twice.
    #[serde(rename = "sFlowCounterDuplicateSamples")]
    pub sflow_counter_duplicate_samples: u64,
    /// `sFlowCounterOutOfOrderSamples`: counter samples that arrived after a later one.
    #[serde(rename = "sFlowCounterOutOfOrderSamples")]
    pub sflow_counter_out_of_order_samples: u64,
    /// `sFlowNotificationSamples`: discarded-packet (drop notification) samples received.
    #[serde(rename = "sFlowNotificationSamples")]
    pub sflow_notification_samples: u64,
    /// `sFlowNotificationLostSamples`: drop notifications missing from their sequence numbers.
    #[serde(rename = "sFlowNotificationLostSamples")]
    pub sflow_notification_lost_samples: u64,
    /// `sFlowNotificationDuplicateSamples`: drop notifications received twice.
    #[serde(rename = "sFlowNotificationDuplicateSamples")]
    pub sflow_notification_duplicate_samples: u64,
    /// `sFlowNotificationOutOfOrderSamples`: drop notifications that arrived after a later one.
    #[serde(rename = "sFlowNotificationOutOfOrderSamples")]
    pub sflow_notification_out_of_order_samples: u64,
    /// `sFlowNotificationDrops`: drop notifications the agent could not send (their `drops`).
    #[serde(rename = "sFlowNotificationDrops")]
    pub sflow_notification_drops: u64,
    /// `sFlowFlowDatasources`: data sources sending flow samples.
    #[serde(rename = "sFlowFlowDatasources")]
    pub sflow_flow_datasources: u64,
    /// `sFlowCounterDatasources`: data sources sending counter samples.
    #[serde(rename = "sFlowCounterDatasources")]
    pub sflow_counter_datasources: u64,
    /// `sFlowNotificationDatasources`: data sources sending drop notifications.
    #[serde(rename = "sFlowNotificationDatasources")]
    pub sflow_notification_datasources: u64,
    /// `sFlowDatagramSource`: the addresses the agent's datagrams came from.
    #[serde(rename = "sFlowDatagramSource")]
    pub sflow_datagram_source: Vec<IpAddr>,
    /// Datagrams from this agent that failed to decode (rtflow extension).
    #[serde(rename = "sFlowDecodeErrors")]
    pub sflow_decode_errors: u64,
    /// Records that failed to decode inside otherwise valid samples; the samples were used without them
    /// (rtflow extension).
    #[serde(rename = "sFlowRecordDecodeErrors")]
    pub sflow_record_decode_errors: u64,
    /// ms since the agent was first seen.
    pub first_seen: u64,
    /// ms since the agent was last seen.
    pub last_seen: u64,
    /// The agent's sysUpTime (ms) as last reported.
    pub uptime: u64,
}

/// Accounting for one agent.
#[derive(Debug)]
pub(crate) struct AgentStats {
    pub first_seen: Millis,
    pub last_seen: Millis,
    pub uptime_ms: u32,
    pub datagram_seq: BTreeMap<u32, SeqTracker>,
    pub datagrams: SeqCounters,
    pub flows: SeqCounters,
    pub counters: SeqCounters,
    pub notifications: SeqCounters,
    pub flow_drops: u64,
    pub notification_drops: u64,
    pub decode_errors: u64,
    pub record_decode_errors: u64,
    pub sources: Vec<IpAddr>,
    pub restarts: u64,
}

impl AgentStats {
    pub(crate) fn new(now: Millis) -> Self {
        Self {
            first_seen: now,
            last_seen: now,
            uptime_ms: 0,
            datagram_seq: BTreeMap::new(),
            datagrams: SeqCounters::default(),
            flows: SeqCounters::default(),
            counters: SeqCounters::default(),
            notifications: SeqCounters::default(),
            flow_drops: 0,
            notification_drops: 0,
            decode_errors: 0,
            record_decode_errors: 0,
            sources: Vec::new(),
            restarts: 0,
        }
    }

    pub(crate) fn note_source(&mut self, source: SocketAddr) {
        let ip = source.ip();
        if !self.sources.contains(&ip) && self.sources.len() < MAX_DATAGRAM_SOURCES {
            self.sources.push(ip);
        }
    }

    /// Accounts a datagram header; returns true when the agent (or this sub-agent) restarted, in which case
    /// the caller must drop counter baselines and per-source sequence state.
    pub(crate) fn observe_datagram(&mut self, now: Millis, info: &DatagramInfo) -> bool {
        self.last_seen = now;
        self.note_source(info.source);
        // Bounded: sub-agent ids are few in practice, but the id comes off the wire.
        if self.datagram_seq.len() >= 64 && !self.datagram_seq.contains_key(&info.sub_agent_id) {
            self.datagram_seq.clear();
        }
        let uptime_went_back = self.datagrams.received > 0
            && info.uptime_ms.saturating_add(RESTART_UPTIME_SLACK_MS) < self.uptime_ms
            && self.uptime_ms < u32::MAX - UPTIME_WRAP_ZONE_MS;
        let tracker = self.datagram_seq.entry(info.sub_agent_id).or_default();
        if uptime_went_back {
            // The new sequence numbering starts here: neither loss nor reordering.
            tracker.reset();
        }
        let outcome = tracker.observe(info.sequence);
        self.datagrams.apply(outcome);
        let restarted = outcome == SeqOutcome::Reset || uptime_went_back;
        if restarted {
            self.restarts += 1;
        }
        // A late datagram must not move uptime backwards.
        if restarted || info.uptime_ms > self.uptime_ms || self.datagrams.received == 1 {
            self.uptime_ms = info.uptime_ms;
        }
        restarted
    }
}

/// What `datasourceInfo()` reports about one data source: sampling and polling as observed.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct SourceActivity {
    /// Sampling rate of the last flow sample (0 before any).
    pub sampling_rate: u32,
    pub flow_samples: u64,
    pub counter_samples: u64,
    pub last_counter_at: Option<Millis>,
    /// Smoothed time between counter samples (ms), 0 until two were seen.
    pub polling_interval_ms: f64,
}

impl SourceActivity {
    pub(crate) fn counter_sample(&mut self, now: Millis) {
        self.counter_samples += 1;
        if let Some(last) = self.last_counter_at
            && now > last
        {
            let gap = (now - last) as f64;
            self.polling_interval_ms = if self.polling_interval_ms == 0.0 {
                gap
            } else {
                0.8 * self.polling_interval_ms + 0.2 * gap
            };
        }
        self.last_counter_at = Some(now);
    }
}

/// State of one data source of one agent.
#[derive(Debug, Default)]
pub(crate) struct SourceState {
    /// When a sample (flow or counter) last updated this data source.
    pub last_seen: Millis,
    pub activity: SourceActivity,
    pub flow_seq: SeqTracker,
    pub counter_seq: SeqTracker,
    pub has_flows: bool,
    pub has_counters: bool,
    pub counters: CounterState,
    pub sampling: SamplingState,
    /// Active-flow tables, indexed by flow-definition slot.
    pub flows: Vec<FlowTable>,
    /// No table in `flows` has anything to expire before this (the earliest of their `expire_due`, lowered
    /// as samples are added), while the flow definitions keep the layout `flows_layout`: the tick skips the
    /// data source's tables until then, without reading them.
    pub flows_due: Millis,
    /// The `FlowRegistry::layout` the tables were last checked against (0: never).
    pub flows_layout: u64,
}

/// Tracks sample_pool/sequence to derive the effective sampling rate when the agent drops samples.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct SamplingState {
    last: Option<(u32, u32, u32)>,
    /// Effective 1-in-N rate applied while drops are being reported.
    effective: Option<f64>,
}

impl SamplingState {
    /// Returns (drops delta, scale factor for this sample).
    pub(crate) fn observe(
        &mut self,
        sequence: u32,
        pool: u32,
        drops: u32,
        sampling_rate: u32,
    ) -> (u32, f64) {
        let nominal = f64::from(sampling_rate.max(1));
        let mut drops_delta = 0;
        if let Some((last_seq, last_pool, last_drops)) = self.last {
            let seq_delta = sequence.wrapping_sub(last_seq);
            let pool_delta = pool.wrapping_sub(last_pool);
            drops_delta = drops.wrapping_sub(last_drops);
            if drops_delta > u32::MAX / 2 {
                // Counter reset: not a real drop burst.
                drops_delta = 0;
            }
            if drops_delta > 0 && seq_delta > 0 && seq_delta < u32::MAX / 2 && pool_delta > 0 {
                let effective = f64::from(pool_delta) / f64::from(seq_delta);
                // Never scale below the nominal rate (pool counting is per-port and can lag).
                self.effective = Some(effective.max(nominal));
            } else if drops_delta == 0 && seq_delta == 1 {
                self.effective = None;
            }
        }
        self.last = Some((sequence, pool, drops));
        (drops_delta, self.effective.unwrap_or(nominal))
    }

    pub(crate) fn reset(&mut self) {
        *self = Self::default();
    }

    /// The effective 1-in-N rate while the agent reports drops (`None` when it samples at its nominal rate).
    pub(crate) fn effective_rate(&self) -> Option<f64> {
        self.effective
    }
}

/// All state of one agent.
#[derive(Debug)]
pub(crate) struct AgentState {
    pub stats: AgentStats,
    pub sources: HashMap<DataSource, SourceState>,
    /// Updated by ingest since the tick last looked at it (it is then in its shard's `touched` list).
    pub touched: bool,
    /// When its entry in the shard's due queue comes up (`Millis::MAX`: none), see `tick.rs`.
    pub scheduled_due: Millis,
}

impl AgentState {
    pub(crate) fn new(now: Millis) -> Self {
        Self {
            stats: AgentStats::new(now),
            sources: HashMap::default(),
            touched: false,
            scheduled_due: Millis::MAX,
        }
    }

    /// Forgets sequence and counter baselines after a restart (so no bogus loss or rate spike is reported).
    pub(crate) fn restarted(&mut self) {
        for source in self.sources.values_mut() {
            source.flow_seq.reset();
            source.counter_seq.reset();
            source.counters.discontinuity();
            source.sampling.reset();
        }
    }

    pub(crate) fn info(&self, now: Millis) -> AgentInfo {
        let s = &self.stats;
        let count =
            |f: fn(&SourceState) -> bool| self.sources.values().filter(|x| f(x)).count() as u64;
        AgentInfo {
            sflow_datagrams_received: s.datagrams.received,
            sflow_datagrams_lost: s.datagrams.lost,
            sflow_datagrams_duplicates: s.datagrams.duplicates,
            sflow_datagrams_out_of_order: s.datagrams.out_of_order,
            sflow_flow_samples: s.flows.received,
            sflow_flow_lost_samples: s.flows.lost,
            sflow_flow_duplicate_samples: s.flows.duplicates,
            sflow_flow_out_of_order_samples: s.flows.out_of_order,
            sflow_flow_drops: s.flow_drops,
            sflow_counter_samples: s.counters.received,
            sflow_counter_lost_samples: s.counters.lost,
            sflow_counter_duplicate_samples: s.counters.duplicates,
            sflow_counter_out_of_order_samples: s.counters.out_of_order,
            sflow_notification_samples: s.notifications.received,
            sflow_notification_lost_samples: s.notifications.lost,
            sflow_notification_duplicate_samples: s.notifications.duplicates,
            sflow_notification_out_of_order_samples: s.notifications.out_of_order,
            sflow_notification_drops: s.notification_drops,
            sflow_flow_datasources: count(|x| x.has_flows),
            sflow_counter_datasources: count(|x| x.has_counters),
            sflow_notification_datasources: 0,
            sflow_datagram_source: s.sources.clone(),
            sflow_decode_errors: s.decode_errors,
            sflow_record_decode_errors: s.record_decode_errors,
            first_seen: now.saturating_sub(s.first_seen),
            last_seen: now.saturating_sub(s.last_seen),
            uptime: u64::from(s.uptime_ms),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    fn dgram(seq: u32, uptime: u32) -> DatagramInfo {
        let ip = IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1));
        DatagramInfo {
            agent: ip,
            sequence: seq,
            uptime_ms: uptime,
            source: SocketAddr::new(ip, 6343),
            ..Default::default()
        }
    }

    #[test]
    fn uptime_going_backwards_is_a_restart() {
        let mut s = AgentStats::new(0);
        assert!(!s.observe_datagram(0, &dgram(100, 500_000)));
        assert!(!s.observe_datagram(1, &dgram(101, 501_000)));
        assert!(s.observe_datagram(2, &dgram(102, 2_000)));
        assert_eq!(s.uptime_ms, 2_000);
        // A slightly older uptime (reordered datagram) is not a restart and does not move uptime back.
        assert!(!s.observe_datagram(3, &dgram(104, 5_000)));
        assert!(!s.observe_datagram(3, &dgram(103, 4_000)));
        assert_eq!(s.uptime_ms, 5_000);
        assert_eq!(s.restarts, 1);
        assert_eq!(s.datagrams.lost, 0);
        assert_eq!(s.datagrams.out_of_order, 1);
    }

    #[test]
    fn sequence_reset_is_a_restart() {
        let mut s = AgentStats::new(0);
        s.observe_datagram(0, &dgram(90_000, 500_000));
        assert!(s.observe_datagram(1, &dgram(1, 501_000)));
    }

    #[test]
    fn effective_sampling_rate_follows_pool_when_dropping() {
        let mut s = SamplingState::default();
        assert_eq!(s.observe(1, 1000, 0, 100), (0, 100.0));
        assert_eq!(s.observe(2, 1100, 0, 100), (0, 100.0));
        // 10 samples delivered for 2000 pool packets while 10 were dropped: effective 1-in-200.
        assert_eq!(s.observe(12, 3100, 10, 100), (10, 200.0));
        // Back to steady: nominal again.
        assert_eq!(s.observe(13, 3200, 10, 100), (0, 100.0));
    }
}
