//! Deterministic generator of arbitrary structures for round-trip tests. Borrowed byte strings
//! are slices of a caller-owned random pool, so generated records are as zero-copy as decoded ones.

use std::net::{Ipv4Addr, Ipv6Addr};

use crate::types::{Address, AsPath, MacAddr, U32List};

/// Random source: a xorshift state plus a pool of bytes to borrow strings from.
pub(crate) struct Gen<'a> {
    state: u64,
    pool: &'a [u8],
}

impl<'a> Gen<'a> {
    pub(crate) fn new(seed: u64, pool: &'a [u8]) -> Self {
        Self {
            state: seed | 1,
            pool,
        }
    }

    /// Keeps encoded list bytes alive for the test: leaking a few bytes per case is fine in tests.
    pub(crate) fn keep(&mut self, bytes: Vec<u8>) -> &'a [u8] {
        Box::leak(bytes.into_boxed_slice())
    }

    pub(crate) fn u64(&mut self) -> u64 {
        let mut x = self.state;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.state = x;
        x
    }

    pub(crate) fn u32(&mut self) -> u32 {
        (self.u64() >> 16) as u32
    }

    pub(crate) fn below(&mut self, n: u32) -> u32 {
        if n == 0 { 0 } else { self.u32() % n }
    }

    /// A slice of the pool of random length (at most `max`).
    pub(crate) fn bytes(&mut self, max: usize) -> &'a [u8] {
        let len = (self.below(max as u32 + 1) as usize).min(self.pool.len());
        let start = self.below((self.pool.len() - len) as u32 + 1) as usize;
        self.pool.get(start..start + len).unwrap_or(&[])
    }
}

/// Generates arbitrary values of a wire type.
pub(crate) trait Arbitrary<'a> {
    fn arbitrary(g: &mut Gen<'a>) -> Self;
}

impl<'a> Arbitrary<'a> for u32 {
    fn arbitrary(g: &mut Gen<'a>) -> Self {
        g.u32()
    }
}
impl<'a> Arbitrary<'a> for i32 {
    fn arbitrary(g: &mut Gen<'a>) -> Self {
        g.u32() as i32
    }
}
impl<'a> Arbitrary<'a> for u64 {
    fn arbitrary(g: &mut Gen<'a>) -> Self {
        g.u64()
    }
}
impl<'a> Arbitrary<'a> for f32 {
    fn arbitrary(g: &mut Gen<'a>) -> Self {
        g.u32() as f32 / 1024.0
    }
}
impl<'a> Arbitrary<'a> for Ipv4Addr {
    fn arbitrary(g: &mut Gen<'a>) -> Self {
        Ipv4Addr::from(g.u32())
    }
}
impl<'a> Arbitrary<'a> for Ipv6Addr {
    fn arbitrary(g: &mut Gen<'a>) -> Self {
        Ipv6Addr::from((u128::from(g.u64()) << 64) | u128::from(g.u64()))
    }
}
impl<'a> Arbitrary<'a> for [u8; 16] {
    fn arbitrary(g: &mut Gen<'a>) -> Self {
        Ipv6Addr::arbitrary(g).octets()
    }
}
impl<'a> Arbitrary<'a> for &'a [u8] {
    fn arbitrary(g: &mut Gen<'a>) -> Self {
        g.bytes(40)
    }
}
impl<'a> Arbitrary<'a> for MacAddr {
    fn arbitrary(g: &mut Gen<'a>) -> Self {
        let b = g.u64().to_be_bytes();
        MacAddr([b[0], b[1], b[2], b[3], b[4], b[5]])
    }
}
impl<'a> Arbitrary<'a> for Address {
    fn arbitrary(g: &mut Gen<'a>) -> Self {
        match g.below(3) {
            0 => Address::Unknown,
            1 => Address::V4(Ipv4Addr::arbitrary(g)),
            _ => Address::V6(Ipv6Addr::arbitrary(g)),
        }
    }
}
impl<'a> Arbitrary<'a> for U32List<'a> {
    fn arbitrary(g: &mut Gen<'a>) -> Self {
        let n = g.below(6) as usize;
        let values: Vec<u32> = (0..n).map(|_| g.u32()).collect();
        U32List::from_be_bytes(g.keep(U32List::to_be_bytes(&values)))
    }
}
impl<'a> Arbitrary<'a> for AsPath<'a> {
    fn arbitrary(g: &mut Gen<'a>) -> Self {
        let n = g.below(4);
        let segments: Vec<(u32, Vec<u32>)> = (0..n)
            .map(|_| (1 + g.below(2), (0..g.below(5)).map(|_| g.u32()).collect()))
            .collect();
        let refs: Vec<(u32, &[u32])> = segments.iter().map(|(k, v)| (*k, v.as_slice())).collect();
        let raw = g.keep(AsPath::segments_to_bytes(&refs));
        AsPath::from_segments_bytes(n, raw).unwrap_or_default()
    }
}

impl<'a> Arbitrary<'a> for crate::flow::SampledHeader<'a> {
    fn arbitrary(g: &mut Gen<'a>) -> Self {
        Self {
            protocol: g.u32(),
            frame_length: g.u32(),
            stripped: g.u32(),
            header: g.bytes(128),
        }
    }
}

impl<'a> Arbitrary<'a> for crate::flow::Extended80211Aggregation<'a> {
    fn arbitrary(g: &mut Gen<'a>) -> Self {
        use crate::flow::{FlowRecord, SampledHeader};
        let pdus: Vec<Vec<FlowRecord<'a>>> = (0..g.below(3))
            .map(|_| {
                (0..g.below(3))
                    .map(|_| FlowRecord::SampledHeader(SampledHeader::arbitrary(g)))
                    .collect()
            })
            .collect();
        let refs: Vec<&[FlowRecord<'_>]> = pdus.iter().map(Vec::as_slice).collect();
        let raw = g.keep(Self::encode_pdus(&refs));
        Self::from_pdu_bytes(pdus.len() as u32, raw)
            .unwrap_or_else(|| unreachable!("encoded PDUs are valid"))
    }
}

impl<'a> Arbitrary<'a> for crate::counter::HostCpu {
    fn arbitrary(g: &mut Gen<'a>) -> Self {
        use crate::counter::HostCpuExtra;
        let extra = (g.below(2) == 1).then(|| HostCpuExtra::arbitrary(g));
        Self {
            load_one: f32::arbitrary(g),
            load_five: f32::arbitrary(g),
            load_fifteen: f32::arbitrary(g),
            proc_run: g.u32(),
            proc_total: g.u32(),
            cpu_num: g.u32(),
            cpu_speed_mhz: g.u32(),
            uptime_s: g.u32(),
            cpu_user_ms: g.u32(),
            cpu_nice_ms: g.u32(),
            cpu_system_ms: g.u32(),
            cpu_idle_ms: g.u32(),
            cpu_wio_ms: g.u32(),
            cpu_intr_ms: g.u32(),
            cpu_sintr_ms: g.u32(),
            interrupts: g.u32(),
            contexts: g.u32(),
            extra,
        }
    }
}

impl<'a> Arbitrary<'a> for crate::counter::SfpLanes<'a> {
    fn arbitrary(g: &mut Gen<'a>) -> Self {
        use crate::counter::SfpLane;
        let lanes: Vec<SfpLane> = (0..g.below(4)).map(|_| SfpLane::arbitrary(g)).collect();
        Self::from_raw(g.keep(Self::to_raw(&lanes)))
    }
}

impl<'a> Arbitrary<'a> for crate::counter::AdapterList<'a> {
    fn arbitrary(g: &mut Gen<'a>) -> Self {
        use crate::counter::{Adapter, MacList};
        let adapters: Vec<Adapter<'a>> = (0..g.below(3))
            .map(|_| {
                let macs: Vec<MacAddr> = (0..g.below(3)).map(|_| MacAddr::arbitrary(g)).collect();
                Adapter {
                    if_index: g.u32(),
                    macs: MacList::from_raw(g.keep(MacList::to_raw(&macs))),
                }
            })
            .collect();
        let raw = g.keep(Self::to_raw(&adapters));
        Self::from_raw(adapters.len() as u32, raw)
            .unwrap_or_else(|| unreachable!("encoded adapters are valid"))
    }
}
