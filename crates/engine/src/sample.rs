//! Plain engine inputs: what one sFlow datagram carries, already decoded.
//!
//! The adapter (`adapter.rs`) builds these from `rtflow_sflow`; unit tests build them directly.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::str::FromStr;
use std::sync::Arc;

use serde::{Serialize, Serializer};

/// Milliseconds since the Unix epoch (defined once, in the flow language, whose learned hosts expire by it).
/// Every time-dependent engine method takes `now: Millis`.
pub use rtflow_flowlang::Millis;

/// An sFlow data source: `class` 0 is an ifIndex (displayed `"3"`), any other class displays as `"2.1"`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct DataSource {
    /// The data source's class: 0 an interface (ifIndex), 1 a VLAN, 2 a physical entity, 3 a logical entity.
    pub class: u32,
    /// The index within the class (the ifIndex for an interface).
    pub index: u32,
}

impl DataSource {
    /// The data source `index` of `class`.
    pub const fn new(class: u32, index: u32) -> Self {
        Self { class, index }
    }

    /// An interface (ifIndex) data source.
    pub const fn interface(index: u32) -> Self {
        Self { class: 0, index }
    }

    /// Decodes sFlow's packed `source_id` (class in the top 8 bits, index in the low 24).
    pub const fn from_source_id(source_id: u32) -> Self {
        Self {
            class: source_id >> 24,
            index: source_id & 0x00FF_FFFF,
        }
    }

    /// Whether it is an interface (class 0): written as its bare ifIndex (`3`), others as `class.index`.
    pub const fn is_interface(self) -> bool {
        self.class == 0
    }
}

impl fmt::Display for DataSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.class == 0 {
            write!(f, "{}", self.index)
        } else {
            write!(f, "{}.{}", self.class, self.index)
        }
    }
}

impl Serialize for DataSource {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

/// Error for a data source string that is neither `"<ifIndex>"` nor `"<class>.<index>"`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid data source {0:?} (expected \"<ifIndex>\" or \"<class>.<index>\")")]
pub struct DataSourceParseError(pub String);

impl FromStr for DataSource {
    type Err = DataSourceParseError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = || DataSourceParseError(s.to_string());
        match s.split_once('.') {
            None => Ok(Self::interface(s.parse().map_err(|_| err())?)),
            Some((class, index)) => Ok(Self::new(
                class.parse().map_err(|_| err())?,
                index.parse().map_err(|_| err())?,
            )),
        }
    }
}

/// Datagram header facts the engine needs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DatagramInfo {
    /// The agent's address from the datagram header.
    pub agent: IpAddr,
    /// The sub-agent within the agent (each has its own sequence numbers).
    pub sub_agent_id: u32,
    /// The datagram's sequence number.
    pub sequence: u32,
    /// The agent's uptime in ms when it sent the datagram.
    pub uptime_ms: u32,
    /// UDP source of the datagram (may differ from `agent` behind NAT or relays).
    pub source: SocketAddr,
    /// Datagram size in bytes.
    pub size: usize,
}

impl Default for DatagramInfo {
    fn default() -> Self {
        Self {
            agent: IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            sub_agent_id: 0,
            sequence: 0,
            uptime_ms: 0,
            source: SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), 0),
            size: 0,
        }
    }
}

/// An input or output port of a flow sample.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum Port {
    /// A known ifIndex.
    Index(u32),
    /// The packet was discarded; the value is the discard reason code.
    Discarded(u32),
    /// Sent to several ports; the value is the number of ports (0 = unknown).
    Multiple(u32),
    /// To or from the agent itself.
    Internal,
    /// Not known (absent, or a format the agent left empty).
    #[default]
    Unknown,
}

impl Port {
    /// Decodes sFlow's `interface` encoding (2-bit format, 30-bit value). `is_input` matters only for the
    /// 0x3FFFFFFF marker, which sflowtool reads as "unknown" on input and "internal" on output.
    pub const fn from_sflow(raw: u32, is_input: bool) -> Self {
        let value = raw & 0x3FFF_FFFF;
        match raw >> 30 {
            0 if value == 0x3FFF_FFFF => {
                if is_input {
                    Port::Unknown
                } else {
                    Port::Internal
                }
            }
            0 => Port::Index(value),
            1 => Port::Discarded(value),
            2 => Port::Multiple(value),
            _ => Port::Unknown,
        }
    }

    /// The ifIndex, when the port is a single interface.
    pub const fn index(self) -> Option<u32> {
        match self {
            Port::Index(i) => Some(i),
            _ => None,
        }
    }
}

/// Extended switch data (sFlow 0:1001).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct SwitchInfo {
    /// VLAN the packet came in on.
    pub src_vlan: u32,
    /// 802.1p priority it came in with.
    pub src_priority: u32,
    /// VLAN it went out on.
    pub dst_vlan: u32,
    /// 802.1p priority it went out with.
    pub dst_priority: u32,
}

/// Extended router data (sFlow 0:1002).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RouterInfo {
    /// The next-hop router.
    pub next_hop: IpAddr,
    /// Prefix length of the route to the source.
    pub src_mask_len: u32,
    /// Prefix length of the route to the destination.
    pub dst_mask_len: u32,
}

/// Extended gateway (BGP) data (sFlow 0:1003). The AS path and communities are pre-rendered strings
/// (`"65001-65002"`, `"65000:1-65000:2"`) so cloning a sample stays cheap.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GatewayInfo {
    /// The BGP next hop.
    pub next_hop: IpAddr,
    /// This router's AS number.
    pub as_number: u32,
    /// The source's AS.
    pub src_as: u32,
    /// The AS of the peer the packet came from.
    pub src_peer_as: u32,
    /// The AS of the peer it goes to.
    pub dst_peer_as: u32,
    /// The destination's AS (the last of the AS path).
    pub dst_as: u32,
    /// The AS path to the destination, as text.
    pub dst_as_path: Arc<str>,
    /// The BGP communities of the route, as text.
    pub communities: Arc<str>,
    /// The route's local preference.
    pub local_pref: u32,
}

/// Queue/delay data from switch ASIC extensions (sFlow transit delay / queue depth structures).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct QueueInfo {
    /// The egress queue the packet went to.
    pub queue_index: Option<u32>,
    /// The queue's depth in bytes when the packet was queued.
    pub queue_depth_bytes: Option<u32>,
    /// How long the packet took through the switch, in ns.
    pub transit_delay_ns: Option<u32>,
}

/// TCP stats of the sampled packet's socket (sFlow 0:2209 extended_tcp_info), numeric flow values.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct TcpInfo {
    /// Smoothed round-trip time in µs.
    pub rtt_us: u32,
    /// Its standard deviation in µs.
    pub rtt_sdev_us: u32,
    /// Time the sender waited for acknowledgements, in µs.
    pub rtt_wait_us: u32,
    /// Segments sent and not yet acknowledged.
    pub unacked: u32,
}

/// One flow (packet) sample, or one dropped-packet notification when `dropped` is set.
#[derive(Clone, Debug, Default)]
pub struct FlowSample {
    /// The data source that took the sample.
    pub source: DataSource,
    /// The sample's sequence number within its data source.
    pub sequence: u32,
    /// 1-in-N sampling rate; 0 is treated as 1.
    pub sampling_rate: u32,
    /// Total packets that could have been sampled (cumulative, wraps).
    pub sample_pool: u32,
    /// Samples lost for lack of resources (cumulative, wraps).
    pub drops: u32,
    /// The port the packet came in on.
    pub input: Port,
    /// The port it went out on.
    pub output: Port,
    /// Original length of the sampled frame (bytes).
    pub frame_length: u32,
    /// Bytes stripped from the frame before sampling (e.g. FCS).
    pub stripped: u32,
    /// Decoded sampled header (all fields absent when the sample carried no raw header record).
    pub packet: PacketFields,
    /// Extended switch data (VLANs, priorities), when the agent sent it.
    pub switch: Option<SwitchInfo>,
    /// Extended router data (next hop, prefix lengths).
    pub router: Option<RouterInfo>,
    /// Extended gateway data (BGP).
    pub gateway: Option<GatewayInfo>,
    /// Queue data (egress queue, depth, transit delay).
    pub queue: Option<QueueInfo>,
    /// The sending host's TCP state (hsflowd's tcp_info).
    pub tcp_info: Option<TcpInfo>,
    /// Drop reason code of a dropped-packet notification (sFlow 0:5), `None` for an ordinary sample.
    pub dropped: Option<u32>,
}

/// The decoded sampled header.
pub(crate) use crate::attributes::PacketFields;

/// A raw counter value as sent by the agent, before rate conversion.
#[derive(Clone, Debug, PartialEq)]
pub enum CounterValue {
    /// A 32-bit cumulative counter (wraps at 2^32). All-ones means "unknown".
    Counter32(u32),
    /// A 64-bit cumulative counter. All-ones means "unknown".
    Counter64(u64),
    /// A point-in-time value, passed through.
    Gauge(f64),
    /// A string value (ifname, host_name, os_name, …).
    Text(Arc<str>),
}

/// One counter sample: the counter structures of a data source flattened to sFlow-RT metric names (spec §4).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct CounterSample {
    /// The data source the counters are of.
    pub source: DataSource,
    /// The sample's sequence number within its data source.
    pub sequence: u32,
    /// The counters, flattened to sFlow-RT's metric names (`ifinoctets`, `cpu_utilization`…).
    pub values: Vec<(&'static str, CounterValue)>,
    /// MACs of the host's adapters (host_adapters, 0:2001), which the `host:` key function maps to the
    /// host_descr of this data source.
    pub adapter_macs: Vec<[u8; 6]>,
}

/// One sample of a datagram.
#[derive(Clone, Debug)]
pub enum Input {
    /// Boxed: a decoded header makes a flow sample about 1 kB.
    Flow(Box<FlowSample>),
    /// A counter sample.
    Counter(CounterSample),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn data_source_display_and_parse_round_trip() {
        assert_eq!(DataSource::interface(3).to_string(), "3");
        assert_eq!(DataSource::new(2, 1).to_string(), "2.1");
        assert_eq!("2.1".parse::<DataSource>(), Ok(DataSource::new(2, 1)));
        assert_eq!("49".parse::<DataSource>(), Ok(DataSource::interface(49)));
        assert!("x.1".parse::<DataSource>().is_err());
        assert_eq!(
            DataSource::from_source_id(0x0200_0001),
            DataSource::new(2, 1)
        );
    }

    #[test]
    fn port_decoding_follows_sflow_interface_format() {
        assert_eq!(Port::from_sflow(7, true), Port::Index(7));
        assert_eq!(Port::from_sflow(0x3FFF_FFFF, true), Port::Unknown);
        assert_eq!(Port::from_sflow(0x3FFF_FFFF, false), Port::Internal);
        assert_eq!(Port::from_sflow(0x4000_0102, false), Port::Discarded(0x102));
        assert_eq!(Port::from_sflow(0x8000_0003, false), Port::Multiple(3));
    }
}
