//! Random and mutated input never panics: it decodes or yields errors.

mod common;

use std::sync::LazyLock;

use proptest::prelude::*;
use rtflow_sflow::{Datagram, LegacyDatagram, LegacySample, Sample};

/// Walks everything decodable; returns the number of errors met.
fn walk(bytes: &[u8]) -> usize {
    let Ok(datagram) = Datagram::decode(bytes) else {
        return 1;
    };
    let mut errors = 0;
    for sample in datagram.samples() {
        match sample {
            Ok(Sample::Flow(s)) => errors += s.records().filter(Result::is_err).count(),
            Ok(Sample::Discard(s)) => errors += s.records().filter(Result::is_err).count(),
            Ok(Sample::Counter(s)) => errors += s.records().filter(Result::is_err).count(),
            Ok(Sample::Unknown(_)) => {}
            Err(_) => errors += 1,
        }
        // Re-encoding whatever decoded must not panic either.
        if let Ok(sample) = sample {
            sample.encode(&mut Vec::new());
        }
    }
    errors
}

/// Valid datagrams to mutate: every datagram of the generated records.pcap, the first of
/// fabric.pcap, and (when ../shared is there, else after one skip line) the first datagrams of a
/// few real captures.
static SEEDS: LazyLock<Vec<Vec<u8>>> = LazyLock::new(|| {
    let data = rtflow_testkit::data_dir();
    let mut seeds = common::udp_payloads(&data.join("records.pcap"));
    seeds.extend(
        common::udp_payloads(&data.join("fabric.pcap"))
            .into_iter()
            .take(3),
    );
    if let Some(dir) = common::captures_dir() {
        for name in [
            "tcpdump_sflow_expanded.pcap",
            "tcpdump_sflow-print-v6.pcap",
            "telegraf/sflow_issue_15375_sflow_drop_1036.pcap",
            "loghub_sflow.pcap",
        ] {
            seeds.extend(common::udp_payloads(&dir.join(name)).into_iter().take(3));
        }
    }
    seeds
});

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
        walk(&bytes);
    }

    #[test]
    fn random_bytes_after_valid_v5_header_never_panic(tail in proptest::collection::vec(any::<u8>(), 0..600)) {
        let mut bytes = vec![0, 0, 0, 5, 0, 0, 0, 1, 10, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 9, 0, 0, 0, 3];
        bytes.extend(tail);
        walk(&bytes);
    }

    #[test]
    fn random_bytes_after_a_v2_or_v4_header_never_panic(
        version in prop::sample::select(vec![2u8, 4]),
        tail in proptest::collection::vec(any::<u8>(), 0..600),
    ) {
        // Mostly small words, so that sample, packet and extended types are often valid.
        let tail: Vec<u8> = tail.iter().enumerate().map(|(i, &b)| if i % 4 == 3 { b % 8 } else { b % 3 / 2 }).collect();
        let mut bytes = vec![0, 0, 0, version, 0, 0, 0, 1, 10, 0, 0, 1, 0, 0, 0, 9, 0, 0, 0, 1, 0, 0, 0, 3];
        bytes.extend(tail);
        let datagram = LegacyDatagram::decode(&bytes).expect("valid header");
        for sample in datagram.samples() {
            if let Ok(LegacySample::Flow(flow)) = sample {
                flow.records().count();
            }
        }
    }

    #[test]
    fn mutated_and_truncated_datagrams_never_panic(
        pick in any::<prop::sample::Index>(),
        flips in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 0..8),
        cut in any::<prop::sample::Index>(),
    ) {
        let mut bytes = pick.get(&SEEDS).clone();
        for (at, value) in flips {
            let i = at.index(bytes.len());
            bytes[i] = value;
        }
        walk(&bytes);
        let len = cut.index(bytes.len() + 1);
        bytes.truncate(len);
        walk(&bytes);
    }
}

#[test]
fn every_truncation_of_a_real_datagram_is_an_error_not_a_panic() {
    for payload in SEEDS.iter() {
        assert_eq!(walk(payload), 0);
        for len in 0..payload.len() {
            assert!(
                walk(&payload[..len]) > 0,
                "truncation to {len} bytes decoded cleanly"
            );
        }
    }
}

/// The framing check of a flood's datagrams: a whole datagram passes it, and every cut inside its samples fails
/// it (the last sample's declared length runs past the datagram).
#[test]
fn framing_check_passes_whole_datagrams_and_fails_every_cut_inside_the_samples() {
    for payload in SEEDS.iter() {
        let datagram = Datagram::decode(payload).expect("seed decodes");
        datagram.samples().check_framing().expect("seed is framed");
        let header_len = payload.len() - datagram.samples().remaining_bytes().len();
        for len in header_len..payload.len() {
            let Ok(cut) = Datagram::decode(&payload[..len]) else {
                panic!("the header of a cut at {len} bytes decodes");
            };
            assert!(
                cut.samples().check_framing().is_err(),
                "a cut at {len} of {} bytes passed the framing check",
                payload.len()
            );
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    /// A datagram that fails the framing check fails the full decode too.
    #[test]
    fn a_framing_error_is_a_decode_error(
        seed in any::<prop::sample::Index>(),
        flips in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 0..8),
    ) {
        let mut bytes = SEEDS[seed.index(SEEDS.len())].clone();
        for (at, value) in flips {
            let at = at.index(bytes.len());
            bytes[at] = value;
        }
        if let Ok(datagram) = Datagram::decode(&bytes)
            && datagram.samples().check_framing().is_err()
        {
            prop_assert!(walk(&bytes) > 0);
        }
    }
}
