//! Turns datagrams into output (formatted text/JSON/CSV or a pcap stream) and keeps the counts.

use std::fmt;
use std::io::{self, Write};

use rtflow_capture::{SkipCounts, Timestamp};
use rtflow_sflow::{Datagram, DecodeError};
use rtflow_sflowtool::{DatagramInfo, Format, Formatter, SampleCounts, SampledHeaderPcap};

#[derive(Clone, Copy, Debug)]
pub(super) enum Mode {
    Formatted(Format),
    Pcap,
}

pub(super) enum Progress {
    Continue,
    /// The `-c` limit was reached.
    Done,
}

/// Formatted output collects in `buf` across datagrams and goes to `out` in large writes once
/// it holds this much (or at [`Decoder::flush`], which live input calls per datagram).
const WRITE_BATCH_BYTES: usize = 1 << 18;

enum Sink<W: Write> {
    Formatted {
        formatter: Formatter,
        out: W,
        buf: Vec<u8>,
    },
    Pcap(SampledHeaderPcap<W>),
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

pub(super) struct Decoder<W: Write> {
    sink: Sink<W>,
    limit: u64,
    quiet: bool,
    counts: Counts,
}

impl<W: Write> Decoder<W> {
    pub(super) fn new(mode: Mode, out: W, count: Option<u64>, quiet: bool) -> io::Result<Self> {
        let sink = match mode {
            Mode::Formatted(format) => Sink::Formatted {
                formatter: Formatter::new(format),
                out,
                buf: Vec::with_capacity(WRITE_BATCH_BYTES + (1 << 16)),
            },
            Mode::Pcap => Sink::Pcap(SampledHeaderPcap::new(out)?),
        };
        Ok(Decoder {
            sink,
            limit: count.unwrap_or(u64::MAX),
            quiet,
            counts: Counts::default(),
        })
    }

    /// Decodes and outputs one datagram; a decode failure is reported and counted, not returned.
    pub(super) fn handle(
        &mut self,
        payload: &[u8],
        info: &DatagramInfo,
        timestamp: Timestamp,
        origin: fmt::Arguments<'_>,
    ) -> io::Result<Progress> {
        self.counts.datagrams += 1;
        let result = match &mut self.sink {
            Sink::Formatted {
                formatter,
                out,
                buf,
            } => {
                // On a decode error `write_datagram` leaves `buf` as it was.
                let result = formatter.write_datagram(info, payload, buf);
                if result.is_ok() {
                    self.counts.packets_written += 1;
                }
                if buf.len() >= WRITE_BATCH_BYTES {
                    out.write_all(buf)?;
                    buf.clear();
                }
                result
            }
            Sink::Pcap(pcap) => match Datagram::decode(payload) {
                Ok(datagram) => {
                    let left = self.limit - self.counts.packets_written;
                    pcap.write_datagram(&datagram, timestamp, left)?
                        .map(|written| {
                            self.counts.packets_written += written.packets;
                            written.samples
                        })
                }
                Err(err) => Err(err),
            },
        };
        match result {
            Ok(samples) => {
                self.counts.decoded += 1;
                self.counts.samples.add(&samples);
            }
            Err(err) => {
                if matches!(err, DecodeError::NotSflowV5 { .. }) {
                    self.counts.not_sflow += 1;
                } else {
                    self.counts.malformed += 1;
                }
                if !self.quiet {
                    let _ = writeln!(
                        io::stderr().lock(),
                        "rtflow decode: {origin}: skipped: {err}"
                    );
                }
            }
        }
        Ok(if self.counts.packets_written >= self.limit {
            Progress::Done
        } else {
            Progress::Continue
        })
    }

    pub(super) fn flush(&mut self) -> io::Result<()> {
        match &mut self.sink {
            Sink::Formatted { out, buf, .. } => {
                out.write_all(buf)?;
                buf.clear();
                out.flush()
            }
            Sink::Pcap(pcap) => pcap.flush(),
        }
    }

    pub(super) fn finish(&mut self) -> io::Result<()> {
        self.flush()
    }

    pub(super) fn report_summary(&self, input: &str, skipped: &SkipCounts) {
        let c = &self.counts;
        let s = &c.samples;
        let _ = writeln!(
            io::stderr().lock(),
            "rtflow decode: {input}: {} datagrams: {} decoded, {} not sFlow v5, {} malformed; \
             {} flow samples, {} counter samples, {} discard samples, {} other samples; \
             {} sampled headers; frames without a UDP datagram: {skipped}",
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
