//! Small shared XDR types: addresses, MACs, data sources, interfaces and borrowed lists.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use crate::error::{ErrorKind, XdrError};
use crate::xdr::{Reader, Xdr, put_padded, put_u32};

/// An sFlow `address`: type word (0 unknown, 1 IPv4, 2 IPv6) followed by the address bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Address {
    /// Type 0: address unknown (no address bytes follow).
    #[default]
    Unknown,
    /// Type 1.
    V4(Ipv4Addr),
    /// Type 2.
    V6(Ipv6Addr),
}

impl Address {
    /// The address as an [`IpAddr`], `None` for [`Address::Unknown`].
    pub fn ip(&self) -> Option<IpAddr> {
        match *self {
            Address::Unknown => None,
            Address::V4(a) => Some(IpAddr::V4(a)),
            Address::V6(a) => Some(IpAddr::V6(a)),
        }
    }
}

impl From<IpAddr> for Address {
    fn from(ip: IpAddr) -> Self {
        match ip {
            IpAddr::V4(a) => Address::V4(a),
            IpAddr::V6(a) => Address::V6(a),
        }
    }
}

impl From<Ipv4Addr> for Address {
    fn from(ip: Ipv4Addr) -> Self {
        Address::V4(ip)
    }
}

impl fmt::Display for Address {
    /// Dotted quad / RFC 5952 (compressed) IPv6, `-` for unknown. Not sflowtool's IPv6 form:
    /// sflowtool prints IPv6 uncompressed (`2001:0db8:0000:...`), which `rtflow-sflowtool` and
    /// `rtflow_packet::format::Ipv6Full` write.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Address::Unknown => f.write_str("-"),
            Address::V4(a) => a.fmt(f),
            Address::V6(a) => a.fmt(f),
        }
    }
}

impl<'a> Xdr<'a> for Address {
    fn decode(r: &mut Reader<'a>) -> Result<Self, XdrError> {
        let at = r.offset();
        match r.u32()? {
            0 => Ok(Address::Unknown),
            1 => Ipv4Addr::decode(r).map(Address::V4),
            2 => Ipv6Addr::decode(r).map(Address::V6),
            other => Err(XdrError {
                kind: ErrorKind::BadAddressType(other),
                offset: at,
            }),
        }
    }
    fn encode(&self, out: &mut Vec<u8>) {
        match self {
            Address::Unknown => put_u32(out, 0),
            Address::V4(a) => {
                put_u32(out, 1);
                a.encode(out);
            }
            Address::V6(a) => {
                put_u32(out, 2);
                a.encode(out);
            }
        }
    }
}

/// A MAC address, carried in XDR as 6 bytes plus 2 bytes of padding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct MacAddr(pub [u8; 6]);

impl fmt::Display for MacAddr {
    /// Lower-case hex without separators, as sflowtool prints `srcMAC`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for b in self.0 {
            write!(f, "{b:02x}")?;
        }
        Ok(())
    }
}

impl<'a> Xdr<'a> for MacAddr {
    fn decode(r: &mut Reader<'a>) -> Result<Self, XdrError> {
        r.padded_array::<6>().map(MacAddr)
    }
    fn encode(&self, out: &mut Vec<u8>) {
        put_padded(out, &self.0);
    }
}

/// The data source of a sample (`sflow_data_source`): class (0 ifIndex, 1 smonVlanDataSource,
/// 2 entPhysicalEntry, ...) and index. Displayed as sflowtool's `sourceId`, e.g. `0:11001`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct DataSource {
    /// Source class (`type` in the spec).
    pub class: u32,
    /// Source index (ifIndex for class 0).
    pub index: u32,
}

impl DataSource {
    /// Decodes the compact form: class in the top 8 bits, index in the low 24.
    pub const fn from_compact(word: u32) -> Self {
        Self {
            class: word >> 24,
            index: word & 0x00ff_ffff,
        }
    }

    /// The compact form; `None` if class or index does not fit (8 / 24 bits).
    pub const fn to_compact(self) -> Option<u32> {
        if self.class > 0xff || self.index > 0x00ff_ffff {
            None
        } else {
            Some((self.class << 24) | self.index)
        }
    }

    /// `(class, index)`.
    pub const fn parts(self) -> (u32, u32) {
        (self.class, self.index)
    }
}

impl fmt::Display for DataSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.class, self.index)
    }
}

/// An input/output interface of a flow or discard sample: a 2-bit (compact) or 32-bit
/// (expanded) format plus a value whose meaning depends on the format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Interface {
    /// 0 = single ifIndex, 1 = packet discarded (value = reason), 2 = multiple interfaces
    /// (value = count, 0 = unknown count).
    pub format: u32,
    /// ifIndex, discard reason or interface count (30 bits in compact samples).
    pub value: u32,
}

/// The meaning of an [`Interface`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum InterfaceKind {
    /// A single interface; `0` means unknown.
    Index(u32),
    /// The packet was discarded; the value is the reason code (e.g. 256 unknown, 258 ACL).
    Discarded(u32),
    /// Sent to multiple interfaces; the value is their number (0 = unknown number).
    Multiple(u32),
    /// A format not defined by the spec.
    Other {
        /// The format.
        format: u32,
        /// The value.
        value: u32,
    },
}

impl Interface {
    /// A single-ifIndex interface.
    pub const fn index(if_index: u32) -> Self {
        Self {
            format: 0,
            value: if_index,
        }
    }

    /// Decodes the compact 32-bit form (format in the top 2 bits).
    pub const fn from_compact(word: u32) -> Self {
        Self {
            format: word >> 30,
            value: word & 0x3fff_ffff,
        }
    }

    /// The compact form; `None` if the format or value does not fit (2 / 30 bits).
    pub const fn to_compact(self) -> Option<u32> {
        if self.format > 3 || self.value > 0x3fff_ffff {
            None
        } else {
            Some((self.format << 30) | self.value)
        }
    }

    /// Interprets the format bits.
    pub const fn kind(self) -> InterfaceKind {
        match self.format {
            0 => InterfaceKind::Index(self.value),
            1 => InterfaceKind::Discarded(self.value),
            2 => InterfaceKind::Multiple(self.value),
            format => InterfaceKind::Other {
                format,
                value: self.value,
            },
        }
    }
}

/// A borrowed XDR array of `u32` (communities, MPLS label stacks, VLAN stacks, AS numbers).
#[derive(Clone, Copy, PartialEq, Eq, Default)]
pub struct U32List<'a> {
    raw: &'a [u8],
}

impl<'a> U32List<'a> {
    /// Wraps raw big-endian words; a trailing partial word is ignored.
    pub fn from_be_bytes(raw: &'a [u8]) -> Self {
        Self {
            raw: raw.get(..raw.len() & !3).unwrap_or(&[]),
        }
    }

    /// Encodes `values` as big-endian words, for building a list with [`U32List::from_be_bytes`].
    pub fn to_be_bytes(values: &[u32]) -> Vec<u8> {
        values.iter().flat_map(|v| v.to_be_bytes()).collect()
    }

    /// Number of elements.
    pub fn len(&self) -> usize {
        self.raw.len() / 4
    }

    /// True if empty.
    pub fn is_empty(&self) -> bool {
        self.raw.is_empty()
    }

    /// The raw big-endian bytes.
    pub fn as_bytes(&self) -> &'a [u8] {
        self.raw
    }

    /// The elements in wire order.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = u32> + use<'a> {
        self.raw
            .chunks_exact(4)
            .map(|c| u32::from_be_bytes([c[0], c[1], c[2], c[3]]))
    }
}

impl fmt::Debug for U32List<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

impl<'a> Xdr<'a> for U32List<'a> {
    fn decode(r: &mut Reader<'a>) -> Result<Self, XdrError> {
        let n = r.length("list length", 4)?;
        r.bytes(n * 4).map(|raw| U32List { raw })
    }
    fn encode(&self, out: &mut Vec<u8>) {
        put_u32(out, self.len() as u32);
        out.extend_from_slice(self.raw);
    }
}

/// One AS path segment of an extended gateway record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AsPathSegment<'a> {
    /// 1 = AS_SET, 2 = AS_SEQUENCE.
    pub kind: u32,
    /// The AS numbers.
    pub asns: U32List<'a>,
}

/// A borrowed, pre-validated XDR array of [`AsPathSegment`]s.
#[derive(Clone, Copy, PartialEq, Eq, Default)]
pub struct AsPath<'a> {
    count: u32,
    raw: &'a [u8],
}

impl<'a> AsPath<'a> {
    /// Encodes segments into their XDR bytes (without the count), for [`AsPath::from_segments_bytes`].
    pub fn segments_to_bytes(segments: &[(u32, &[u32])]) -> Vec<u8> {
        let mut out = Vec::new();
        for (kind, asns) in segments {
            put_u32(&mut out, *kind);
            put_u32(&mut out, asns.len() as u32);
            for asn in *asns {
                put_u32(&mut out, *asn);
            }
        }
        out
    }

    /// Wraps bytes produced by [`AsPath::segments_to_bytes`]; `None` if they are not a
    /// well-formed list of `count` segments.
    pub fn from_segments_bytes(count: u32, raw: &'a [u8]) -> Option<Self> {
        let mut r = Reader::new(raw, 0);
        for _ in 0..count {
            r.u32().ok()?;
            let n = r.length("", 4).ok()?;
            r.bytes(n * 4).ok()?;
        }
        r.is_empty().then_some(Self { count, raw })
    }

    /// Number of segments.
    pub fn len(&self) -> usize {
        self.count as usize
    }

    /// True if there are no segments.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// The segments in wire order.
    pub fn segments(&self) -> AsPathSegments<'a> {
        AsPathSegments {
            raw: self.raw,
            left: self.count,
        }
    }

    /// All AS numbers of all segments, flattened (sflowtool prints them joined by `-`).
    pub fn asns(&self) -> impl Iterator<Item = u32> + use<'a> {
        self.segments().flat_map(|s| s.asns.iter())
    }
}

impl fmt::Debug for AsPath<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.segments()).finish()
    }
}

/// Iterator over the segments of a validated [`AsPath`].
#[derive(Debug, Clone)]
pub struct AsPathSegments<'a> {
    raw: &'a [u8],
    left: u32,
}

impl<'a> Iterator for AsPathSegments<'a> {
    type Item = AsPathSegment<'a>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.left == 0 {
            return None;
        }
        self.left -= 1;
        // The bytes were validated when the record was decoded; a failure ends the iteration.
        let mut r = Reader::new(self.raw, 0);
        let kind = r.u32().ok()?;
        let asns = U32List::decode(&mut r).ok()?;
        self.raw = r.rest();
        Some(AsPathSegment { kind, asns })
    }
}

impl<'a> Xdr<'a> for AsPath<'a> {
    fn decode(r: &mut Reader<'a>) -> Result<Self, XdrError> {
        // Each segment needs at least 8 bytes, which bounds the count before walking.
        let count = r.length("AS path segment count", 8)?;
        let start = r.clone();
        for _ in 0..count {
            r.u32()?;
            U32List::decode(r)?;
        }
        let used = start.remaining() - r.remaining();
        let mut start = start;
        let raw = start.bytes(used)?;
        Ok(AsPath {
            count: count as u32,
            raw,
        })
    }
    fn encode(&self, out: &mut Vec<u8>) {
        put_u32(out, self.count);
        out.extend_from_slice(self.raw);
    }
}

/// Declares a borrowed, pre-validated XDR array of fixed-size structs with a typed iterator.
macro_rules! fixed_list {
    ($(#[$meta:meta])* $name:ident, $iter:ident, $item:ty, $size:expr, $what:expr) => {
        $(#[$meta])*
        #[derive(Clone, Copy, PartialEq, Eq, Default)]
        pub struct $name<'a> {
            raw: &'a [u8],
        }

        impl<'a> $name<'a> {
            /// Size of one element on the wire.
            pub const ELEMENT_SIZE: usize = $size;

            /// Encodes elements into the raw bytes accepted by `from_raw`.
            pub fn to_raw(items: &[$item]) -> Vec<u8> {
                let mut out = Vec::with_capacity(items.len() * $size);
                for item in items {
                    $crate::xdr::Xdr::encode(item, &mut out);
                }
                out
            }

            /// Wraps raw element bytes; a trailing partial element is ignored.
            pub fn from_raw(raw: &'a [u8]) -> Self {
                Self { raw: raw.get(..raw.len() - raw.len() % $size).unwrap_or(&[]) }
            }

            /// Number of elements.
            pub fn len(&self) -> usize {
                self.raw.len() / $size
            }

            /// True if empty.
            pub fn is_empty(&self) -> bool {
                self.raw.is_empty()
            }

            /// The elements in wire order.
            pub fn iter(&self) -> $iter<'a> {
                $iter { chunks: self.raw.chunks_exact($size) }
            }
        }

        impl std::fmt::Debug for $name<'_> {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.debug_list().entries(self.iter()).finish()
            }
        }

        /// Iterator over the elements of a list.
        #[derive(Debug, Clone)]
        pub struct $iter<'a> {
            chunks: std::slice::ChunksExact<'a, u8>,
        }

        impl<'a> Iterator for $iter<'a> {
            type Item = $item;
            fn next(&mut self) -> Option<$item> {
                let chunk = self.chunks.next()?;
                <$item as $crate::xdr::Xdr<'a>>::decode(&mut $crate::xdr::Reader::new(chunk, 0)).ok()
            }
        }

        impl<'a> $crate::xdr::Xdr<'a> for $name<'a> {
            fn decode(r: &mut Reader<'a>) -> Result<Self, XdrError> {
                let n = r.length($what, $size)?;
                r.bytes(n * $size).map(|raw| Self { raw })
            }
            fn encode(&self, out: &mut Vec<u8>) {
                put_u32(out, self.len() as u32);
                out.extend_from_slice(self.raw);
            }
        }
    };
}
pub(crate) use fixed_list;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compact_data_source_and_interface() {
        let ds = DataSource::from_compact(0x0100_0005);
        assert_eq!(ds, DataSource { class: 1, index: 5 });
        assert_eq!(ds.to_string(), "1:5");
        assert_eq!(ds.to_compact(), Some(0x0100_0005));
        assert_eq!(
            DataSource {
                class: 256,
                index: 0
            }
            .to_compact(),
            None
        );

        assert_eq!(
            Interface::from_compact(0x8000_0007).kind(),
            InterfaceKind::Multiple(7)
        );
        assert_eq!(
            Interface::from_compact(0x4000_0102).kind(),
            InterfaceKind::Discarded(258)
        );
        assert_eq!(Interface::from_compact(42).kind(), InterfaceKind::Index(42));
    }

    #[test]
    fn address_decodes_all_types_and_rejects_others() {
        let mut out = Vec::new();
        Address::V6(Ipv6Addr::LOCALHOST).encode(&mut out);
        Address::Unknown.encode(&mut out);
        Address::V4(Ipv4Addr::new(1, 2, 3, 4)).encode(&mut out);
        put_u32(&mut out, 7);
        let mut r = Reader::new(&out, 0);
        assert_eq!(
            Address::decode(&mut r),
            Ok(Address::V6(Ipv6Addr::LOCALHOST))
        );
        assert_eq!(Address::decode(&mut r), Ok(Address::Unknown));
        assert_eq!(
            Address::decode(&mut r),
            Ok(Address::V4(Ipv4Addr::new(1, 2, 3, 4)))
        );
        assert_eq!(
            Address::decode(&mut r).unwrap_err().kind,
            ErrorKind::BadAddressType(7)
        );
    }

    #[test]
    fn as_path_walks_segments() {
        let raw = AsPath::segments_to_bytes(&[(2, &[8218, 29605]), (1, &[203361])]);
        let path = AsPath::from_segments_bytes(2, &raw).unwrap();
        assert_eq!(path.asns().collect::<Vec<_>>(), [8218, 29605, 203361]);
        assert_eq!(path.segments().map(|s| s.kind).collect::<Vec<_>>(), [2, 1]);
        assert!(AsPath::from_segments_bytes(3, &raw).is_none());
    }

    #[test]
    fn as_path_rejects_huge_count_without_walking() {
        let mut r = Reader::new(&[0x7f, 0xff, 0xff, 0xff, 0, 0, 0, 2], 0);
        assert!(matches!(
            AsPath::decode(&mut r).unwrap_err().kind,
            ErrorKind::LengthExceeds { .. }
        ));
    }
}
