//! `rtflow decode`: sflowtool-compatible decoding of sFlow (v5, and v2/v4 as sflowtool prints
//! them) from UDP or a pcap/pcapng file into text, JSON (`-j`/`-J`), CSV (`-l`, `-L`),
//! grep-friendly lines (`-g`), HTTP common log format lines (`-H`) or a pcap stream of the sampled
//! headers (`-t`), of the dropped packets' headers (`-T`) or of the datagrams (`-M`); with
//! forwarding of the raw datagrams (`-f`), NetFlow v5/v9 export (`-c HOST -d PORT`), VLAN
//! filters (`-V`/`-v`) and file playback pacing (`-P`).
//!
//! Datagrams that fail to decode are reported on stderr (with the byte offset of the fault),
//! counted and skipped; decoding goes on. The exit code is non-zero only when the input cannot be
//! opened or read (or the output cannot be written, except a closed pipe, which ends quietly).

mod forward;
mod live;
mod netflow;
mod output;
mod pace;
mod sampler;

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context, bail};
use rtflow_net::Pacer;
use rtflow_sflowtool::{
    DatagramInfo, FieldLines, Format, HeaderSource, NetflowOptions, NetflowVersion, VlanFilter,
};

use forward::Forwarder;
use netflow::{CountOrHost, NetflowSender};
use output::{Decoder, Input, Mode, Options, Progress};

#[derive(clap::Args, Debug)]
pub(crate) struct DecodeArgs {
    /// UDP port to listen on (0 picks a free port, reported on stderr).
    #[arg(short = 'p', long, default_value_t = rtflow_sflow::SFLOW_PORT)]
    pub port: u16,

    /// Read sFlow datagrams from a pcap or pcapng file instead of listening (`-` = stdin).
    #[arg(short = 'r', long = "read", value_name = "FILE")]
    pub read: Option<PathBuf>,

    /// One compact JSON object per datagram per line.
    #[arg(short = 'j', group = "format")]
    pub json: bool,

    /// Pretty-printed JSON.
    #[arg(short = 'J', group = "format")]
    pub json_pretty: bool,

    /// CSV lines: FLOW per flow sample, CNTR per counter sample.
    #[arg(short = 'l', group = "format")]
    pub csv: bool,

    /// CSV line per sample of only these fields, in this order (text output names, e.g.
    /// srcIP,dstIP,TCPDstPort); absent fields stay empty, samples without any give no line.
    #[arg(short = 'L', long = "fields", value_name = "FIELDS", group = "format",
          value_parser = parse_field_list)]
    pub fields: Option<FieldLines>,

    /// HTTP common log format: one line per flow sample with an HTTP request record (0:2201/0:2206),
    /// the client taken from its extended socket record; times are the datagram's, in UTC.
    #[arg(short = 'H', group = "format")]
    pub http_log: bool,

    /// Grep-friendly text: every line prefixed with `time agent subAgentId datagramSequenceNo
    /// sourceClass:sourceIndex sampleTag elementTag`.
    #[arg(short = 'g', long = "grep", group = "format")]
    pub grep: bool,

    /// A libpcap stream (Ethernet) of the sampled packet headers, for tcpdump/tshark.
    #[arg(short = 't', group = "format")]
    pub pcap: bool,

    /// A libpcap stream (Ethernet) of the dropped packets' headers in discard samples.
    #[arg(short = 'T', group = "format")]
    pub discard_pcap: bool,

    /// A libpcap stream of the sFlow datagrams themselves, unchanged, as Ethernet/IP/UDP frames.
    #[arg(short = 'M', group = "format")]
    pub datagram_pcap: bool,

    /// Forward every received datagram unchanged to HOST/PORT over UDP (repeatable). Without an
    /// output option nothing is printed (as in sflowtool); with one, decoding goes on too.
    #[arg(short = 'f', long = "forward", value_name = "HOST/PORT", value_parser = forward::parse_target)]
    pub forward: Vec<SocketAddr>,

    /// Keep only flow/discard samples whose input or output VLAN is in VLANS (e.g. 0-20,4091;
    /// untagged samples are VLAN 0). Applies to -l, -L, -H, -t and -T, as in sflowtool.
    #[arg(short = 'V', long = "include-vlans", value_name = "VLANS", value_parser = parse_vlan_list)]
    pub include_vlans: Vec<String>,

    /// Drop flow/discard samples whose input and output VLANs are both in VLANS (a sample
    /// without an extended switch record has output VLAN 0: list 0 too to drop it). Applies to
    /// -l, -L, -H, -t and -T, as in sflowtool.
    #[arg(short = 'v', long = "exclude-vlans", value_name = "VLANS", value_parser = parse_vlan_list)]
    pub exclude_vlans: Vec<String>,

    /// With -r: the file holds raw packets; sample them 1 in N into sFlow datagrams (an sFlow
    /// agent simulator, sflowtool's -R), which go to the -f targets and any output option.
    #[arg(short = 'R', long = "sample", value_name = "N", requires = "read",
          value_parser = clap::value_parser!(u32).range(1..))]
    pub sample_rate: Option<u32>,

    /// Playback speed with -r: 1 = the recorded pace, 0.1 = ten times slower, 10 = ten times
    /// faster, 100 or more = as fast as possible (the default without -P).
    #[arg(short = 'P', long = "playback", value_name = "SPEED", requires = "read",
          value_parser = pace::parse_speed)]
    pub playback: Option<f64>,

    /// Keep going on errors (accepted for sflowtool compatibility; rtflow always does: bad
    /// datagrams are reported and skipped).
    #[arg(short = 'k', long = "keep-going")]
    pub keep_going: bool,

    /// Write the output to FILE instead of stdout.
    #[arg(short = 'w', long = "write", value_name = "FILE")]
    pub write: Option<PathBuf>,

    /// A number: stop after COUNT packets with -t/-T/-M (like tcpdump), after COUNT datagrams
    /// otherwise. An address or host name: send NetFlow to that collector (with -d PORT), as
    /// sflowtool's -c does. Both may be given.
    #[arg(short = 'c', long = "count", value_name = "COUNT|HOST",
          value_parser = netflow::parse_count_or_host)]
    pub count_or_collector: Vec<CountOrHost>,

    /// NetFlow collector UDP port (with -c HOST).
    #[arg(short = 'd', long = "netflow-port", value_name = "PORT")]
    pub netflow_port: Option<u16>,

    /// NetFlow: the peer ASes of the extended gateway record instead of the source and
    /// destination ASes.
    #[arg(short = 'e', long = "netflow-peer-as")]
    pub netflow_peer_as: bool,

    /// NetFlow: do not scale packets and bytes by the sampling rate (send the rate instead).
    #[arg(short = 's', long = "no-scaling")]
    pub netflow_no_scaling: bool,

    /// NetFlow: send each packet from the sFlow agent's address (raw socket: root or
    /// CAP_NET_RAW; IPv4 agents and collectors).
    #[arg(short = 'S', long = "netflow-spoof-source")]
    pub netflow_spoof: bool,

    /// NetFlow version, 5 or 9 (default 5; 9 also exports IPv6 flows).
    #[arg(short = 'N', long = "netflow-version", value_name = "5|9",
          value_parser = netflow::parse_version)]
    pub netflow_version: Option<NetflowVersion>,

    /// Listen on IPv4 only (the last of -4, -6 and -A counts, as in sflowtool).
    #[arg(short = '4', overrides_with_all = ["ipv6_only", "dual_stack"])]
    pub ipv4_only: bool,

    /// Listen on IPv6 only.
    #[arg(short = '6', overrides_with_all = ["ipv4_only", "dual_stack"])]
    pub ipv6_only: bool,

    /// Listen on IPv4 and IPv6 (the default; sflowtool's -A).
    #[arg(short = 'A', overrides_with_all = ["ipv4_only", "ipv6_only"])]
    pub dual_stack: bool,

    /// Listen on this local address only (e.g. 127.0.0.1 or ::1) instead of every address.
    #[arg(short = 'b', long = "bind", value_name = "ADDRESS")]
    pub bind: Option<std::net::IpAddr>,

    /// With -t/-T: cut each sampled header where its transport payload starts (after the TCP
    /// or UDP header), so no packet content is written (sflowtool's -x).
    #[arg(short = 'x', long = "remove-content")]
    pub remove_content: bool,

    /// Accepted for sflowtool compatibility: rtflow always resolves host names (-f, -c), which
    /// sflowtool only does with -D.
    #[arg(short = 'D', long = "allow-dns")]
    pub allow_dns: bool,

    /// Print help (as -h; sflowtool's -?).
    #[arg(short = '?', action = clap::ArgAction::Help)]
    pub usage: Option<bool>,

    /// Do not report bad datagrams and the end-of-file summary on stderr.
    #[arg(short = 'q', long)]
    pub quiet: bool,
}

fn parse_field_list(text: &str) -> Result<FieldLines, String> {
    FieldLines::new(text).map_err(|err| err.to_string())
}

fn parse_vlan_list(text: &str) -> Result<String, String> {
    VlanFilter::new(&[text.to_string()], &[])
        .map(|_| text.to_string())
        .map_err(|err| err.to_string())
}

impl DecodeArgs {
    /// `-c COUNT`.
    fn count(&self) -> anyhow::Result<Option<u64>> {
        let mut counts = self.count_or_collector.iter().filter_map(|c| match c {
            CountOrHost::Count(n) => Some(*n),
            CountOrHost::Host(_) => None,
        });
        let count = counts.next();
        if counts.next().is_some() {
            bail!("-c COUNT is given more than once");
        }
        Ok(count)
    }

    /// `-c HOST`.
    fn collector(&self) -> Option<&str> {
        self.count_or_collector.iter().find_map(|c| match c {
            CountOrHost::Host(host) => Some(host.as_str()),
            CountOrHost::Count(_) => None,
        })
    }

    /// The NetFlow export of `-c HOST -d PORT [-e] [-s] [-S] [-N 5|9]`, if asked for.
    fn netflow(&self, vlans: Option<Arc<VlanFilter>>) -> anyhow::Result<Option<NetflowSender>> {
        let hosts = self
            .count_or_collector
            .iter()
            .filter(|c| matches!(c, CountOrHost::Host(_)))
            .count();
        if hosts > 1 {
            bail!("-c HOST: one NetFlow collector only (sflowtool sends to one)");
        }
        let (host, port) = match (self.collector(), self.netflow_port) {
            (Some(host), Some(port)) => (host, port),
            (Some(host), None) => {
                bail!("-c {host} sends NetFlow to {host}: give its UDP port with -d PORT")
            }
            (None, Some(_)) => bail!("-d PORT is the NetFlow collector's port: give -c HOST too"),
            (None, None) => {
                let netflow_only = [
                    (self.netflow_peer_as, "-e"),
                    (self.netflow_no_scaling, "-s"),
                    (self.netflow_spoof, "-S"),
                    (self.netflow_version.is_some(), "-N"),
                ];
                if let Some((_, option)) = netflow_only.iter().find(|(given, _)| *given) {
                    bail!("{option} is a NetFlow export option: give -c HOST -d PORT too");
                }
                return Ok(None);
            }
        };
        let options = NetflowOptions {
            version: self.netflow_version.unwrap_or(NetflowVersion::V5),
            peer_as: self.netflow_peer_as,
            scale: !self.netflow_no_scaling,
        };
        let collector = netflow::collector(host, port)?;
        NetflowSender::new(collector, options, self.netflow_spoof, vlans, self.quiet).map(Some)
    }

    fn mode(&self) -> Mode {
        if let Some(fields) = &self.fields {
            Mode::Fields(fields.clone())
        } else if self.pcap {
            Mode::HeaderPcap(HeaderSource::FlowSamples)
        } else if self.discard_pcap {
            Mode::HeaderPcap(HeaderSource::DiscardSamples)
        } else if self.datagram_pcap {
            Mode::DatagramPcap
        } else if self.json {
            Mode::Formatted(Format::Json)
        } else if self.json_pretty {
            Mode::Formatted(Format::JsonPretty)
        } else if self.csv {
            Mode::Formatted(Format::Csv)
        } else if self.grep {
            Mode::Formatted(Format::Grep)
        } else if self.http_log {
            Mode::Formatted(Format::Clf)
        } else if !self.forward.is_empty() || self.collector().is_some() {
            Mode::NoOutput
        } else {
            Mode::Formatted(Format::Text)
        }
    }

    /// The `-V`/`-v` filter, if any. Output modes that print whole datagrams ignore it, as
    /// sflowtool does, with a warning.
    fn vlan_filter(&self, mode: &Mode) -> anyhow::Result<Option<Arc<VlanFilter>>> {
        if self.include_vlans.is_empty() && self.exclude_vlans.is_empty() {
            return Ok(None);
        }
        let filters = matches!(
            mode,
            Mode::Formatted(Format::Csv | Format::Clf) | Mode::Fields(_) | Mode::HeaderPcap(_)
        ) || self.collector().is_some();
        if !filters {
            if !self.quiet {
                let _ = writeln!(
                    io::stderr().lock(),
                    "rtflow decode: warning: -V/-v ignored: they filter the per-sample outputs \
                     -l, -L, -H, -t, -T and NetFlow export (as in sflowtool); text, JSON, -g \
                     and -M print every sample"
                );
            }
            return Ok(None);
        }
        let filter =
            VlanFilter::new(&self.include_vlans, &self.exclude_vlans).context("-V/-v VLAN list")?;
        Ok(Some(Arc::new(filter)))
    }
}

pub(crate) fn run(args: DecodeArgs) -> anyhow::Result<ExitCode> {
    let out: Box<dyn Write> = match &args.write {
        Some(path) => {
            Box::new(File::create(path).with_context(|| format!("creating {}", path.display()))?)
        }
        None => Box::new(io::stdout().lock()),
    };
    let out = BufWriter::with_capacity(1 << 16, out);
    let mode = args.mode();
    let vlans = args.vlan_filter(&mode)?;
    let options = Options {
        remove_content: args.remove_content,
        count: args.count()?,
        quiet: args.quiet,
        netflow: args.netflow(vlans.clone())?,
        vlans,
        forward: match args.forward.is_empty() {
            true => None,
            false => Some(Forwarder::new(&args.forward)?),
        },
    };
    let decoder = match Decoder::new(mode, out, options) {
        Ok(decoder) => decoder,
        Err(err) if err.kind() == io::ErrorKind::BrokenPipe => return Ok(ExitCode::SUCCESS),
        Err(err) => return Err(err).context("writing the pcap header"),
    };
    let pacer = args.playback.map(pace::pacer);
    match (&args.read, args.sample_rate) {
        (Some(path), Some(rate)) => sample_file(path, rate, decoder, args.quiet, pacer),
        (Some(path), None) => read_file(path, decoder, args.quiet, pacer),
        (None, _) => live::listen(&args, decoder),
    }
}

/// An input error's message with each cause once: `cannot open FILE: No such file or directory
/// (os error 2)` (error types that print their source would otherwise show it twice).
fn each_cause_once(err: &rtflow_capture::CaptureError) -> String {
    let mut message = err.to_string();
    let mut cause = std::error::Error::source(err);
    while let Some(source) = cause {
        let text = source.to_string();
        if !message.contains(&text) {
            message.push_str(": ");
            message.push_str(&text);
        }
        cause = source.source();
    }
    message
}

fn read_file(
    path: &std::path::Path,
    mut decoder: Decoder<impl Write>,
    quiet: bool,
    mut pacer: Option<Pacer>,
) -> anyhow::Result<ExitCode> {
    let mut reader = super::capture_file::open(path)?;
    let name = path.display().to_string();
    let mut index = 0u64;
    loop {
        let datagram = match reader.next_datagram() {
            Ok(Some(datagram)) => datagram,
            Ok(None) => break,
            Err(err) => {
                // Report what was decoded before the read error.
                let _ = decoder.finish();
                if !quiet {
                    decoder.report_summary(&name, reader.skip_counts());
                }
                bail!("reading {name}: {}", each_cause_once(&err));
            }
        };
        index += 1;
        if let Some(pacer) = &mut pacer {
            pacer.wait(datagram.timestamp.as_duration(), None);
        }
        let input = Input {
            payload: datagram.payload,
            info: DatagramInfo {
                source: None,
                received: None,
                pcap_timestamp: Some(datagram.timestamp),
            },
            timestamp: datagram.timestamp,
            src: datagram.src,
            dst: datagram.dst,
        };
        let origin = format_args!("{name} datagram #{index} ({})", datagram.src);
        match deliver(&mut decoder, &input, origin)? {
            Flow::Continue => {}
            Flow::Done => break,
            Flow::PipeClosed => return Ok(ExitCode::SUCCESS),
        }
    }
    end_of_input(&mut decoder, quiet, &name, reader.skip_counts())
}

/// `-R N`: samples the packets of a raw capture into sFlow datagrams (see [`sampler`]), which
/// then go where read datagrams go.
fn sample_file(
    path: &std::path::Path,
    rate: u32,
    mut decoder: Decoder<impl Write>,
    quiet: bool,
    mut pacer: Option<Pacer>,
) -> anyhow::Result<ExitCode> {
    let mut reader = super::capture_file::open(path)?;
    let name = path.display().to_string();
    let mut sampler = sampler::Sampler::new(rate);
    // The agent simulator's datagrams come from 0.0.0.0 to the sFlow port.
    let (src, dst): (SocketAddr, SocketAddr) = (
        (std::net::Ipv4Addr::UNSPECIFIED, 0).into(),
        (std::net::Ipv4Addr::UNSPECIFIED, rtflow_sflow::SFLOW_PORT).into(),
    );
    let mut deliver_made = |decoder: &mut Decoder<_>, made: sampler::Made, index: u64| {
        if let Some(pacer) = &mut pacer {
            pacer.wait(made.timestamp.as_duration(), None);
        }
        let input = Input {
            payload: &made.payload,
            info: DatagramInfo {
                source: None,
                received: None,
                pcap_timestamp: Some(made.timestamp),
            },
            timestamp: made.timestamp,
            src,
            dst,
        };
        deliver(
            decoder,
            &input,
            format_args!("{name} sampled datagram #{index}"),
        )
    };
    let mut flow = Flow::Continue;
    while let Flow::Continue = flow {
        let made = match reader.next_packet() {
            Ok(Some(packet)) => sampler.packet(&packet),
            // The end of the capture sends what was sampled last.
            Ok(None) => match sampler.flush() {
                Some(made) => Some(made),
                None => break,
            },
            Err(err) => {
                let _ = decoder.finish();
                bail!("reading {name}: {}", each_cause_once(&err));
            }
        };
        if let Some(made) = made {
            let index = sampler.counts().datagrams;
            flow = deliver_made(&mut decoder, made, index)?;
        }
    }
    if let Flow::PipeClosed = flow {
        return Ok(ExitCode::SUCCESS);
    }
    if !quiet {
        let counts = sampler.counts();
        let mut unsupported = String::new();
        for (link_type, packets) in &counts.unsupported {
            use std::fmt::Write as _;
            let _ = write!(
                unsupported,
                "; {packets} frames of link type {} not sampled (no sFlow header protocol)",
                link_type.0
            );
        }
        let _ = writeln!(
            io::stderr().lock(),
            "rtflow decode: {name}: sampled 1 in {rate}: {} packets, {} samples in {} datagrams{unsupported}",
            counts.packets,
            counts.samples,
            counts.datagrams,
        );
    }
    end_of_input(&mut decoder, quiet, &name, reader.skip_counts())
}

/// What the run does after a datagram.
enum Flow {
    Continue,
    /// `-c` reached: stop reading, finish as at the end of the input.
    Done,
    /// The output pipe closed: end quietly.
    PipeClosed,
}

/// Hands one datagram to the decoder.
fn deliver(
    decoder: &mut Decoder<impl Write>,
    input: &Input<'_>,
    origin: std::fmt::Arguments<'_>,
) -> anyhow::Result<Flow> {
    match decoder.handle(input, origin) {
        Ok(Progress::Continue) => Ok(Flow::Continue),
        Ok(Progress::Done) => Ok(Flow::Done),
        Err(err) if err.kind() == io::ErrorKind::BrokenPipe => Ok(Flow::PipeClosed),
        Err(err) => Err(err).context("writing output"),
    }
}

fn ignore_closed_pipe(err: io::Error) -> io::Result<()> {
    match err.kind() {
        io::ErrorKind::BrokenPipe => Ok(()),
        _ => Err(err),
    }
}

/// Flushes the output and prints the summary (unless `-q`).
fn end_of_input(
    decoder: &mut Decoder<impl Write>,
    quiet: bool,
    name: &str,
    skipped: &rtflow_capture::SkipCounts,
) -> anyhow::Result<ExitCode> {
    decoder
        .finish()
        .or_else(ignore_closed_pipe)
        .context("writing output")?;
    if !quiet {
        decoder.report_summary(name, skipped);
    }
    Ok(ExitCode::SUCCESS)
}
