//! The generated captures cover what the third-party captures of ../shared exercise, so that a
//! plain clone tests the same code paths: every sample type, flow/counter/discard record type,
//! agent address family, interface encoding, header protocol and header layer found in
//! ../shared/captures is also in tests/data. Needs ../shared (skips with one line without it).

mod common;

use std::path::{Path, PathBuf};

use rtflow_testkit::{Shared, data_dir, require_shared};

fn captures_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let entries = std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    for entry in entries {
        let path = entry.unwrap_or_else(|e| panic!("{e}")).path();
        if path.is_dir() {
            out.extend(captures_under(&path));
        } else if path
            .extension()
            .is_some_and(|e| e == "pcap" || e == "pcapng")
        {
            out.push(path);
        }
    }
    out.sort();
    out
}

#[test]
fn generated_captures_exercise_everything_the_shared_captures_do() {
    let shared = require_shared!(Shared::Captures);
    let mut theirs = common::Inventory::default();
    for path in captures_under(&shared) {
        theirs.add_capture(&path);
    }
    let mut ours = common::Inventory::default();
    for path in captures_under(&data_dir()) {
        ours.add_capture(&path);
    }
    let missing = theirs.missing_from(&ours);
    assert!(
        missing.is_empty(),
        "tests/data lacks what ../shared/captures exercises: {missing:?} \
         (add it to crates/corpus and regenerate)"
    );
    eprintln!("../shared/captures exercise: {:?}", theirs.items);
    eprintln!("tests/data adds: {:?}", ours.missing_from(&theirs));
    // Sanity: the inventory is not trivially small.
    assert!(theirs.items.len() > 30, "{:?}", theirs.items);
}
