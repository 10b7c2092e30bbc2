//! A capture under construction: timestamped UDP datagrams and the count of what went into them.

use std::fmt::Write as _;
use std::net::SocketAddr;

use rtflow_capture::{LinkType, PcapWriter, Timestamp, build_udp_frame};
use rtflow_sflow::{
    CounterRecord, CounterSampleInfo, DatagramBuilder, DatagramHeader, DiscardSampleInfo,
    FlowRecord, FlowSampleInfo, Sample,
};

/// What a generated file holds, counted by the generator.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Summary {
    /// UDP datagrams in the file.
    pub datagrams: u64,
    /// Datagrams that are whole, valid sFlow v5.
    pub sflow_v5: u64,
    /// UDP payloads that are not sFlow v5 (NetFlow, IPFIX, sFlow v4).
    pub not_sflow_v5: u64,
    /// Of those, sFlow v2/v4 datagrams (decoded by `rtflow decode` as sflowtool does, not by the v5 codec).
    pub sflow_legacy: u64,
    /// sFlow v5 datagrams that are deliberately broken (each fails to decode).
    pub malformed: u64,
    /// Flow samples (0:1 and 0:3) in the valid datagrams.
    pub flow_samples: u64,
    /// Counter samples (0:2 and 0:4).
    pub counter_samples: u64,
    /// Discard samples (0:5).
    pub discard_samples: u64,
    /// Samples of other (unknown) types.
    pub other_samples: u64,
    /// Sampled header records (0:1) in flow samples (those of discard samples not counted).
    pub sampled_headers: u64,
    /// Agents, as text, in order of first appearance.
    pub agents: Vec<String>,
}

impl Summary {
    /// `key=value` fields for the manifest (agents comma-separated).
    pub fn to_fields(&self) -> String {
        let mut out = String::new();
        for (key, value) in [
            ("datagrams", self.datagrams),
            ("sflow_v5", self.sflow_v5),
            ("not_sflow_v5", self.not_sflow_v5),
            ("sflow_legacy", self.sflow_legacy),
            ("malformed", self.malformed),
            ("flow_samples", self.flow_samples),
            ("counter_samples", self.counter_samples),
            ("discard_samples", self.discard_samples),
            ("other_samples", self.other_samples),
            ("sampled_headers", self.sampled_headers),
        ] {
            let _ = write!(out, "{key}={value} ");
        }
        out + "agents=" + &self.agents.join(",")
    }
}

/// One datagram of a capture.
#[derive(Debug, Clone)]
pub(crate) struct Packet {
    /// Seconds and microseconds since the epoch.
    pub(crate) time: (u64, u32),
    pub(crate) src: SocketAddr,
    pub(crate) dst: SocketAddr,
    pub(crate) payload: Vec<u8>,
}

impl Packet {
    pub(crate) fn frame(&self) -> Vec<u8> {
        build_udp_frame(self.src, self.dst, &self.payload)
            .unwrap_or_else(|e| panic!("generated datagram does not fit a frame: {e}"))
    }
}

/// Datagrams in time order, with their [`Summary`].
#[derive(Debug, Clone, Default)]
pub(crate) struct Capture {
    pub(crate) packets: Vec<Packet>,
    pub(crate) summary: Summary,
}

impl Capture {
    /// Appends a finished sFlow datagram.
    pub(crate) fn push_sflow(
        &mut self,
        time: (u64, u32),
        src: SocketAddr,
        dst: SocketAddr,
        d: Dgram,
    ) {
        let agent = d.header.agent.to_string();
        if !self.summary.agents.contains(&agent) {
            self.summary.agents.push(agent);
        }
        let s = &mut self.summary;
        s.sflow_v5 += 1;
        s.flow_samples += d.counts.flow_samples;
        s.counter_samples += d.counts.counter_samples;
        s.discard_samples += d.counts.discard_samples;
        s.other_samples += d.counts.other_samples;
        s.sampled_headers += d.counts.sampled_headers;
        self.push_raw(time, src, dst, d.finish());
    }

    /// Appends any UDP payload (counted as a datagram only; the caller counts its kind).
    pub(crate) fn push_raw(
        &mut self,
        time: (u64, u32),
        src: SocketAddr,
        dst: SocketAddr,
        payload: Vec<u8>,
    ) {
        self.summary.datagrams += 1;
        self.packets.push(Packet {
            time,
            src,
            dst,
            payload,
        });
    }

    /// The classic (microsecond, little-endian) pcap file.
    pub(crate) fn to_pcap(&self) -> Vec<u8> {
        let mut writer = PcapWriter::new(Vec::new(), LinkType::ETHERNET, 0)
            .unwrap_or_else(|e| panic!("pcap header into a Vec: {e}"));
        for packet in &self.packets {
            let frame = packet.frame();
            let ts = Timestamp::from_micros(packet.time.0, packet.time.1);
            let len = u32::try_from(frame.len()).unwrap_or(u32::MAX);
            writer
                .write_packet(ts, len, &frame)
                .unwrap_or_else(|e| panic!("pcap packet into a Vec: {e}"));
        }
        writer.into_inner()
    }
}

#[derive(Debug, Clone, Default)]
struct Counts {
    flow_samples: u64,
    counter_samples: u64,
    discard_samples: u64,
    other_samples: u64,
    sampled_headers: u64,
}

/// A [`DatagramBuilder`] that counts what is added to it.
#[derive(Debug, Clone)]
pub(crate) struct Dgram {
    header: DatagramHeader,
    builder: DatagramBuilder,
    counts: Counts,
}

impl Dgram {
    pub(crate) fn new(header: DatagramHeader) -> Self {
        Self {
            header,
            builder: DatagramBuilder::new(header),
            counts: Counts::default(),
        }
    }

    pub(crate) fn flow(&mut self, info: &FlowSampleInfo, records: &[FlowRecord<'_>]) {
        self.builder.flow_sample(info, records);
        self.counts.flow_samples += 1;
        self.counts.sampled_headers += headers_in(records);
    }

    pub(crate) fn counter(&mut self, info: &CounterSampleInfo, records: &[CounterRecord<'_>]) {
        self.builder.counter_sample(info, records);
        self.counts.counter_samples += 1;
    }

    pub(crate) fn discard(&mut self, info: &DiscardSampleInfo, records: &[FlowRecord<'_>]) {
        self.builder.discard_sample(info, records);
        self.counts.discard_samples += 1;
    }

    /// A sample of a type the decoder does not know (kept opaque).
    pub(crate) fn other(&mut self, sample: &Sample<'_>) {
        self.builder.sample(sample);
        self.counts.other_samples += 1;
    }

    /// The encoded datagram.
    pub(crate) fn finish(&self) -> Vec<u8> {
        self.builder.finish()
    }

    pub(crate) fn len(&self) -> usize {
        self.builder.len()
    }

    pub(crate) fn num_samples(&self) -> u32 {
        self.builder.num_samples()
    }
}

fn headers_in(records: &[FlowRecord<'_>]) -> u64 {
    records
        .iter()
        .filter(|r| matches!(r, FlowRecord::SampledHeader(_)))
        .count() as u64
}
