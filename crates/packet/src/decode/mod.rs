//! Header decoding: one [`LevelDecoder`] pass per encapsulation level. A pass returns a
//! [`Continuation`] telling the driver whether a tunnel payload or a DNS message follows.

mod ip;
mod link;
mod transport;

use crate::dns;
use crate::fields::{Headers, PacketFields, Tunnel};
use crate::stack::{Proto, Stack};

/// sFlow `header_protocol` values decoded by this crate (sFlow v5 `SFLHeader_protocol`).
pub const HEADER_PROTOCOL_ETHERNET: u32 = 1;
/// Sampled header starts at an IPv4 header (`SFLHEADER_IPv4`).
pub const HEADER_PROTOCOL_IPV4: u32 = 11;
/// Sampled header starts at an IPv6 header (`SFLHEADER_IPv6`).
pub const HEADER_PROTOCOL_IPV6: u32 = 12;

/// Where decoding of a level starts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Entry {
    Ethernet(usize),
    Ipv4(usize),
    Ipv6(usize),
}

/// What follows the headers decoded by one level.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Continuation {
    Done,
    Tunnel { tunnel: Tunnel, entry: Entry },
    Dns { offset: usize },
}

/// Decodes the headers of one encapsulation level into `headers`.
pub(crate) struct LevelDecoder<'a> {
    bytes: &'a [u8],
    headers: &'a mut Headers,
    stack: &'a mut Stack,
    truncated: &'a mut Option<Proto>,
    /// Only the outer level may open a tunnel (one level of inner headers is decoded).
    tunnels_allowed: bool,
}

impl LevelDecoder<'_> {
    fn run(&mut self, entry: Entry) -> Continuation {
        match entry {
            Entry::Ethernet(off) => self.ethernet(off),
            Entry::Ipv4(off) => self.ipv4(off),
            Entry::Ipv6(off) => self.ipv6(off),
        }
    }

    /// Records that `proto` was identified but its header is not completely captured.
    fn cut_off(&mut self, proto: Proto) -> Continuation {
        self.truncated.get_or_insert(proto);
        Continuation::Done
    }

    /// Dispatches on an EtherType (after Ethernet, VLAN tags, LLC/SNAP, GRE or Geneve).
    fn network(&mut self, off: usize, ethertype: u16) -> Continuation {
        match ethertype {
            0x0800 => self.ipv4(off),
            0x86dd => self.ipv6(off),
            0x0806 => self.arp(off),
            0x8847 | 0x8848 => self.mpls(off),
            _ => Continuation::Done,
        }
    }
}

/// Decodes a sampled header (sFlow flow record 0:1). See [`crate::decode_into`].
pub(crate) fn decode_into(header_protocol: u32, bytes: &[u8], out: &mut PacketFields) {
    *out = PacketFields::EMPTY;
    out.header_protocol = header_protocol;
    let entry = match header_protocol {
        HEADER_PROTOCOL_ETHERNET => Entry::Ethernet(0),
        HEADER_PROTOCOL_IPV4 => Entry::Ipv4(0),
        HEADER_PROTOCOL_IPV6 => Entry::Ipv6(0),
        _ => {
            out.undecoded = true;
            return;
        }
    };
    let PacketFields {
        outer,
        tunnel,
        inner,
        dns: dns_out,
        stack,
        truncated,
        ..
    } = out;
    let next = LevelDecoder {
        bytes,
        headers: outer,
        stack,
        truncated,
        tunnels_allowed: true,
    }
    .run(entry);
    let next = match next {
        Continuation::Tunnel { tunnel: t, entry } => {
            *tunnel = Some(t);
            let headers = inner.insert(Headers::EMPTY);
            LevelDecoder {
                bytes,
                headers,
                stack,
                truncated,
                tunnels_allowed: false,
            }
            .run(entry)
        }
        other => other,
    };
    if let Continuation::Dns { offset } = next {
        *dns_out = dns::decode_question(bytes, offset);
    }
}
