//! Building datagrams from records (for synthetic captures and tests).

use crate::counter::CounterRecord;
use crate::datagram::DatagramHeader;
use crate::flow::FlowRecord;
use crate::sample::{
    CounterSampleInfo, DiscardSampleInfo, FlowSampleInfo, Sample, encode_counter_sample,
    encode_discard_sample, encode_flow_sample,
};
use crate::xdr::put_u32;

/// A position in a [`DatagramBuilder`] (see [`DatagramBuilder::mark`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BuilderMark {
    num_samples: u32,
    samples_len: usize,
}

/// Builds an sFlow v5 datagram sample by sample.
///
/// ```
/// use std::net::Ipv4Addr;
/// use rtflow_sflow::*;
///
/// let header = [0u8; 64]; // the sampled Ethernet/IPv4/TCP frame
/// let mut builder = DatagramBuilder::new(DatagramHeader {
///     agent: Address::V4(Ipv4Addr::new(10, 0, 0, 1)),
///     sub_agent_id: 0,
///     sequence_number: 1,
///     uptime_ms: 60_000,
/// });
/// for seq in 0..3 {
///     builder.flow_sample(
///         &FlowSampleInfo {
///             sequence_number: seq,
///             source_id: DataSource { class: 0, index: 7 },
///             sampling_rate: 1000,
///             sample_pool: 1000 * (seq + 1),
///             input: Interface::index(7),
///             output: Interface::index(8),
///             ..Default::default()
///         },
///         &[FlowRecord::SampledHeader(SampledHeader {
///             protocol: 1,
///             frame_length: 1518,
///             stripped: 4,
///             header: &header,
///         })],
///     );
/// }
/// builder.counter_sample(
///     &CounterSampleInfo { sequence_number: 1, source_id: DataSource { class: 0, index: 7 }, expanded: false },
///     &[CounterRecord::GenericInterface(GenericInterfaceCounters {
///         if_index: 7,
///         if_speed: 10_000_000_000,
///         if_in_octets: 123_456,
///         ..Default::default()
///     })],
/// );
/// let bytes = builder.finish();
///
/// let datagram = Datagram::decode(&bytes).unwrap();
/// assert_eq!(datagram.num_samples(), 4);
/// let flows = datagram.samples().filter(|s| matches!(s, Ok(Sample::Flow(_)))).count();
/// assert_eq!(flows, 3);
/// ```
#[derive(Debug, Clone)]
pub struct DatagramBuilder {
    header: DatagramHeader,
    num_samples: u32,
    samples: Vec<u8>,
}

impl DatagramBuilder {
    /// Starts an empty datagram.
    pub fn new(header: DatagramHeader) -> Self {
        Self {
            header,
            num_samples: 0,
            samples: Vec::new(),
        }
    }

    /// Adds a flow sample (compact or expanded per `info.expanded`).
    pub fn flow_sample(&mut self, info: &FlowSampleInfo, records: &[FlowRecord<'_>]) -> &mut Self {
        encode_flow_sample(&mut self.samples, info, records);
        self.num_samples += 1;
        self
    }

    /// Adds a counter sample.
    pub fn counter_sample(
        &mut self,
        info: &CounterSampleInfo,
        records: &[CounterRecord<'_>],
    ) -> &mut Self {
        encode_counter_sample(&mut self.samples, info, records);
        self.num_samples += 1;
        self
    }

    /// Adds a discarded-packet sample.
    pub fn discard_sample(
        &mut self,
        info: &DiscardSampleInfo,
        records: &[FlowRecord<'_>],
    ) -> &mut Self {
        encode_discard_sample(&mut self.samples, info, records);
        self.num_samples += 1;
        self
    }

    /// Adds an already decoded sample as is.
    pub fn sample(&mut self, sample: &Sample<'_>) -> &mut Self {
        sample.encode(&mut self.samples);
        self.num_samples += 1;
        self
    }

    /// Number of samples added so far.
    pub fn num_samples(&self) -> u32 {
        self.num_samples
    }

    /// Encoded size so far, in bytes (useful to keep datagrams under an MTU).
    pub fn len(&self) -> usize {
        // version + agent (up to 20) + sub agent + sequence + uptime + count
        4 + crate::xdr_address_len(&self.header.agent) + 16 + self.samples.len()
    }

    /// True if no sample was added.
    pub fn is_empty(&self) -> bool {
        self.num_samples == 0
    }

    /// The header fields (sequence number, uptime, ...) the datagram will carry.
    pub fn header_mut(&mut self) -> &mut DatagramHeader {
        &mut self.header
    }

    /// Removes every sample, keeping the allocation (for building datagram after datagram).
    pub fn clear(&mut self) {
        self.num_samples = 0;
        self.samples.clear();
    }

    /// The current end of the datagram, to return to with [`DatagramBuilder::rollback`].
    pub fn mark(&self) -> BuilderMark {
        BuilderMark {
            num_samples: self.num_samples,
            samples_len: self.samples.len(),
        }
    }

    /// Removes the samples added after `mark` was taken (e.g. one that made the datagram too
    /// large for the MTU). A mark from before a [`DatagramBuilder::clear`] removes nothing.
    pub fn rollback(&mut self, mark: BuilderMark) {
        if mark.num_samples <= self.num_samples && mark.samples_len <= self.samples.len() {
            self.num_samples = mark.num_samples;
            self.samples.truncate(mark.samples_len);
        }
    }

    /// Appends the datagram to `out`.
    pub fn encode(&self, out: &mut Vec<u8>) {
        self.header.encode(out);
        put_u32(out, self.num_samples);
        out.extend_from_slice(&self.samples);
    }

    /// The encoded datagram.
    pub fn finish(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.len());
        self.encode(&mut out);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Address, DataSource, Datagram, GenericInterfaceCounters};

    #[test]
    fn rollback_removes_the_samples_after_the_mark_and_clear_keeps_the_header() {
        let mut builder = DatagramBuilder::new(DatagramHeader {
            agent: Address::V4([10, 0, 0, 1].into()),
            sub_agent_id: 0,
            sequence_number: 1,
            uptime_ms: 5,
        });
        let info = CounterSampleInfo {
            expanded: false,
            sequence_number: 1,
            source_id: DataSource { class: 0, index: 3 },
        };
        let record = [CounterRecord::GenericInterface(GenericInterfaceCounters {
            if_index: 3,
            ..Default::default()
        })];
        builder.counter_sample(&info, &record);
        let one = builder.finish();
        let mark = builder.mark();
        builder.counter_sample(&info, &record);
        assert_eq!(builder.num_samples(), 2);
        builder.rollback(mark);
        assert_eq!(builder.finish(), one);
        builder.header_mut().sequence_number = 2;
        builder.clear();
        builder.rollback(mark); // a stale mark changes nothing
        assert!(builder.is_empty());
        builder.counter_sample(&info, &record);
        let datagram = builder.finish();
        let decoded = Datagram::decode(&datagram).unwrap();
        assert_eq!(decoded.header.sequence_number, 2);
        assert_eq!(decoded.num_samples(), 1);
        assert_eq!(datagram.len(), builder.len());
    }
}
