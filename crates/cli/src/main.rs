//! `rtflow`: one binary, one subcommand per job. Each subcommand lives in its own module under `cmd/`.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod cmd;

#[derive(Parser)]
#[command(
    name = "rtflow",
    version,
    about = "Real-time sFlow toolkit and analytics engine"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Decode sFlow v5 from UDP or a pcap file to text, JSON, CSV or a pcap stream (sflowtool-compatible).
    Decode(cmd::decode::DecodeArgs),
    /// Tunnel datagrams as hex lines (sflow_fwd compatible): UDP -> stdout, or stdin -> UDP with -s.
    Fwd(cmd::fwd::FwdArgs),
    /// Send the sFlow datagrams of a pcap file to a UDP target.
    Replay(cmd::replay::ReplayArgs),
    /// Run the real-time analytics server (sFlow-RT compatible REST API on port 8008).
    Serve(Box<cmd::serve::ServeArgs>),
    /// Simulate a leaf-and-spine network and export its sFlow over UDP or into a pcap file.
    Simulate(cmd::simulate::SimulateArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Decode(args) => cmd::decode::run(args),
        Command::Fwd(args) => cmd::fwd::run(args),
        Command::Replay(args) => cmd::replay::run(args),
        Command::Serve(args) => cmd::serve::run(*args),
        Command::Simulate(args) => cmd::simulate::run(args),
    };
    match result {
        Ok(code) => code,
        Err(err) => {
            eprintln!("rtflow: {err:#}");
            ExitCode::FAILURE
        }
    }
}
