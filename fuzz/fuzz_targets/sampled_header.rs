//! Sampled-header decode: the analytics decoder (`rtflow_packet::decode`) and sflowtool's field walker on any
//! header bytes. The first input byte picks the header protocol (1 Ethernet, 11 IPv4, 12 IPv6, others).
#![no_main]

use rtflow_sflowtool::header_fields::{SampledHeader, for_each_field};

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Some((&protocol, header)) = data.split_first() else {
        return;
    };
    let protocol = u32::from(protocol);
    let fields = rtflow_packet::decode(protocol, header);
    std::hint::black_box(&fields);
    let sampled = SampledHeader {
        header_protocol: protocol,
        frame_length: header.len() as u32 + 4,
        stripped: 4,
        header,
    };
    let mut count = 0usize;
    for_each_field(&sampled, |name, value| {
        std::hint::black_box((name, value));
        count += 1;
    });
    std::hint::black_box(count);
});
