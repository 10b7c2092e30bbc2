//! `rtflow replay`: sends the UDP payloads (sFlow datagrams) of a pcap / pcapng capture to a
//! collector, at the recorded pace (optionally sped up), as fast as possible, or at a fixed
//! rate, once, several times, or for a given duration.

use std::io::{self, Write};
use std::net::{SocketAddr, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use rtflow_capture::SkipCounts;
use rtflow_net::{Pace, Pacer, saturating_secs, sender_for};
use rtflow_sflow::SFLOW_PORT;

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
}

#[derive(Debug)]
struct Plan {
    pace: Pace,
    /// `None` = repeat until the deadline (or forever).
    passes: Option<u64>,
    duration: Option<Duration>,
    port_filter: Option<u16>,
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
    let plan = Plan::from_args(&args)?;
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
        match play_once(&args.file, &plan, &pass, &mut pacer, &mut totals) {
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
    plan: &Plan,
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
        match pass.socket.send_to(datagram.payload, pass.target) {
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
}
