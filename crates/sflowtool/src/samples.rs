//! The one loop over a datagram's samples. Each per-sample output (text, JSON and `-g` in
//! `datagram.rs` / `legacy.rs`, `-l` CSV in `csv.rs`, `-H` in `clf.rs`, and the validation of
//! the pcap streams) is a [`SampleSink`]; [`walk_samples`] decodes the samples in order, hands
//! each to the sink and counts what the datagram held. A new per-sample format implements the
//! sample kinds it prints; the defaults decode (and so validate) and count the rest.

use rtflow_sflow::{
    CounterSample, Datagram, DecodeError, DiscardSample, FlowRecord, FlowSample,
    LegacyCounterSample, LegacyDatagram, LegacyFlowSample, LegacyRecord, LegacySample, Opaque,
    Sample, Tag,
};

use crate::datagram::{Payload, SampleCounts};

/// What an output does with each sample of a datagram.
pub(crate) trait SampleSink {
    /// Before a sample: its place in the datagram (from 1) and its type.
    fn begin_sample(&mut self, _index: u32, _tag: Tag) {}

    /// After a sample that decoded completely.
    fn end_sample(&mut self) {}

    /// A flow sample (0:1, 0:3); returns its number of sampled header records.
    fn flow_sample(&mut self, sample: &FlowSample<'_>) -> Result<u64, DecodeError> {
        let mut headers = 0;
        for record in sample.records() {
            if matches!(record?, FlowRecord::SampledHeader(_)) {
                headers += 1;
            }
        }
        Ok(headers)
    }

    /// A counter sample (0:2, 0:4).
    fn counter_sample(&mut self, sample: &CounterSample<'_>) -> Result<(), DecodeError> {
        sample.records().try_for_each(|record| record.map(drop))
    }

    /// A discard sample (0:5).
    fn discard_sample(&mut self, sample: &DiscardSample<'_>) -> Result<(), DecodeError> {
        sample.records().try_for_each(|record| record.map(drop))
    }

    /// A sample of a type sFlow v5 does not define here.
    fn other_sample(&mut self, _sample: &Opaque<'_>) {}

    /// An sFlow v2/v4 flow sample; returns its number of sampled headers (0 or 1).
    fn legacy_flow_sample(&mut self, sample: &LegacyFlowSample<'_>) -> u64 {
        u64::from(matches!(sample.packet, LegacyRecord::Header(_)))
    }

    /// An sFlow v2/v4 counters sample.
    fn legacy_counter_sample(&mut self, _sample: &LegacyCounterSample) {}
}

/// Hands every sample of an sFlow v5 datagram to `sink`, in order; stops at the first decode
/// error.
pub(crate) fn walk_samples(
    datagram: &Datagram<'_>,
    sink: &mut impl SampleSink,
) -> Result<SampleCounts, DecodeError> {
    let mut counts = SampleCounts::default();
    for (index, sample) in (1..).zip(datagram.samples()) {
        let sample = sample?;
        sink.begin_sample(index, sample.tag());
        match &sample {
            Sample::Flow(s) => {
                counts.flow_samples += 1;
                counts.sampled_headers += sink.flow_sample(s)?;
            }
            Sample::Counter(s) => {
                counts.counter_samples += 1;
                sink.counter_sample(s)?;
            }
            Sample::Discard(s) => {
                counts.discard_samples += 1;
                sink.discard_sample(s)?;
            }
            Sample::Unknown(opaque) => {
                counts.other_samples += 1;
                sink.other_sample(opaque);
            }
        }
        sink.end_sample();
    }
    Ok(counts)
}

/// [`walk_samples`] for an sFlow v2/v4 datagram.
pub(crate) fn walk_legacy_samples(
    datagram: &LegacyDatagram<'_>,
    sink: &mut impl SampleSink,
) -> Result<SampleCounts, DecodeError> {
    let mut counts = SampleCounts::default();
    for (index, sample) in (1..).zip(datagram.samples()) {
        let sample = sample?;
        sink.begin_sample(index, sample.tag());
        match &sample {
            LegacySample::Flow(s) => {
                counts.flow_samples += 1;
                counts.sampled_headers += sink.legacy_flow_sample(s);
            }
            LegacySample::Counter(s) => {
                counts.counter_samples += 1;
                sink.legacy_counter_sample(s);
            }
        }
        sink.end_sample();
    }
    Ok(counts)
}

/// [`walk_samples`] for a datagram of any version.
pub(crate) fn walk_payload(
    payload: &Payload<'_>,
    sink: &mut impl SampleSink,
) -> Result<SampleCounts, DecodeError> {
    match payload {
        Payload::V5(datagram) => walk_samples(datagram, sink),
        Payload::Legacy(datagram) => walk_legacy_samples(datagram, sink),
    }
}

/// Decodes every sample and record and counts them, printing nothing (for outputs that print
/// nothing of a datagram, and to reject a malformed one before anything is written).
pub(crate) struct Validate;

impl SampleSink for Validate {}
