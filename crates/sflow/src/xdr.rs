//! Bounds-checked XDR cursor, the XDR writer helpers and the [`Xdr`] field trait.
//!
//! All XDR items are big-endian and padded to 4-byte multiples.

use crate::error::{ErrorKind, XdrError};

/// A read cursor over one XDR structure. `base` is the absolute datagram offset of `buf[0]`, so
/// errors can report positions relative to the whole datagram.
#[derive(Debug, Clone)]
pub(crate) struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
    base: usize,
}

impl<'a> Reader<'a> {
    pub(crate) fn new(buf: &'a [u8], base: usize) -> Self {
        Self { buf, pos: 0, base }
    }

    /// Absolute datagram offset of the cursor.
    pub(crate) fn offset(&self) -> usize {
        self.base + self.pos
    }

    pub(crate) fn remaining(&self) -> usize {
        self.buf.len() - self.pos
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.remaining() == 0
    }

    pub(crate) fn error(&self, kind: ErrorKind) -> XdrError {
        XdrError {
            kind,
            offset: self.offset(),
        }
    }

    /// Takes exactly `n` bytes.
    #[inline]
    pub(crate) fn bytes(&mut self, n: usize) -> Result<&'a [u8], XdrError> {
        // A saturated end lies past any buffer, so an overflowing `n` is reported as truncation.
        let end = self.pos.saturating_add(n);
        match self.buf.get(self.pos..end) {
            Some(slice) => {
                self.pos = end;
                Ok(slice)
            }
            _ => Err(self.error(ErrorKind::Truncated {
                needed: n,
                available: self.remaining(),
            })),
        }
    }

    #[inline]
    pub(crate) fn array<const N: usize>(&mut self) -> Result<[u8; N], XdrError> {
        let slice = self.bytes(N)?;
        let mut out = [0u8; N];
        out.copy_from_slice(slice);
        Ok(out)
    }

    #[inline]
    pub(crate) fn u32(&mut self) -> Result<u32, XdrError> {
        self.array::<4>().map(u32::from_be_bytes)
    }

    #[inline]
    pub(crate) fn u64(&mut self) -> Result<u64, XdrError> {
        self.array::<8>().map(u64::from_be_bytes)
    }

    /// A declared length, checked against the bytes left (`unit` bytes per element) before use.
    pub(crate) fn length(&mut self, what: &'static str, unit: usize) -> Result<usize, XdrError> {
        let start = self.pos;
        let length = self.u32()?;
        let needed = (length as u64).saturating_mul(unit as u64);
        if needed > self.remaining() as u64 {
            self.pos = start;
            return Err(self.error(ErrorKind::LengthExceeds {
                what,
                length: length as u64,
                available: self.remaining().saturating_sub(4),
            }));
        }
        Ok(length as usize)
    }

    /// Variable-length opaque: length word, bytes, padding to 4.
    pub(crate) fn opaque(&mut self, what: &'static str) -> Result<&'a [u8], XdrError> {
        let len = self.length(what, 1)?;
        let data = self.bytes(len)?;
        self.bytes(pad(len))?;
        Ok(data)
    }

    /// Fixed opaque of `N` bytes plus padding (e.g. MAC addresses: 6 bytes + 2 pad).
    pub(crate) fn padded_array<const N: usize>(&mut self) -> Result<[u8; N], XdrError> {
        let out = self.array::<N>()?;
        self.bytes(pad(N))?;
        Ok(out)
    }

    /// A sub-reader over the next `len` bytes; the cursor moves past them.
    pub(crate) fn sub(&mut self, len: usize) -> Result<Reader<'a>, XdrError> {
        let base = self.offset();
        let buf = self.bytes(len)?;
        Ok(Reader::new(buf, base))
    }

    /// The unread rest of the buffer.
    pub(crate) fn rest(&mut self) -> &'a [u8] {
        let rest = self.buf.get(self.pos..).unwrap_or(&[]);
        self.pos = self.buf.len();
        rest
    }
}

/// Padding bytes after `len` bytes of opaque data.
pub(crate) const fn pad(len: usize) -> usize {
    (4 - (len & 3)) & 3
}

pub(crate) fn put_u32(out: &mut Vec<u8>, v: u32) {
    out.extend_from_slice(&v.to_be_bytes());
}

pub(crate) fn put_u64(out: &mut Vec<u8>, v: u64) {
    out.extend_from_slice(&v.to_be_bytes());
}

/// Writes variable-length opaque data (length, bytes, zero padding).
/// Lengths above `u32::MAX` cannot be represented and are truncated to `u32::MAX` bytes.
pub(crate) fn put_opaque(out: &mut Vec<u8>, data: &[u8]) {
    let data = data.get(..u32::MAX as usize).unwrap_or(data);
    put_u32(out, data.len() as u32);
    out.extend_from_slice(data);
    out.extend_from_slice(&[0u8; 3][..pad(data.len())]);
}

/// Writes `N` fixed bytes plus zero padding.
pub(crate) fn put_padded(out: &mut Vec<u8>, data: &[u8]) {
    out.extend_from_slice(data);
    out.extend_from_slice(&[0u8; 3][..pad(data.len())]);
}

/// Starts a length-prefixed block: returns the position of the placeholder length word.
pub(crate) fn begin_block(out: &mut Vec<u8>) -> usize {
    let at = out.len();
    put_u32(out, 0);
    at
}

/// Patches the length word written by [`begin_block`] with the bytes written since, then pads the body to a
/// 4-byte multiple as XDR requires (a raw body kept from a datagram that declared an unaligned length would
/// otherwise shift everything after it).
pub(crate) fn end_block(out: &mut Vec<u8>, at: usize) {
    let len = out.len().saturating_sub(at + 4);
    if let Some(word) = out.get_mut(at..at + 4) {
        word.copy_from_slice(&(len as u32).to_be_bytes());
    }
    out.extend_from_slice(&[0u8; 3][..pad(len)]);
}

/// A value with an XDR wire form: decoded (zero-copy) from a [`Reader`] and encoded to bytes.
pub(crate) trait Xdr<'a>: Sized {
    /// Reads the value; never reads past the reader's end.
    fn decode(r: &mut Reader<'a>) -> Result<Self, XdrError>;
    /// Appends the XDR encoding of the value.
    fn encode(&self, out: &mut Vec<u8>);
}

impl<'a> Xdr<'a> for u32 {
    fn decode(r: &mut Reader<'a>) -> Result<Self, XdrError> {
        r.u32()
    }
    fn encode(&self, out: &mut Vec<u8>) {
        put_u32(out, *self);
    }
}

impl<'a> Xdr<'a> for i32 {
    fn decode(r: &mut Reader<'a>) -> Result<Self, XdrError> {
        r.array::<4>().map(i32::from_be_bytes)
    }
    fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.to_be_bytes());
    }
}

impl<'a> Xdr<'a> for u64 {
    fn decode(r: &mut Reader<'a>) -> Result<Self, XdrError> {
        r.u64()
    }
    fn encode(&self, out: &mut Vec<u8>) {
        put_u64(out, *self);
    }
}

impl<'a> Xdr<'a> for f32 {
    fn decode(r: &mut Reader<'a>) -> Result<Self, XdrError> {
        r.u32().map(f32::from_bits)
    }
    fn encode(&self, out: &mut Vec<u8>) {
        put_u32(out, self.to_bits());
    }
}

impl<'a> Xdr<'a> for std::net::Ipv4Addr {
    fn decode(r: &mut Reader<'a>) -> Result<Self, XdrError> {
        r.array::<4>().map(Self::from)
    }
    fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.octets());
    }
}

impl<'a> Xdr<'a> for std::net::Ipv6Addr {
    fn decode(r: &mut Reader<'a>) -> Result<Self, XdrError> {
        r.array::<16>().map(Self::from)
    }
    fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.octets());
    }
}

/// 16 raw bytes (UUIDs, GIDs).
impl<'a> Xdr<'a> for [u8; 16] {
    fn decode(r: &mut Reader<'a>) -> Result<Self, XdrError> {
        r.array::<16>()
    }
    fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(self);
    }
}

/// Variable-length XDR opaque / string, borrowed from the datagram (bytes are not validated as UTF-8).
impl<'a> Xdr<'a> for &'a [u8] {
    fn decode(r: &mut Reader<'a>) -> Result<Self, XdrError> {
        r.opaque("string length")
    }
    fn encode(&self, out: &mut Vec<u8>) {
        put_opaque(out, self);
    }
}

/// Defines a record struct whose XDR form is its fields in order, with `decode`/`encode` via [`Xdr`].
macro_rules! xdr_struct {
    (
        $(#[$meta:meta])*
        pub struct $name:ident $(<$lt:lifetime>)? {
            $( $(#[$fmeta:meta])* pub $field:ident : $ty:ty ),* $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq)]
        pub struct $name $(<$lt>)? {
            // The fields are the sFlow structure's, in wire order, named as the specification (and the MIB the
            // struct's doc cites) names them; a one-line doc per field would only repeat the name. Fields whose
            // meaning the name does not give (units, encodings) carry a doc comment in the invocation.
            $( $(#[$fmeta])* #[allow(missing_docs)] pub $field: $ty, )*
        }

        impl<'x $(: $lt, $lt: 'x)?> $crate::xdr::Xdr<'x> for $name $(<$lt>)? {
            fn decode(r: &mut $crate::xdr::Reader<'x>) -> Result<Self, $crate::error::XdrError> {
                Ok(Self { $( $field: <$ty as $crate::xdr::Xdr<'x>>::decode(r)?, )* })
            }
            fn encode(&self, out: &mut Vec<u8>) {
                let _ = &out;
                $( <$ty as $crate::xdr::Xdr<'x>>::encode(&self.$field, out); )*
            }
        }

        #[cfg(test)]
        impl<'x $(: $lt, $lt: 'x)?> $crate::testgen::Arbitrary<'x> for $name $(<$lt>)? {
            fn arbitrary(g: &mut $crate::testgen::Gen<'x>) -> Self {
                let _ = &g;
                Self { $( $field: <$ty as $crate::testgen::Arbitrary<'x>>::arbitrary(g), )* }
            }
        }
    };
}
pub(crate) use xdr_struct;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reader_reports_truncation_with_absolute_offset() {
        let mut r = Reader::new(&[0, 0, 0, 1, 0, 0], 100);
        assert_eq!(r.u32(), Ok(1));
        let err = r.u32().unwrap_err();
        assert_eq!(err.offset, 104);
        assert_eq!(
            err.kind,
            ErrorKind::Truncated {
                needed: 4,
                available: 2
            }
        );
    }

    #[test]
    fn opaque_is_padded_and_length_checked() {
        let mut out = Vec::new();
        put_opaque(&mut out, b"abcde");
        assert_eq!(out, [0, 0, 0, 5, b'a', b'b', b'c', b'd', b'e', 0, 0, 0]);
        let mut r = Reader::new(&out, 0);
        assert_eq!(r.opaque("s"), Ok(&b"abcde"[..]));
        assert!(r.is_empty());

        let mut r = Reader::new(&[0, 0, 1, 0, 1, 2], 8);
        let err = r.opaque("header length").unwrap_err();
        assert_eq!(
            err.kind,
            ErrorKind::LengthExceeds {
                what: "header length",
                length: 256,
                available: 2
            }
        );
        assert_eq!(err.offset, 8);
    }

    #[test]
    fn huge_lengths_do_not_overflow() {
        let mut r = Reader::new(&[0xff, 0xff, 0xff, 0xff], 0);
        assert!(r.length("count", usize::MAX).is_err());
        let mut r = Reader::new(&[1, 2, 3], 0);
        assert!(r.bytes(usize::MAX).is_err());
        // Past the start, `pos + n` overflows: still an error, and the cursor stays put.
        assert_eq!(r.bytes(1), Ok(&[1u8][..]));
        assert!(r.bytes(usize::MAX).is_err());
        assert_eq!(r.bytes(2), Ok(&[2u8, 3][..]));
    }

    #[test]
    fn block_length_is_patched() {
        let mut out = vec![9];
        let at = begin_block(&mut out);
        put_u64(&mut out, 7);
        end_block(&mut out, at);
        assert_eq!(&out[1..5], &[0, 0, 0, 8]);
    }
}
