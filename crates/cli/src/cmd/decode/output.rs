//! Turns datagrams into output (formatted text/JSON/CSV, `-L` lines, or a pcap stream) and keeps
//! the counts. Forwarding (`-f`) happens here too, before decoding.

use std::fmt::{self, Write as _};
use std::io::{self, Write};
use std::net::SocketAddr;
use std::sync::Arc;

use rtflow_capture::{SkipCounts, Timestamp};
use rtflow_sflow::DecodeError;
use rtflow_sflowtool::{
    DatagramInfo, DatagramPcap, DatagramSink, FieldLines, Format, Formatter, HeaderSource,
    SampleCounts, SampledHeaderPcap, VlanFilter,
};

use super::forward::Forwarder;
use super::netflow::NetflowSender;

#[derive(Clone, Debug)]
pub(super) enum Mode {
    Formatted(Format),
    /// `-L`: the field list.
    Fields(FieldLines),
    /// `-t` / `-T`.
    HeaderPcap(HeaderSource),
    /// `-M`.
    DatagramPcap,
    /// `-f` or NetFlow export without an output option: print nothing (as sflowtool does).
    NoOutput,
}

pub(super) enum Progress {
    Continue,
    /// The `-c` limit was reached.
    Done,
}

/// One received datagram and where it came from.
pub(super) struct Input<'a> {
    pub(super) payload: &'a [u8],
    pub(super) info: DatagramInfo,
    pub(super) timestamp: Timestamp,
    /// UDP source and destination (for `-M` frames).
    pub(super) src: SocketAddr,
    pub(super) dst: SocketAddr,
}

/// Formatted output collects in `buf` across datagrams and goes to `out` in large writes once
/// it holds this much (or at [`Decoder::flush`], which live input calls per datagram).
const WRITE_BATCH_BYTES: usize = 1 << 18;

enum Sink<W: Write> {
    Text {
        writer: Box<dyn DatagramSink>,
        out: W,
        buf: Vec<u8>,
    },
    HeaderPcap(SampledHeaderPcap<W>),
    DatagramPcap(DatagramPcap<W>),
    Nothing(W),
}

#[derive(Default)]
struct Counts {
    datagrams: u64,
    decoded: u64,
    not_sflow: u64,
    malformed: u64,
    samples: SampleCounts,
    packets_written: u64,
}

/// Options that shape the output besides the mode.
pub(super) struct Options {
    /// `-x`: cut sampled headers at their transport payload (`-t`/`-T`).
    pub(super) remove_content: bool,
    pub(super) count: Option<u64>,
    pub(super) quiet: bool,
    pub(super) vlans: Option<Arc<VlanFilter>>,
    pub(super) forward: Option<Forwarder>,
    pub(super) netflow: Option<NetflowSender>,
}

pub(super) struct Decoder<W: Write> {
    sink: Sink<W>,
    limit: u64,
    quiet: bool,
    forward: Option<Forwarder>,
    netflow: Option<NetflowSender>,
    counts: Counts,
}

impl<W: Write> Decoder<W> {
    pub(super) fn new(mode: Mode, out: W, options: Options) -> io::Result<Self> {
        let text = |writer, out| Sink::Text {
            writer,
            out,
            buf: Vec::with_capacity(WRITE_BATCH_BYTES + (1 << 16)),
        };
        let sink = match mode {
            Mode::Formatted(format) => {
                let mut formatter = Formatter::new(format);
                if let Some(vlans) = &options.vlans {
                    formatter = formatter.with_vlan_filter(vlans.clone());
                }
                text(Box::new(formatter), out)
            }
            Mode::Fields(mut fields) => {
                if let Some(vlans) = &options.vlans {
                    fields = fields.with_vlan_filter(vlans.clone());
                }
                text(Box::new(fields), out)
            }
            Mode::HeaderPcap(source) => {
                let mut pcap = SampledHeaderPcap::for_source(out, source)?;
                if let Some(vlans) = &options.vlans {
                    pcap = pcap.with_vlan_filter(vlans.clone());
                }
                if options.remove_content {
                    pcap = pcap.without_payload();
                }
                Sink::HeaderPcap(pcap)
            }
            Mode::DatagramPcap => Sink::DatagramPcap(DatagramPcap::new(out)?),
            Mode::NoOutput => Sink::Nothing(out),
        };
        Ok(Decoder {
            sink,
            limit: options.count.unwrap_or(u64::MAX),
            quiet: options.quiet,
            forward: options.forward,
            netflow: options.netflow,
            counts: Counts::default(),
        })
    }

    /// Forwards, decodes and outputs one datagram; a decode failure is reported and counted, not
    /// returned.
    pub(super) fn handle(
        &mut self,
        input: &Input<'_>,
        origin: fmt::Arguments<'_>,
    ) -> io::Result<Progress> {
        self.counts.datagrams += 1;
        if let Some(forward) = &self.forward {
            forward.send(input.payload, self.quiet);
        }
        if let Some(netflow) = &mut self.netflow {
            netflow.export(input.payload, input.timestamp);
        }
        let left = self.limit - self.counts.packets_written;
        let result = match &mut self.sink {
            Sink::Text { writer, out, buf } => {
                // On a decode error the writers leave `buf` as it was.
                let result = writer.write_datagram(&input.info, input.payload, buf);
                if result.is_ok() {
                    self.counts.packets_written += 1;
                }
                if buf.len() >= WRITE_BATCH_BYTES {
                    out.write_all(buf)?;
                    buf.clear();
                }
                result
            }
            Sink::HeaderPcap(pcap) => {
                let known = pcap.skipped().len();
                let result = pcap
                    .write_payload(input.payload, input.timestamp, left)?
                    .map(|written| {
                        self.counts.packets_written += written.packets;
                        written.samples
                    });
                // Say once per header protocol that its records cannot be written.
                if !self.quiet {
                    for skipped in pcap.skipped().iter().skip(known) {
                        let _ = writeln!(
                            io::stderr().lock(),
                            "rtflow decode: sampled headers of header protocol {} ({}) are not \
                             written: no Ethernet encapsulation carries them (counted in the \
                             summary)",
                            skipped.protocol,
                            skipped.protocol_name(),
                        );
                    }
                }
                result
            }
            Sink::DatagramPcap(pcap) => {
                // Every datagram goes into the stream unchanged, sFlow or not; decoding only
                // counts (and reports) what it held.
                if let Err(err) =
                    pcap.write_datagram(input.src, input.dst, input.payload, input.timestamp)?
                {
                    self.report(
                        origin,
                        format_args!("not written to the pcap stream: {err}"),
                    );
                } else {
                    self.counts.packets_written += 1;
                }
                sample_counts(input.payload)
            }
            Sink::Nothing(_) => {
                self.counts.packets_written += 1;
                sample_counts(input.payload)
            }
        };
        match result {
            Ok(samples) => {
                self.counts.decoded += 1;
                self.counts.samples.add(&samples);
            }
            Err(DecodeError::NotSflowV5 { version }) => {
                // Text, JSON and -g printed sflowtool's header-only record for it.
                self.counts.not_sflow += 1;
                self.report(
                    origin,
                    format_args!("not an sFlow datagram (version word {version})"),
                );
            }
            Err(err) => {
                self.counts.malformed += 1;
                self.report(origin, format_args!("skipped: {err}"));
            }
        }
        Ok(if self.counts.packets_written >= self.limit {
            Progress::Done
        } else {
            Progress::Continue
        })
    }

    fn report(&self, origin: fmt::Arguments<'_>, what: fmt::Arguments<'_>) {
        if !self.quiet {
            let _ = writeln!(io::stderr().lock(), "rtflow decode: {origin}: {what}");
        }
    }

    pub(super) fn flush(&mut self) -> io::Result<()> {
        match &mut self.sink {
            Sink::Text { out, buf, .. } => {
                out.write_all(buf)?;
                buf.clear();
                out.flush()
            }
            Sink::HeaderPcap(pcap) => pcap.flush(),
            Sink::DatagramPcap(pcap) => pcap.flush(),
            Sink::Nothing(out) => out.flush(),
        }
    }

    pub(super) fn finish(&mut self) -> io::Result<()> {
        self.flush()
    }

    pub(super) fn report_summary(&self, input: &str, skipped: &SkipCounts) {
        let c = &self.counts;
        let s = &c.samples;
        let mut not_written = String::new();
        if let Sink::HeaderPcap(pcap) = &self.sink {
            for (i, h) in pcap.skipped().iter().enumerate() {
                let sep = if i == 0 {
                    "; sampled headers not written: "
                } else {
                    ", "
                };
                let _ = write!(
                    not_written,
                    "{sep}{} of header protocol {} ({})",
                    h.count,
                    h.protocol,
                    h.protocol_name()
                );
            }
        }
        let _ = writeln!(
            io::stderr().lock(),
            "rtflow decode: {input}: {} datagrams: {} decoded, {} not sFlow, {} malformed; \
             {} flow samples, {} counter samples, {} discard samples, {} other samples; \
             {} sampled headers{not_written}; frames without a UDP datagram: {skipped}",
            c.datagrams,
            c.decoded,
            c.not_sflow,
            c.malformed,
            s.flow_samples,
            s.counter_samples,
            s.discard_samples,
            s.other_samples,
            s.sampled_headers,
        );
    }
}

/// What a datagram holds, for the summary of the modes that do not format it: the CSV writer
/// validates and counts every sample and record; its lines are thrown away.
fn sample_counts(payload: &[u8]) -> Result<SampleCounts, DecodeError> {
    let mut scratch = Vec::new();
    Formatter::new(Format::Csv).write_datagram(&DatagramInfo::default(), payload, &mut scratch)
}
