//! The flow language: a definition's keys, value and filter (one per input line) parse and compile or give an
//! error, and a compiled definition evaluates against a sampled TCP packet.
#![no_main]

use std::net::{IpAddr, Ipv4Addr};

use rtflow_engine::{DataSource, FlowSample, Port, SampleAttributes};
use rtflow_flowlang::{CompiledFlow, FlowDefinition, Lookups};

/// Ethernet/IPv4/TCP 10.0.0.1:40000 → 10.0.0.2:80.
const FRAME: [u8; 54] = [
    0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x00, 0x66, 0x77, 0x88, 0x99, 0x01, 0x08, 0x00, 0x45, 0,
    0x05, 0xdc, 0, 1, 0x40, 0, 64, 6, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2, 0x9c, 0x40, 0x00, 0x50, 0, 0,
    0, 1, 0, 0, 0, 0, 0x50, 0x10, 0xff, 0xff, 0, 0, 0, 0,
];

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let mut lines = text.split('\n');
    let keys = lines.next().unwrap_or_default();
    let value = lines.next().unwrap_or("frames");
    let filter = lines.next();
    let mut definition = FlowDefinition::new(keys, value);
    definition.filter = filter.map(str::to_string);
    let Ok(compiled) = CompiledFlow::compile(&definition) else {
        return;
    };
    let sample = FlowSample {
        source: DataSource::interface(3),
        sequence: 1,
        sampling_rate: 100,
        sample_pool: 100,
        input: Port::Index(3),
        output: Port::Index(4),
        frame_length: 1518,
        packet: rtflow_packet::decode(1, &FRAME),
        ..FlowSample::default()
    };
    let agent = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1));
    let attributes = SampleAttributes::new(agent, sample.source, &sample);
    let mut key = String::new();
    std::hint::black_box(compiled.evaluate(&attributes, &Lookups::new(), &mut key));
});
