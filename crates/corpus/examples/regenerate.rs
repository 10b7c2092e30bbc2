//! Rewrites the generated captures in `tests/data` and their `MANIFEST`.
//!
//! Run: `cargo run -p rtflow-corpus --example regenerate` (then review `git diff --stat tests/data`).
//! The `checked_in` test of this crate fails while the files differ from what this produces.

use std::path::Path;

fn main() -> std::io::Result<()> {
    let dir = rtflow_testkit::data_dir();
    std::fs::create_dir_all(&dir)?;
    let files = rtflow_corpus::data_files();
    for file in &files {
        write(&dir.join(file.name), &file.bytes)?;
    }
    write(
        &dir.join("MANIFEST"),
        rtflow_corpus::manifest(&files).as_bytes(),
    )?;
    Ok(())
}

fn write(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    std::fs::write(path, bytes)?;
    println!("{} ({} bytes)", path.display(), bytes.len());
    Ok(())
}
