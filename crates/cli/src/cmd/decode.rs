use std::process::ExitCode;

#[derive(clap::Args, Debug)]
pub struct DecodeArgs {}

pub fn run(_args: DecodeArgs) -> anyhow::Result<ExitCode> {
    anyhow::bail!("`rtflow decode` is not implemented yet")
}
