//! Property tests: every structure survives encode → decode unchanged.

use proptest::prelude::*;

use crate::testgen::{Arbitrary, Gen};
use crate::*;

fn arbitrary_header(g: &mut Gen<'_>) -> DatagramHeader {
    DatagramHeader {
        agent: Address::arbitrary(g),
        sub_agent_id: g.u32(),
        sequence_number: g.u32(),
        uptime_ms: g.u32(),
    }
}

fn arbitrary_source(g: &mut Gen<'_>, expanded: bool) -> DataSource {
    if expanded {
        DataSource {
            class: g.u32(),
            index: g.u32(),
        }
    } else {
        DataSource::from_compact(g.u32())
    }
}

fn arbitrary_interface(g: &mut Gen<'_>, expanded: bool) -> Interface {
    if expanded {
        Interface {
            format: g.below(4),
            value: g.u32(),
        }
    } else {
        Interface::from_compact(g.u32())
    }
}

fn opaque<'a>(g: &mut Gen<'a>) -> Opaque<'a> {
    // Enterprise 9999 is not decoded by this crate; lengths are kept 4-aligned as XDR requires.
    let data = g.bytes(40);
    let data = data.get(..data.len() & !3).unwrap_or(&[]);
    Opaque {
        tag: Tag::new(9999, g.below(4096)),
        data,
    }
}

/// Everything decoded from a datagram, rendered for comparison (Debug also compares NaN floats).
fn render(bytes: &[u8]) -> Result<Vec<String>, DecodeError> {
    let datagram = Datagram::decode(bytes)?;
    let mut out = vec![format!("{:?}", datagram.header)];
    for sample in datagram.samples() {
        match sample? {
            Sample::Flow(s) => {
                out.push(format!("{:?}", s.info));
                for r in s.records() {
                    out.push(format!("{:?}", r?));
                }
            }
            Sample::Discard(s) => {
                out.push(format!("{:?}", s.info));
                for r in s.records() {
                    out.push(format!("{:?}", r?));
                }
            }
            Sample::Counter(s) => {
                out.push(format!("{:?}", s.info));
                for r in s.records() {
                    out.push(format!("{:?}", r?));
                }
            }
            Sample::Unknown(o) => out.push(format!("{o:?}")),
        }
    }
    Ok(out)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn every_structure_round_trips(seed in any::<u64>(), pool in proptest::collection::vec(any::<u8>(), 0..300)) {
        let mut g = Gen::new(seed, &pool);
        let header = arbitrary_header(&mut g);
        let expanded = g.below(2) == 1;
        let flow_info = FlowSampleInfo {
            expanded,
            sequence_number: g.u32(),
            source_id: arbitrary_source(&mut g, expanded),
            sampling_rate: g.u32(),
            sample_pool: g.u32(),
            drops: g.u32(),
            input: arbitrary_interface(&mut g, expanded),
            output: arbitrary_interface(&mut g, expanded),
        };
        let mut flow_records = FlowRecord::arbitrary_all(&mut g);
        flow_records.push(FlowRecord::Unknown(opaque(&mut g)));
        let counter_info = CounterSampleInfo { expanded, sequence_number: g.u32(), source_id: arbitrary_source(&mut g, expanded) };
        let mut counter_records = CounterRecord::arbitrary_all(&mut g);
        counter_records.push(CounterRecord::Unknown(opaque(&mut g)));
        let discard_info = DiscardSampleInfo {
            sequence_number: g.u32(),
            source_id: arbitrary_source(&mut g, true),
            drops: g.u32(),
            input_if_index: g.u32(),
            output_if_index: g.u32(),
            reason: g.u32(),
        };
        let discard_records = [FlowRecord::ExtendedEgressQueue(Arbitrary::arbitrary(&mut g))];
        let unknown_sample = Sample::Unknown(opaque(&mut g));

        let mut builder = DatagramBuilder::new(header);
        builder
            .flow_sample(&flow_info, &flow_records)
            .counter_sample(&counter_info, &counter_records)
            .discard_sample(&discard_info, &discard_records)
            .sample(&unknown_sample);
        let bytes = builder.finish();
        prop_assert_eq!(bytes.len(), builder.len());

        let mut expected = vec![format!("{header:?}"), format!("{flow_info:?}")];
        expected.extend(flow_records.iter().map(|r| format!("{r:?}")));
        expected.push(format!("{counter_info:?}"));
        expected.extend(counter_records.iter().map(|r| format!("{r:?}")));
        expected.push(format!("{discard_info:?}"));
        expected.extend(discard_records.iter().map(|r| format!("{r:?}")));
        expected.push(format!("{:?}", match unknown_sample { Sample::Unknown(o) => o, _ => unreachable!() }));
        prop_assert_eq!(render(&bytes), Ok(expected));

        // Decoded structures encode back to the same bytes.
        let datagram = Datagram::decode(&bytes).unwrap();
        let mut again = Vec::new();
        datagram.encode(&mut again);
        prop_assert_eq!(&again, &bytes);
        let mut rebuilt = DatagramBuilder::new(datagram.header);
        for sample in datagram.samples() {
            rebuilt.sample(&sample.unwrap());
        }
        prop_assert_eq!(rebuilt.finish(), bytes);
    }
}

#[test]
fn record_kinds_cover_the_checklist() {
    let pool = [7u8; 64];
    let mut g = Gen::new(1, &pool);
    let flow: Vec<String> = FlowRecord::arbitrary_all(&mut g)
        .iter()
        .map(|r| r.tag().to_string())
        .collect();
    for tag in [
        "0:1", "0:2", "0:3", "0:4", "0:1001", "0:1003", "0:1012", "0:1016", "0:1020", "0:1028",
        "0:1030", "0:1042", "0:2100", "0:2209",
    ] {
        assert!(flow.contains(&tag.to_string()), "{tag}");
    }
    let counters: Vec<String> = CounterRecord::arbitrary_all(&mut g)
        .iter()
        .map(|r| r.tag().to_string())
        .collect();
    for tag in [
        "0:1", "0:2", "0:7", "0:10", "0:1001", "0:1005", "0:2000", "0:2010", "0:2104", "0:2106",
        "4413:3", "5703:1",
    ] {
        assert!(counters.contains(&tag.to_string()), "{tag}");
    }
}

#[test]
fn record_with_bad_inner_length_is_an_error_but_later_records_still_decode() {
    let header = [1u8; 8];
    let mut builder = DatagramBuilder::new(DatagramHeader {
        agent: Address::Unknown,
        sub_agent_id: 0,
        sequence_number: 0,
        uptime_ms: 0,
    });
    builder.flow_sample(
        &FlowSampleInfo::default(),
        &[
            FlowRecord::SampledHeader(SampledHeader {
                protocol: 1,
                frame_length: 64,
                stripped: 0,
                header: &header,
            }),
            FlowRecord::ExtendedSwitch(ExtendedSwitch {
                src_vlan: 10,
                ..Default::default()
            }),
        ],
    );
    let mut bytes = builder.finish();
    // Datagram header 24 bytes (unknown agent), sample tag+len, 28-byte compact flow sample
    // fields and record count -> first record at 64: tag, length, protocol, frame length,
    // stripped, then the header length at 84.
    assert_eq!(&bytes[84..88], &[0, 0, 0, 8]);
    bytes[84..88].copy_from_slice(&300u32.to_be_bytes());
    let datagram = Datagram::decode(&bytes).unwrap();
    let Some(Ok(Sample::Flow(flow))) = datagram.samples().next() else {
        panic!("flow sample expected")
    };
    let records: Vec<_> = flow.records().collect();
    assert_eq!(
        records[0].unwrap_err().to_string(),
        "flow sample #1 record #1 (0:1): header length 300 exceeds remaining length 8 at offset 84"
    );
    assert!(matches!(
        records[1],
        Ok(FlowRecord::ExtendedSwitch(ExtendedSwitch {
            src_vlan: 10,
            ..
        }))
    ));
}

#[test]
fn other_versions_are_not_sflow_v5() {
    for version in [2u32, 4, 9, 10] {
        let mut bytes = version.to_be_bytes().to_vec();
        bytes.extend_from_slice(&[0; 40]);
        assert_eq!(
            Datagram::decode(&bytes),
            Err(DecodeError::NotSflowV5 { version })
        );
    }
    assert!(matches!(
        Datagram::decode(&[0, 0]),
        Err(DecodeError::Malformed {
            kind: ErrorKind::ShortDatagram { length: 2 },
            ..
        })
    ));
}

/// A sample whose declared length is not a multiple of 4 is followed by padding on the wire; re-encoding it
/// must pad again, or every later sample shifts (found by fuzzing: fuzz/regressions/sflow_roundtrip/).
#[test]
fn unaligned_sample_length_re_encodes_padded() {
    let mut bytes = Vec::new();
    for word in [5u32, 1, 0x0a00_0001, 0, 7, 1000, 2] {
        bytes.extend_from_slice(&word.to_be_bytes());
    }
    let odd_tag = Tag {
        enterprise: 6,
        format: 1024,
    };
    bytes.extend_from_slice(&odd_tag.to_word().to_be_bytes());
    bytes.extend_from_slice(&3u32.to_be_bytes());
    bytes.extend_from_slice(&[1, 2, 3, 0]);
    bytes.extend_from_slice(&odd_tag.to_word().to_be_bytes());
    bytes.extend_from_slice(&0u32.to_be_bytes());

    let datagram = Datagram::decode(&bytes).expect("decodes");
    let samples: Vec<_> = datagram.samples().map(|s| s.expect("sample")).collect();
    assert_eq!(samples.len(), 2);
    let mut rebuilt = DatagramBuilder::new(datagram.header);
    for sample in &samples {
        rebuilt.sample(sample);
    }
    let encoded = rebuilt.finish();
    assert_eq!(
        encoded, bytes,
        "raw re-encoding reproduces the padded input"
    );
    let again: Vec<_> = Datagram::decode(&encoded)
        .expect("re-decodes")
        .samples()
        .map(|s| s.expect("sample"))
        .collect();
    assert_eq!(again, samples);
}
