//! `mixed.pcap` (sFlow v5 among payloads that are not: NetFlow v5 and v9, IPFIX, sFlow v4) and
//! `malformed.pcap` (sFlow v5 datagrams broken in the ways a decoder must reject cleanly).

use std::net::{Ipv4Addr, SocketAddr};

use rtflow_sflow::{
    Address, CounterRecord, CounterSampleInfo, DataSource, DatagramHeader, FlowRecord,
    FlowSampleInfo, GenericInterfaceCounters, Interface, SampledHeader,
};

use crate::capture::{Capture, Dgram};
use crate::headers::{ETHERTYPE_IPV4, PROTO_UDP, ethernet, ipv4, mac, udp};

pub(crate) const NOT_SFLOW_DESCRIPTION: &str = "12 datagrams to port 6343 from one exporter: 7 \
    sFlow v5 (a flow and a counter sample each) among NetFlow v5, NetFlow v9, IPFIX and sFlow v4 \
    payloads, which a decoder must count as not sFlow v5";
pub(crate) const MALFORMED_DESCRIPTION: &str = "5 sFlow v5 datagrams each broken differently: \
    header cut short, unknown agent address type, sample length past the end, more samples \
    announced than present, a flow sample too short for its fields";

const START_SECS: u64 = 1_700_000_100;
const EXPORTER: Ipv4Addr = Ipv4Addr::new(198, 51, 100, 1);

fn addresses() -> (SocketAddr, SocketAddr) {
    (
        SocketAddr::from((EXPORTER, 40_000)),
        SocketAddr::from(([198, 51, 100, 254], rtflow_sflow::SFLOW_PORT)),
    )
}

/// A small valid datagram: one flow sample (UDP header) and one counter sample.
fn sflow(sequence: u32) -> Dgram {
    let mut d = Dgram::new(DatagramHeader {
        agent: Address::V4(EXPORTER),
        sub_agent_id: 0,
        sequence_number: sequence,
        uptime_ms: 1_000_000 + sequence * 1000,
    });
    let frame = ethernet(
        mac(1),
        mac(2),
        ETHERTYPE_IPV4,
        &ipv4(
            Ipv4Addr::new(203, 0, 113, 1),
            Ipv4Addr::new(203, 0, 113, 2),
            PROTO_UDP,
            64,
            sequence as u16,
            &udp(5000, 6000 + sequence as u16, &[0; 32]),
        ),
    );
    d.flow(
        &FlowSampleInfo {
            expanded: false,
            sequence_number: sequence,
            source_id: DataSource { class: 0, index: 1 },
            sampling_rate: 512,
            sample_pool: 512 * sequence,
            drops: 0,
            input: Interface::index(1),
            output: Interface::index(2),
        },
        &[FlowRecord::SampledHeader(SampledHeader {
            protocol: 1,
            frame_length: frame.len() as u32 + 4,
            stripped: 4,
            header: &frame,
        })],
    );
    d.counter(
        &CounterSampleInfo {
            expanded: false,
            sequence_number: sequence,
            source_id: DataSource { class: 0, index: 1 },
        },
        &[CounterRecord::GenericInterface(GenericInterfaceCounters {
            if_index: 1,
            if_type: 6,
            if_speed: 1_000_000_000,
            if_direction: 1,
            if_status: 3,
            if_in_octets: 1_000_000 * u64::from(sequence),
            if_out_octets: 2_000_000 * u64::from(sequence),
            ..Default::default()
        })],
    );
    d
}

fn netflow_v5(sequence: u32) -> Vec<u8> {
    let mut out = Vec::new();
    for v in [5u16, 1] {
        out.extend_from_slice(&v.to_be_bytes()); // version, record count
    }
    for v in [3_600_000u32, 1_700_000_100 + sequence, 0, sequence] {
        out.extend_from_slice(&v.to_be_bytes()); // uptime, secs, nsecs, flow sequence
    }
    out.extend_from_slice(&[0, 0, 0, 0]); // engine type, id, sampling interval
    for v in [[203, 0, 113, 1], [203, 0, 113, 2], [0, 0, 0, 0]] {
        out.extend_from_slice(&v);
    }
    out.extend_from_slice(&[0, 1, 0, 2]); // input, output
    for v in [10u32, 1500, 3_599_000, 3_600_000] {
        out.extend_from_slice(&v.to_be_bytes()); // packets, octets, first, last
    }
    out.extend_from_slice(&[
        0x13, 0x88, 0x17, 0x70, 0, 0x18, 6, 0, 0, 0, 0, 0, 24, 24, 0, 0,
    ]);
    out
}

fn netflow_v9_template() -> Vec<u8> {
    let mut out = Vec::new();
    for v in [9u16, 1] {
        out.extend_from_slice(&v.to_be_bytes());
    }
    for v in [3_600_000u32, 1_700_000_100, 1, 0] {
        out.extend_from_slice(&v.to_be_bytes()); // uptime, secs, sequence, source id
    }
    // Template flowset: id 0, length 16, template 256 with IPV4_SRC_ADDR and IPV4_DST_ADDR.
    for v in [0u16, 16, 256, 2, 8, 4, 12, 4] {
        out.extend_from_slice(&v.to_be_bytes());
    }
    out
}

fn ipfix_template() -> Vec<u8> {
    let mut out = Vec::new();
    for v in [10u16, 32] {
        out.extend_from_slice(&v.to_be_bytes()); // version, message length
    }
    for v in [1_700_000_100u32, 1, 0] {
        out.extend_from_slice(&v.to_be_bytes()); // export time, sequence, domain
    }
    for v in [2u16, 16, 256, 2, 8, 4, 12, 4] {
        out.extend_from_slice(&v.to_be_bytes());
    }
    out
}

/// An sFlow version 4 datagram header with no samples.
fn sflow_v4() -> Vec<u8> {
    let mut out = Vec::new();
    for v in [4u32, 1] {
        out.extend_from_slice(&v.to_be_bytes());
    }
    out.extend_from_slice(&EXPORTER.octets());
    for v in [1u32, 1_000_000, 0] {
        out.extend_from_slice(&v.to_be_bytes());
    }
    out
}

pub(crate) fn not_sflow() -> Capture {
    let (src, dst) = addresses();
    let mut capture = Capture::default();
    let others: [(usize, Vec<u8>); 5] = [
        (1, netflow_v5(1)),
        (3, netflow_v9_template()),
        (4, ipfix_template()),
        (6, sflow_v4()),
        (9, netflow_v5(2)),
    ];
    let mut sequence = 0;
    for slot in 0..12 {
        let time = (START_SECS + slot as u64, 0);
        if let Some((_, payload)) = others.iter().find(|(at, _)| *at == slot) {
            capture.push_raw(time, src, dst, payload.clone());
            capture.summary.not_sflow_v5 += 1;
            if matches!(payload.get(..4), Some([0, 0, 0, 2 | 4])) {
                capture.summary.sflow_legacy += 1;
            }
        } else {
            sequence += 1;
            capture.push_sflow(time, src, dst, sflow(sequence));
        }
    }
    capture
}

pub(crate) fn malformed() -> Capture {
    let (src, dst) = addresses();
    let mut capture = Capture::default();
    let good = sflow(1).finish();
    // Offsets in an IPv4-agent datagram: 24 = sample count, 28 = first sample's tag, 32 = its length.
    let set = |bytes: &mut Vec<u8>, at: usize, value: u32| {
        bytes[at..at + 4].copy_from_slice(&value.to_be_bytes());
    };
    let mut unknown_address = good.clone();
    set(&mut unknown_address, 4, 7);
    let mut long_sample = good.clone();
    set(&mut long_sample, 32, 0x7fff_fff0);
    let mut missing_samples = good.clone();
    set(&mut missing_samples, 24, 3);
    let mut short_sample = good[..36].to_vec();
    set(&mut short_sample, 24, 1);
    set(&mut short_sample, 32, 8);
    short_sample.extend_from_slice(&[0; 8]);
    let broken = [
        good[..18].to_vec(),
        unknown_address,
        long_sample,
        missing_samples,
        short_sample,
    ];
    for (i, payload) in broken.into_iter().enumerate() {
        capture.push_raw((START_SECS + i as u64, 0), src, dst, payload);
        capture.summary.malformed += 1;
    }
    capture
}
