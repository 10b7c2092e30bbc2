//! The generated captures cover what the third-party captures of ../shared exercise, so that a
//! plain clone tests the same code paths: every sample type, flow/counter/discard record type,
//! agent address family, interface encoding, header protocol and header layer found in
//! ../shared/captures is also in tests/data. Needs ../shared (skips with one line without it).

mod common;

use rtflow_testkit::{Shared, capture_files, data_dir, require_shared};

#[test]
fn generated_captures_exercise_everything_the_shared_captures_do() {
    let shared = require_shared!(Shared::Captures);
    let mut theirs = common::Inventory::default();
    for path in capture_files(&shared) {
        theirs.add_capture(&path);
    }
    let mut ours = common::Inventory::default();
    for path in capture_files(&data_dir()) {
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
