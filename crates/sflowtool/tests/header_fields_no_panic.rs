//! Random and mutated headers never panic sflowtool's header walker.

use proptest::prelude::*;
use rtflow_sflowtool::header_fields::{SampledHeader, for_each_field, payload_offset};
use rtflow_testkit::headers::{SFLOWTOOL_SPEC_HEADER, from_dashed_hex};

fn walk_everything(protocol: u32, bytes: &[u8]) {
    let header = SampledHeader {
        header_protocol: protocol,
        frame_length: 64,
        stripped: 4,
        header: bytes,
    };
    for_each_field(&header, |name, value| {
        let _ = (name.to_string(), value.to_string());
    });
    if let Some(offset) = payload_offset(&header) {
        assert!(
            offset <= bytes.len() + 60,
            "offset {offset} of {}",
            bytes.len()
        );
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn random_bytes_never_panic(protocol in prop_oneof![Just(1u32), Just(11u32), Just(12u32), Just(15u32), any::<u32>()],
                                bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
        walk_everything(protocol, &bytes);
    }

    #[test]
    fn mutated_headers_never_panic(edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8),
                                   cut in any::<prop::sample::Index>()) {
        let mut frame = from_dashed_hex(SFLOWTOOL_SPEC_HEADER);
        for (index, value) in edits {
            let i = index.index(frame.len());
            frame[i] = value;
        }
        let len = cut.index(frame.len() + 1);
        walk_everything(1, &frame[..len]);
    }
}
