//! `rtflow simulate`: runs a network scenario (`rtflow-sim`) and exports its sFlow to a collector
//! over UDP, into a pcap/pcapng file, or both; or prints the scenario's topology or hosts.

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{Context, bail};
use rtflow_capture::{LinkType, PcapWriter, PcapngWriter, Timestamp, build_udp_frame_into};
use rtflow_net::{Pace, Pacer, sender_for};
use rtflow_sim::{DEFAULT_SCENARIO, Scenario, ScenarioFormat, Simulator};

use super::replay::parse_target;

/// Capture timestamps start here unless `--start-time` says otherwise (2026-01-01T00:00:00Z), so
/// that the same seed writes the same file.
const DEFAULT_START_TIME: u64 = 1_767_225_600;

#[derive(clap::Args, Debug)]
pub(crate) struct SimulateArgs {
    /// Scenario file (TOML, or YAML when it ends in .yaml/.yml; see scenarios/README.md). Default:
    /// the built-in leaf-spine scenario.
    #[arg(short, long, value_name = "FILE")]
    pub scenario: Option<PathBuf>,

    /// Seed of every random choice: the same seed gives the same datagrams [default: the scenario's].
    #[arg(long, value_name = "N")]
    pub seed: Option<u64>,

    /// Simulated seconds to run [default: the scenario's `duration`; 0 = until stopped].
    #[arg(short, long, value_name = "SECS")]
    pub duration: Option<f64>,

    /// Send the datagrams over UDP to this collector (HOST:PORT, [IPv6]:PORT, or HOST for port
    /// 6343) [default: 127.0.0.1:6343 unless -w is given].
    #[arg(short, long, value_name = "HOST:PORT")]
    pub target: Option<String>,

    /// Write the datagrams, in Ethernet/IP/UDP frames from each agent, to this capture file:
    /// pcapng when it ends in .pcapng, else pcap. Needs a finite duration.
    #[arg(short = 'w', long = "write", value_name = "FILE")]
    pub write: Option<PathBuf>,

    /// Run N times faster than real time [default: 1 with --target, as fast as possible with -w
    /// alone].
    #[arg(long, value_name = "N", conflicts_with_all = ["max", "rate"])]
    pub speed: Option<f64>,

    /// Run as fast as possible.
    #[arg(long)]
    pub max: bool,

    /// Send this many datagrams per second, whatever the simulated time (for load tests).
    #[arg(long, value_name = "PPS", conflicts_with = "max")]
    pub rate: Option<f64>,

    /// Capture time of the start of the run, seconds since the Unix epoch, or `now`
    /// [default: 1767225600 = 2026-01-01T00:00:00Z, so files are reproducible].
    #[arg(long, value_name = "SECS|now")]
    pub start_time: Option<String>,

    /// Print something instead of running: `topology` (the JSON `PUT /topology/json` takes),
    /// `hosts` (names, addresses, MACs, attachments, as JSON) or `scenario` (the scenario file).
    #[arg(long, value_name = "WHAT", value_parser = ["topology", "hosts", "scenario"])]
    pub print: Option<String>,

    /// No summary on stderr.
    #[arg(short, long)]
    pub quiet: bool,
}

/// Loads the scenario file (TOML, or YAML by its name), or the built-in one.
pub(crate) fn load_scenario(path: Option<&Path>) -> anyhow::Result<(Scenario, String)> {
    match path {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("cannot read scenario {}", path.display()))?;
            let format = ScenarioFormat::of_path(path);
            let scenario = Scenario::parse(&path.display().to_string(), &text, format)?;
            Ok((scenario, text))
        }
        None => Ok((Scenario::default_scenario()?, DEFAULT_SCENARIO.to_string())),
    }
}

fn positive(name: &str, value: f64) -> anyhow::Result<f64> {
    if value.is_finite() && value > 0.0 {
        Ok(value)
    } else {
        bail!("{name} must be a positive number, not {value}")
    }
}

fn start_time(arg: Option<&str>) -> anyhow::Result<u64> {
    match arg {
        None => Ok(DEFAULT_START_TIME),
        Some("now") => Ok(SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs())),
        Some(text) => text.parse().with_context(|| {
            format!("--start-time {text:?}: expected seconds since 1970 or `now`")
        }),
    }
}

/// Where datagrams go: a UDP socket, a capture file, or both.
struct Outputs {
    udp: Option<(UdpSocket, SocketAddr)>,
    capture: Option<Capture>,
    /// Destination written in capture frames.
    collector: SocketAddr,
    frame: Vec<u8>,
    start_time: u64,
    send_errors: u64,
}

enum Capture {
    Pcap(PcapWriter<BufWriter<File>>),
    Pcapng(PcapngWriter<BufWriter<File>>),
}

impl Outputs {
    fn write(
        &mut self,
        time: Duration,
        source: SocketAddrV4,
        payload: &[u8],
    ) -> anyhow::Result<()> {
        if let Some((socket, target)) = &self.udp
            && socket.send_to(payload, *target).is_err()
        {
            self.send_errors += 1;
        }
        if let Some(capture) = &mut self.capture {
            build_udp_frame_into(
                &mut self.frame,
                SocketAddr::V4(source),
                self.collector,
                payload,
            )
            .context("framing a datagram")?;
            let timestamp = Timestamp::new(self.start_time + time.as_secs(), time.subsec_nanos());
            let len = self.frame.len() as u32;
            match capture {
                Capture::Pcap(w) => w.write_packet(timestamp, len, &self.frame),
                Capture::Pcapng(w) => w.write_packet(timestamp, len, &self.frame),
            }
            .context("writing the capture")?;
        }
        Ok(())
    }

    fn finish(self) -> anyhow::Result<()> {
        match self.capture {
            Some(Capture::Pcap(w)) => w.into_inner().flush(),
            Some(Capture::Pcapng(w)) => w.into_inner().flush(),
            None => Ok(()),
        }
        .context("writing the capture")
    }
}

pub(crate) fn run(args: SimulateArgs) -> anyhow::Result<ExitCode> {
    let (scenario, text) = load_scenario(args.scenario.as_deref())?;
    let duration = match args.duration {
        Some(d) if d.is_finite() && d >= 0.0 => Some(d),
        Some(d) => bail!("--duration must be a number of seconds >= 0, not {d}"),
        None => None,
    };
    let simulator = Simulator::new(&scenario, args.seed, duration)?;
    if let Some(what) = args.print.as_deref() {
        return match print(&simulator, what, &text) {
            // The reader had enough (`| head`): not an error.
            Err(err) if err.kind() == io::ErrorKind::BrokenPipe => Ok(ExitCode::SUCCESS),
            Err(err) => Err(anyhow::Error::new(err).context("writing to stdout")),
            Ok(()) => Ok(ExitCode::SUCCESS),
        };
    }
    let bounded = duration.unwrap_or(scenario.duration) > 0.0;
    if args.write.is_some() && !bounded {
        bail!("-w needs a finite run: give --duration SECS (the scenario runs until stopped)");
    }
    let pace = match (args.rate, args.max, args.speed) {
        (Some(rate), _, _) => Pace::Rate {
            per_sec: positive("--rate", rate)?,
        },
        (None, true, _) => Pace::AsFastAsPossible,
        (None, false, Some(speed)) => Pace::Recorded {
            speed: positive("--speed", speed)?,
        },
        (None, false, None) if args.write.is_some() && args.target.is_none() => {
            Pace::AsFastAsPossible
        }
        (None, false, None) => Pace::Recorded { speed: 1.0 },
    };
    let target = match (&args.target, &args.write) {
        (Some(target), _) => Some(parse_target(target)?),
        (None, None) => Some(SocketAddr::from((
            Ipv4Addr::LOCALHOST,
            rtflow_sflow::SFLOW_PORT,
        ))),
        (None, Some(_)) => None,
    };
    let udp = match target {
        Some(target) => Some((sender_for(target)?, target)),
        None => None,
    };
    let collector = target.unwrap_or(SocketAddr::from((
        Ipv4Addr::LOCALHOST,
        rtflow_sflow::SFLOW_PORT,
    )));
    let capture = match &args.write {
        Some(path) => Some(open_capture(path)?),
        None => None,
    };
    let mut outputs = Outputs {
        udp,
        capture,
        collector,
        frame: Vec::with_capacity(1600),
        start_time: start_time(args.start_time.as_deref())?,
        send_errors: 0,
    };
    if !args.quiet {
        let destination = match (&target, &args.write) {
            (Some(t), Some(w)) => format!("udp {t} and {}", w.display()),
            (Some(t), None) => format!("udp {t}"),
            (None, Some(w)) => w.display().to_string(),
            (None, None) => String::new(),
        };
        eprintln!(
            "rtflow simulate: scenario {} ({} agents) to {destination}",
            scenario.name,
            simulator.agent_addresses().len()
        );
    }
    let started = Instant::now();
    let simulator = export(simulator, pace, &mut outputs)?;
    let send_errors = outputs.send_errors;
    outputs.finish()?;
    if !args.quiet {
        let stats = simulator.stats();
        let secs = started.elapsed().as_secs_f64();
        eprintln!(
            "rtflow simulate: {:.1} simulated s in {secs:.3} s: {} datagrams ({} bytes, {:.0}/s), \
             {} flow samples, {} counter samples, {} samples dropped by agents; send errors: {send_errors}",
            simulator.elapsed().as_secs_f64(),
            stats.datagrams,
            stats.bytes,
            stats.datagrams as f64 / secs.max(1e-9),
            stats.flow_samples,
            stats.counter_samples,
            stats.dropped_samples,
        );
    }
    Ok(if send_errors == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// `--print WHAT` to stdout: the topology or hosts as JSON, or the scenario file as read.
fn print(simulator: &Simulator, what: &str, scenario_text: &str) -> io::Result<()> {
    let mut out = io::stdout().lock();
    match what {
        "topology" => serde_json::to_writer_pretty(&mut out, &simulator.topology())?,
        "hosts" => serde_json::to_writer_pretty(&mut out, &simulator.hosts())?,
        _ => return out.write_all(scenario_text.as_bytes()),
    }
    writeln!(out)?;
    out.flush()
}

fn open_capture(path: &Path) -> anyhow::Result<Capture> {
    let file = File::create(path).with_context(|| format!("cannot create {}", path.display()))?;
    let out = BufWriter::with_capacity(1 << 16, file);
    let pcapng = path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("pcapng"));
    let context = || format!("cannot write {}", path.display());
    Ok(if pcapng {
        Capture::Pcapng(PcapngWriter::new(out, LinkType::ETHERNET, 0).with_context(context)?)
    } else {
        Capture::Pcap(PcapWriter::new(out, LinkType::ETHERNET, 0).with_context(context)?)
    })
}

/// Sends every datagram when it is due. Due times are computed from the start of the run, never
/// from the previous send, so pacing does not drift however long it runs.
fn export(
    mut simulator: Simulator,
    pace: Pace,
    outputs: &mut Outputs,
) -> anyhow::Result<Simulator> {
    // Simulated time 0 is now; due times count from it, so pacing does not drift.
    let mut pacer = Pacer::starting_at(pace, Duration::ZERO);
    while let Some(datagram) = simulator.next_datagram() {
        pacer.wait(datagram.time, None);
        outputs.write(datagram.time, datagram.source, datagram.payload)?;
    }
    Ok(simulator)
}
