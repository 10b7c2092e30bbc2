use std::process::ExitCode;

#[derive(clap::Args, Debug)]
pub struct ReplayArgs {}

pub fn run(_args: ReplayArgs) -> anyhow::Result<ExitCode> {
    anyhow::bail!("`rtflow replay` is not implemented yet")
}
