//! `rtflow replay`: sends the UDP payloads (sFlow datagrams) of a pcap / pcapng capture to a
//! collector, at the recorded pace (optionally sped up), as fast as possible, or at a fixed
//! rate, once, several times, or for a given duration.

use std::io::{self, Write};
use std::net::{Ipv4Addr, SocketAddr, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use rtflow_capture::SkipCounts;
use rtflow_net::{Pace, Pacer, saturating_secs, sender_for};
use rtflow_sflow::{
    Address, DataSource, Datagram, DatagramBuilder, DatagramHeader, SFLOW_PORT, Sample,
};

use super::fwd::resolve;

#[derive(clap::Args, Debug)]
pub(crate) struct ReplayArgs {
    /// Capture file (pcap or pcapng); `-` reads standard input.
    pub file: PathBuf,

    /// Where to send the datagrams: HOST:PORT, [IPv6]:PORT, or HOST (port 6343).
    #[arg(
        short,
        long,
        default_value_t = format!("127.0.0.1:{SFLOW_PORT}"),
        value_name = "HOST:PORT"
    )]
    pub target: String,

    /// Play at N times the recorded pace (inter-packet gaps divided by N).
    #[arg(long, value_name = "N", default_value_t = 1.0, conflicts_with_all = ["max", "rate"])]
    pub speed: f64,

    /// Ignore the recorded timing and send as fast as possible.
    #[arg(long)]
    pub max: bool,

    /// Send at this many datagrams per second, ignoring the recorded timing (implies --max).
    #[arg(long, value_name = "PPS")]
    pub rate: Option<f64>,

    /// Play the capture N times (0 = until --duration or forever). Default: once, or
    /// repeatedly until --duration when that is given.
    #[arg(long = "loop", value_name = "N")]
    pub loops: Option<u64>,

    /// Stop after this many seconds.
    #[arg(long, value_name = "SECS")]
    pub duration: Option<f64>,

    /// Only send datagrams whose UDP destination port is PORT (default: all).
    #[arg(long, value_name = "PORT")]
    pub port_filter: Option<u16>,

    /// Load testing: rewrite each sFlow v5 datagram's IPv4 agent address to one of N addresses in 10.0.0.0/8
    /// and every sample's data-source index to a random one, so a collector sees N spoofed agents with random
    /// data sources (send only to your own collector).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=16_777_216))]
    pub spoof_agents: Option<u32>,
}

#[derive(Debug)]
struct Plan {
    pace: Pace,
    /// `None` = repeat until the deadline (or forever).
    passes: Option<u64>,
    duration: Option<Duration>,
    port_filter: Option<u16>,
    spoof: Option<Spoofer>,
}

impl Plan {
    fn from_args(args: &ReplayArgs) -> anyhow::Result<Self> {
        let pace = match args.rate {
            Some(per_sec) if per_sec.is_finite() && per_sec > 0.0 => Pace::Rate { per_sec },
            Some(per_sec) => bail!("--rate must be a positive number, not {per_sec}"),
            None if args.max => Pace::AsFastAsPossible,
            None if args.speed.is_finite() && args.speed > 0.0 => {
                Pace::Recorded { speed: args.speed }
            }
            None => bail!("--speed must be a positive number, not {}", args.speed),
        };
        let duration = match args.duration {
            Some(secs) if secs.is_finite() && secs > 0.0 => Some(saturating_secs(secs)),
            Some(secs) => bail!("--duration must be a positive number of seconds, not {secs}"),
            None => None,
        };
        let passes = match (args.loops, duration) {
            (Some(0), _) => None,
            (Some(n), _) => Some(n),
            (None, Some(_)) => None,
            (None, None) => Some(1),
        };
        let from_stdin = args.file == Path::new("-");
        if from_stdin && args.loops.is_some_and(|n| n != 1) {
            bail!("--loop needs a file: standard input can only be read once");
        }
        Ok(Plan {
            pace,
            passes: if from_stdin { Some(1) } else { passes },
            duration,
            port_filter: args.port_filter,
            spoof: args.spoof_agents.map(Spoofer::new),
        })
    }
}

#[derive(Default)]
struct Totals {
    sent: u64,
    bytes: u64,
    filtered: u64,
    passes: u64,
    send_errors: u64,
    skipped: SkipCounts,
}

enum PassEnd {
    EndOfFile,
    Deadline,
}

pub(crate) fn run(args: ReplayArgs) -> anyhow::Result<ExitCode> {
    let mut plan = Plan::from_args(&args)?;
    let target = parse_target(&args.target)?;
    // A file that cannot be opened or is not a capture fails here, alone, not after a summary of nothing sent
    // (stdin can be read only once: its errors come with the summary).
    if args.file != Path::new("-") {
        super::capture_file::open(&args.file)?;
    }
    let socket = sender_for(target)?;
    let mut pacer = Pacer::new(plan.pace);
    // A deadline too far away for an `Instant` counts as none.
    let deadline = plan
        .duration
        .and_then(|duration| pacer.started().checked_add(duration));
    let mut totals = Totals::default();

    let mut outcome = Ok(());
    while plan.passes.is_none_or(|passes| totals.passes < passes) {
        totals.passes += 1;
        pacer.start_pass();
        let pass = Pass {
            socket: &socket,
            target,
            deadline,
        };
        match play_once(&args.file, &mut plan, &pass, &mut pacer, &mut totals) {
            Ok(PassEnd::EndOfFile) if totals.sent == 0 && plan.passes.is_none() => {
                // Looping over a capture with nothing to send would spin forever.
                outcome = Err(anyhow::anyhow!(
                    "{}: a whole pass sent nothing (no matching UDP datagram); not looping",
                    args.file.display()
                ));
                break;
            }
            Ok(PassEnd::EndOfFile) => {}
            Ok(PassEnd::Deadline) => break,
            Err(err) => {
                outcome = Err(err);
                break;
            }
        }
    }
    print_summary(&totals, target, pacer.started().elapsed(), plan.port_filter);
    outcome?;
    Ok(if totals.send_errors == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// Where a pass sends and until when.
struct Pass<'a> {
    socket: &'a UdpSocket,
    target: SocketAddr,
    deadline: Option<Instant>,
}

fn play_once(
    file: &Path,
    plan: &mut Plan,
    pass: &Pass<'_>,
    pacer: &mut Pacer,
    totals: &mut Totals,
) -> anyhow::Result<PassEnd> {
    let mut reader = super::capture_file::open(file)?;
    let result = loop {
        let datagram = match reader.next_datagram() {
            Ok(Some(datagram)) => datagram,
            Ok(None) => break Ok(PassEnd::EndOfFile),
            Err(err) => break Err(err).with_context(|| format!("reading {}", file.display())),
        };
        if plan
            .port_filter
            .is_some_and(|port| port != datagram.dst.port())
        {
            totals.filtered += 1;
            continue;
        }
        if !pacer.wait(datagram.timestamp.as_duration(), pass.deadline) {
            break Ok(PassEnd::Deadline);
        }
        let payload = match plan.spoof.as_mut() {
            Some(spoofer) => spoofer.rewrite(datagram.payload),
            None => datagram.payload,
        };
        match pass.socket.send_to(payload, pass.target) {
            Ok(_) => {
                totals.sent += 1;
                totals.bytes += datagram.payload.len() as u64;
            }
            Err(err) => {
                if totals.send_errors == 0 {
                    warn(format_args!("sending to {}: {err}", pass.target));
                }
                totals.send_errors += 1;
            }
        }
    };
    totals.skipped.add(reader.skip_counts());
    result
}

/// Rewrites datagrams to come from many spoofed agents with random data sources (`--spoof-agents`), through
/// the sFlow codec: decoded, the agent address and each flow and counter sample's data-source index replaced,
/// encoded again (records are copied as they were).
#[derive(Debug)]
struct Spoofer {
    agents: u32,
    random: rtflow_sim::Rng,
    buffer: Vec<u8>,
}

impl Spoofer {
    /// Fixed, so that a load test's flood is the same from run to run.
    const SEED: u64 = 0x5eed_0f5f_100d_5eed;

    fn new(agents: u32) -> Self {
        Self {
            agents,
            random: rtflow_sim::Rng::new(Self::SEED),
            buffer: Vec::new(),
        }
    }

    /// A random data-source index (16 bits, as many as a large switch's ports and VLANs).
    fn source(&mut self, source: DataSource) -> DataSource {
        DataSource {
            index: self.random.below(1 << 16) as u32,
            ..source
        }
    }

    /// The datagram from a spoofed agent; a datagram that is not sFlow v5 with an IPv4 agent, or with a sample
    /// that does not decode, is returned unchanged.
    fn rewrite<'a>(&'a mut self, payload: &'a [u8]) -> &'a [u8] {
        let Ok(datagram) = Datagram::decode(payload) else {
            return payload;
        };
        if !matches!(datagram.header.agent, Address::V4(_)) {
            return payload;
        }
        let agent = self.random.below(u64::from(self.agents)) as u32;
        let mut builder = DatagramBuilder::new(DatagramHeader {
            agent: Address::V4(Ipv4Addr::from(0x0a00_0000 | agent)),
            ..datagram.header
        });
        for sample in datagram.samples() {
            let sample = match sample {
                Ok(Sample::Flow(mut flow)) => {
                    flow.info.source_id = self.source(flow.info.source_id);
                    Sample::Flow(flow)
                }
                Ok(Sample::Counter(mut counter)) => {
                    counter.info.source_id = self.source(counter.info.source_id);
                    Sample::Counter(counter)
                }
                Ok(other) => other,
                Err(_) => return payload,
            };
            builder.sample(&sample);
        }
        self.buffer.clear();
        builder.encode(&mut self.buffer);
        &self.buffer
    }
}

/// HOST:PORT, [IPv6]:PORT, a bare IPv6 address, or HOST alone (default port).
pub(crate) fn parse_target(target: &str) -> anyhow::Result<SocketAddr> {
    if let Ok(addr) = target.parse::<SocketAddr>() {
        return Ok(addr);
    }
    if let Some((host, port)) = target.rsplit_once(':')
        && let Ok(port) = port.parse::<u16>()
        && !host.contains(':')
    {
        return resolve(host, port);
    }
    resolve(target, SFLOW_PORT)
        .with_context(|| format!("invalid --target {target:?}: expected HOST:PORT"))
}

fn warn(message: std::fmt::Arguments<'_>) {
    let _ = writeln!(io::stderr().lock(), "rtflow replay: {message}");
}

fn print_summary(totals: &Totals, target: SocketAddr, elapsed: Duration, port_filter: Option<u16>) {
    let secs = elapsed.as_secs_f64();
    let (rate, mbits) = if secs > 0.0 {
        (
            totals.sent as f64 / secs,
            totals.bytes as f64 * 8.0 / secs / 1e6,
        )
    } else {
        (0.0, 0.0)
    };
    let filtered = match port_filter {
        Some(port) => format!(
            "; {} datagrams not to port {port} filtered out",
            totals.filtered
        ),
        None => String::new(),
    };
    warn(format_args!(
        "sent {} datagrams ({} bytes) to {target} in {secs:.3} s ({rate:.0} datagrams/s, {mbits:.1} Mbit/s), \
         {} pass(es){filtered}; skipped packets: {}; send errors: {}",
        totals.sent, totals.bytes, totals.passes, totals.skipped, totals.send_errors
    ));
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Wrapper {
        #[command(flatten)]
        args: ReplayArgs,
    }

    fn plan(argv: &[&str]) -> anyhow::Result<Plan> {
        let wrapper =
            Wrapper::try_parse_from(std::iter::once("replay").chain(argv.iter().copied()))?;
        Plan::from_args(&wrapper.args)
    }

    #[test]
    fn plans() {
        let p = plan(&["f.pcap"]).unwrap();
        assert_eq!(
            (p.pace, p.passes, p.duration),
            (Pace::Recorded { speed: 1.0 }, Some(1), None)
        );
        let p = plan(&["f.pcap", "--speed", "2.5", "--loop", "3"]).unwrap();
        assert_eq!((p.pace, p.passes), (Pace::Recorded { speed: 2.5 }, Some(3)));
        let p = plan(&["f.pcap", "--max", "--rate", "100000", "--duration", "30"]).unwrap();
        assert_eq!(
            (p.pace, p.passes),
            (Pace::Rate { per_sec: 100_000.0 }, None)
        );
        assert_eq!(p.duration, Some(Duration::from_secs(30)));
        let p = plan(&["f.pcap", "--max", "--loop", "0", "--port-filter", "6343"]).unwrap();
        assert_eq!(
            (p.pace, p.passes, p.port_filter),
            (Pace::AsFastAsPossible, None, Some(6343))
        );
        assert!(plan(&["f.pcap", "--speed", "0"]).is_err());
        assert!(plan(&["f.pcap", "--rate", "-1"]).is_err());
        assert!(plan(&["f.pcap", "--max", "--speed", "2"]).is_err());
        assert!(plan(&["-", "--loop", "2"]).is_err());
        assert_eq!(plan(&["-", "--duration", "5"]).unwrap().passes, Some(1));
    }

    #[test]
    fn targets() {
        assert_eq!(
            parse_target("127.0.0.1:7000").unwrap(),
            "127.0.0.1:7000".parse().unwrap()
        );
        assert_eq!(
            parse_target("[::1]:7000").unwrap(),
            "[::1]:7000".parse().unwrap()
        );
        assert_eq!(parse_target("::1").unwrap(), "[::1]:6343".parse().unwrap());
        assert_eq!(
            parse_target("10.1.2.3").unwrap(),
            "10.1.2.3:6343".parse().unwrap()
        );
        assert!(parse_target("localhost:7000").unwrap().ip().is_loopback());
        assert!(parse_target("no-such-host.invalid:1").is_err());
    }

    #[test]
    fn out_of_range_times_do_not_panic() {
        // Each of these made Duration::from_secs_f64 / div_f64 panic.
        let p = plan(&["f.pcap", "--duration", "1e300"]).unwrap();
        assert_eq!((p.duration, p.passes), (Some(Duration::MAX), None));
        // (The pacer's own range checks are tested in rtflow-net.)
    }

    #[test]
    fn spoofing_rewrites_agent_and_source_indexes_but_keeps_types_and_lengths() {
        // Agent 192.0.2.1, then a flow sample 0:1 (source type 1, index 5), a counter sample 0:2 (type 0,
        // index 7) and an expanded flow sample 0:3 (type 2, index 9), without records.
        let flow = |expanded, class, index| rtflow_sflow::FlowSampleInfo {
            expanded,
            sequence_number: 11,
            source_id: DataSource { class, index },
            sampling_rate: 100,
            ..Default::default()
        };
        let mut builder = DatagramBuilder::new(DatagramHeader {
            agent: Address::V4(Ipv4Addr::new(192, 0, 2, 1)),
            sub_agent_id: 0,
            sequence_number: 1,
            uptime_ms: 0,
        });
        builder
            .flow_sample(&flow(false, 1, 5), &[])
            .counter_sample(
                &rtflow_sflow::CounterSampleInfo {
                    sequence_number: 12,
                    source_id: DataSource { class: 0, index: 7 },
                    ..Default::default()
                },
                &[],
            )
            .flow_sample(&flow(true, 2, 9), &[]);
        let original = builder.finish();
        let mut spoofer = Spoofer::new(1000);
        let rewritten = spoofer.rewrite(&original).to_vec();
        assert_eq!(rewritten.len(), original.len());
        assert_eq!(rewritten[8], 10, "agent moved into 10.0.0.0/8");
        let word = |at: usize| {
            rewritten
                .get(at..at + 4)
                .map_or(u32::MAX, |w| u32::from_be_bytes([w[0], w[1], w[2], w[3]]))
        };
        // Source ids: the flow sample's word at 40, the counter sample's at 80, the expanded sample's type
        // and index at 100 and 104.
        assert_eq!(word(40) >> 24, 1, "flow sample keeps its source type");
        assert_eq!(word(80) >> 24, 0, "counter sample keeps its source type");
        assert_eq!(word(100), 2, "expanded sample keeps its source type");
        assert!(word(40) & 0xff_ffff <= 0xffff && word(80) <= 0xffff && word(104) <= 0xffff);
        // Everything but the agent and the three indexes is untouched.
        for at in (0..original.len()).step_by(4) {
            if ![8, 40, 80, 104].contains(&at) {
                assert_eq!(rewritten[at..at + 4], original[at..at + 4], "word at {at}");
            }
        }
        // Not sFlow v5, or cut short: returned unchanged.
        assert_eq!(spoofer.rewrite(b"not sflow"), b"not sflow");
        let cut = &original[..44];
        assert_eq!(spoofer.rewrite(cut), cut);
    }

    #[test]
    fn spoofed_captures_still_decode_from_many_agents() -> anyhow::Result<()> {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/data/fabric.pcap");
        let mut reader = super::super::capture_file::open(&path)?;
        let mut spoofer = Spoofer::new(50);
        let mut agents = std::collections::BTreeSet::new();
        let mut decoded = 0;
        while let Some(datagram) = reader.next_datagram()? {
            let original = rtflow_sflow::Datagram::decode(datagram.payload)?;
            let spoofed = spoofer.rewrite(datagram.payload);
            let rewritten = rtflow_sflow::Datagram::decode(spoofed)?;
            let ok = |d: &rtflow_sflow::Datagram<'_>| d.samples().filter(Result::is_ok).count();
            assert_eq!(ok(&rewritten), ok(&original));
            assert_eq!(rewritten.samples().count(), original.samples().count());
            match rewritten.header.agent {
                rtflow_sflow::Address::V4(agent) => {
                    assert_eq!(agent.octets()[0], 10);
                    agents.insert(agent);
                }
                other => panic!("agent {other:?} is not IPv4"),
            }
            decoded += 1;
        }
        assert!(decoded > 50, "fabric.pcap has {decoded} datagrams");
        assert!(agents.len() > 25, "only {} distinct agents", agents.len());
        Ok(())
    }
}
