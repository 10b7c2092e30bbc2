//! `rtflow decode`: sflowtool-compatible decoding of sFlow v5 from UDP or a pcap/pcapng file into
//! text, JSON (`-j`/`-J`), CSV (`-l`) or a pcap stream of the sampled headers (`-t`).
//!
//! Datagrams that fail to decode are reported on stderr (with the byte offset of the fault),
//! counted and skipped; decoding goes on. The exit code is non-zero only when the input cannot be
//! opened or read (or the output cannot be written, except a closed pipe, which ends quietly).

mod live;
mod output;

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use rtflow_sflowtool::{DatagramInfo, Format};

use output::{Decoder, Mode, Progress};

#[derive(clap::Args, Debug)]
pub struct DecodeArgs {
    /// UDP port to listen on (0 picks a free port, reported on stderr).
    #[arg(short = 'p', long, default_value_t = 6343)]
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

    /// A libpcap stream (Ethernet) of the sampled packet headers, for tcpdump/tshark.
    #[arg(short = 't', group = "format")]
    pub pcap: bool,

    /// Write the output to FILE instead of stdout.
    #[arg(short = 'w', long = "write", value_name = "FILE")]
    pub write: Option<PathBuf>,

    /// Stop after COUNT packets with -t (like tcpdump), after COUNT datagrams otherwise.
    #[arg(short = 'c', long = "count", value_name = "COUNT")]
    pub count: Option<u64>,

    /// Listen on IPv4 only.
    #[arg(short = '4', conflicts_with = "ipv6_only")]
    pub ipv4_only: bool,

    /// Listen on IPv6 only.
    #[arg(short = '6')]
    pub ipv6_only: bool,

    /// Do not report bad datagrams and the end-of-file summary on stderr.
    #[arg(short = 'q', long)]
    pub quiet: bool,
}

impl DecodeArgs {
    fn mode(&self) -> Mode {
        if self.pcap {
            Mode::Pcap
        } else if self.json {
            Mode::Formatted(Format::Json)
        } else if self.json_pretty {
            Mode::Formatted(Format::JsonPretty)
        } else if self.csv {
            Mode::Formatted(Format::Csv)
        } else {
            Mode::Formatted(Format::Text)
        }
    }
}

pub fn run(args: DecodeArgs) -> anyhow::Result<ExitCode> {
    let out: Box<dyn Write> = match &args.write {
        Some(path) => {
            Box::new(File::create(path).with_context(|| format!("creating {}", path.display()))?)
        }
        None => Box::new(io::stdout().lock()),
    };
    let out = BufWriter::with_capacity(1 << 16, out);
    let decoder = match Decoder::new(args.mode(), out, args.count, args.quiet) {
        Ok(decoder) => decoder,
        Err(err) if err.kind() == io::ErrorKind::BrokenPipe => return Ok(ExitCode::SUCCESS),
        Err(err) => return Err(err).context("writing the pcap header"),
    };
    match &args.read {
        Some(path) => read_file(path, decoder, args.quiet),
        None => live::listen(&args, decoder),
    }
}

fn read_file(
    path: &std::path::Path,
    mut decoder: Decoder<impl Write>,
    quiet: bool,
) -> anyhow::Result<ExitCode> {
    let mut reader =
        rtflow_capture::open(path).with_context(|| format!("opening {}", path.display()))?;
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
                return Err(err).with_context(|| format!("reading {name}"));
            }
        };
        index += 1;
        let info = DatagramInfo {
            source: None,
            received: None,
            pcap_timestamp: Some(datagram.timestamp),
        };
        let origin = format_args!("{name} datagram #{index} ({})", datagram.src);
        match decoder.handle(datagram.payload, &info, datagram.timestamp, origin) {
            Ok(Progress::Continue) => {}
            Ok(Progress::Done) => break,
            Err(err) if err.kind() == io::ErrorKind::BrokenPipe => return Ok(ExitCode::SUCCESS),
            Err(err) => return Err(err).context("writing output"),
        }
    }
    match decoder.finish() {
        Err(err) if err.kind() != io::ErrorKind::BrokenPipe => {
            return Err(err).context("writing output");
        }
        _ => {}
    }
    if !quiet {
        decoder.report_summary(&name, reader.skip_counts());
    }
    Ok(ExitCode::SUCCESS)
}
