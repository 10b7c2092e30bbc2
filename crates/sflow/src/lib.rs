//! rtflow-sflow: a zero-copy sFlow v5 XDR decoder and encoder.
//!
//! * [`Datagram::decode`] parses the header of a datagram borrowed from a `&[u8]`; samples
//!   ([`Datagram::samples`]) and their records ([`FlowSample::records`],
//!   [`CounterSample::records`], [`DiscardSample::records`]) decode lazily, without allocating.
//!   Every item is a `Result`, so one malformed sample or record does not hide the others.
//! * Unknown sample and record types are kept as [`Opaque`] `{tag, data}`, never an error.
//! * Datagrams whose version is not 5 fail with [`DecodeError::NotSflowV5`]; sFlow v2 and v4
//!   decode with [`LegacyDatagram::decode`].
//! * Every decoded structure encodes back ([`Datagram::encode`], [`Sample::encode`],
//!   [`FlowRecord::encode`], [`CounterRecord::encode`]); [`DatagramBuilder`] builds datagrams
//!   from records.
//!
//! ```
//! # let bytes = rtflow_sflow::DatagramBuilder::new(rtflow_sflow::DatagramHeader {
//! #     agent: rtflow_sflow::Address::Unknown, sub_agent_id: 0, sequence_number: 0, uptime_ms: 0,
//! # }).finish();
//! use rtflow_sflow::{Datagram, FlowRecord, Sample};
//!
//! let datagram = Datagram::decode(&bytes)?;
//! for sample in datagram.samples() {
//!     if let Sample::Flow(flow) = sample? {
//!         for record in flow.records() {
//!             if let FlowRecord::SampledHeader(h) = record? {
//!                 println!("{} bytes sampled 1:{}", h.header.len(), flow.info.sampling_rate);
//!             }
//!         }
//!     }
//! }
//! # Ok::<(), rtflow_sflow::DecodeError>(())
//! ```

mod counter;
mod datagram;
mod encode;
mod error;
mod flow;
mod legacy;
mod record;
#[cfg(test)]
mod roundtrip_tests;
mod sample;
#[cfg(test)]
mod testgen;
mod types;
mod xdr;

/// The UDP port agents send sFlow to unless configured otherwise (IANA's `sflow`, 6343): the one
/// definition of the workspace.
pub const SFLOW_PORT: u16 = 6343;

pub use counter::{
    Adapter, AdapterList, AppCounters, AppResources, AppWorkers, BroadcomTables, CounterRecord,
    CounterRecords, EthernetCounters, GenericInterfaceCounters, HostAdapters, HostCpu,
    HostCpuExtra, HostDescription, HostDiskIo, HostMemory, HostNetIo, HostParent, HttpCounters,
    Ieee80211Counters, JmxCounters, JvmId, LagPortCounters, MacIter, MacList, MemcacheCounters,
    Mib2IcmpGroup, Mib2IpGroup, Mib2TcpGroup, Mib2UdpGroup, NvidiaGpuCounters, OpenFlowPort,
    PortName, ProcessorCounters, RadioCounters, SfpCounters, SfpLane, SfpLaneIter, SfpLanes,
    TokenRingCounters, VdiCounters, Vg100Counters, VirtCpu, VirtDiskIo, VirtMemory, VirtNode,
    VlanCounters,
};
pub use datagram::{Datagram, DatagramHeader, SFLOW_VERSION_5};
pub use encode::{BuilderMark, DatagramBuilder};
pub use error::{DecodeError, ErrorKind, Location, Tag};
pub use flow::{
    AppActor, AppContext, AppOperation, Extended80211Aggregation, Extended80211Payload,
    Extended80211Rx, Extended80211Tx, ExtendedDecap, ExtendedEgressQueue, ExtendedEntities,
    ExtendedFunction, ExtendedGateway, ExtendedHwTrap, ExtendedLinuxDropReason, ExtendedMpls,
    ExtendedMplsFtn, ExtendedMplsLdpFec, ExtendedMplsTunnel, ExtendedMplsVc, ExtendedNat,
    ExtendedNatPort, ExtendedQueueDepth, ExtendedRouter, ExtendedSocketIpv4, ExtendedSocketIpv6,
    ExtendedSwitch, ExtendedTcpInfo, ExtendedTransitDelay, ExtendedUrl, ExtendedUser,
    ExtendedVlanTunnel, ExtendedVni, FlowRecord, FlowRecords, HttpRequest, HttpRequestV1,
    MemcacheOperation, SampledEthernet, SampledHeader, SampledIpv4, SampledIpv6,
};
pub use legacy::{
    LEGACY_COUNTERS_SAMPLE, LEGACY_FLOW_SAMPLE, LegacyCounterBlock, LegacyCounterSample,
    LegacyDatagram, LegacyDatagramBuilder, LegacyFlowInfo, LegacyFlowSample, LegacyRecord,
    LegacySample, LegacySamples, SFLOW_VERSION_2, SFLOW_VERSION_4, counters_version,
};
pub use record::{Opaque, RecordList};
pub use sample::{
    COUNTER_SAMPLE, CounterSample, CounterSampleInfo, DISCARD_SAMPLE, DiscardSample,
    DiscardSampleInfo, EXPANDED_COUNTER_SAMPLE, EXPANDED_FLOW_SAMPLE, FLOW_SAMPLE, FlowSample,
    FlowSampleInfo, Sample, Samples,
};
pub use types::{
    Address, AsPath, AsPathSegment, AsPathSegments, DataSource, Interface, InterfaceKind, MacAddr,
    U32List,
};

/// Encoded size of an address (type word + bytes).
pub(crate) fn xdr_address_len(a: &Address) -> usize {
    match a {
        Address::Unknown => 4,
        Address::V4(_) => 8,
        Address::V6(_) => 20,
    }
}
