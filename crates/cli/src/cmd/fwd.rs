use std::process::ExitCode;

#[derive(clap::Args, Debug)]
pub struct FwdArgs {}

pub fn run(_args: FwdArgs) -> anyhow::Result<ExitCode> {
    anyhow::bail!("`rtflow fwd` is not implemented yet")
}
