//! Rebuilds the crate when a file is added to or removed from `web/` (the embedded UI assets): the
//! rust-embed derive only tracks the files that existed when it last ran.

fn main() {
    println!("cargo:rerun-if-changed=web");
}
