//! Record framing shared by flow and counter records: opaque records, record lists and the
//! macro that builds the typed record enums.

use crate::error::{DecodeError, ErrorKind, Location, Tag, XdrError};
use crate::xdr::{Reader, begin_block, end_block, pad, put_u32};

/// A record or sample this crate does not decode (unknown enterprise/format), or one kept raw.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Opaque<'a> {
    /// The record's tag.
    pub tag: Tag,
    /// The record body, exactly `length` bytes as declared on the wire.
    pub data: &'a [u8],
}

impl Opaque<'_> {
    /// Appends tag, length and body, then XDR padding if the body length is not a multiple of 4.
    pub fn encode(&self, out: &mut Vec<u8>) {
        put_u32(out, self.tag.to_word());
        crate::xdr::put_opaque(out, self.data);
    }
}

/// A borrowed list of records (flow or counter records of one sample), decoded lazily.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RecordList<'a> {
    count: u32,
    data: &'a [u8],
    offset: usize,
    sample_index: u32,
    sample_tag: Tag,
}

impl<'a> RecordList<'a> {
    pub(crate) fn decode(
        r: &mut Reader<'a>,
        sample_index: u32,
        sample_tag: Tag,
    ) -> Result<Self, XdrError> {
        // Each record takes at least 8 bytes (tag + length).
        let count = r.length("record count", 8)? as u32;
        let offset = r.offset();
        let data = r.rest();
        Ok(Self {
            count,
            data,
            offset,
            sample_index,
            sample_tag,
        })
    }

    /// The record count declared by the sample.
    pub fn count(&self) -> u32 {
        self.count
    }

    /// The raw bytes of all records (and anything trailing them inside the sample).
    pub fn raw(&self) -> &'a [u8] {
        self.data
    }

    /// Writes the count and the raw record bytes.
    pub(crate) fn encode(&self, out: &mut Vec<u8>) {
        put_u32(out, self.count);
        out.extend_from_slice(self.data);
    }

    /// Iterates over the records as `T` (flow or counter records).
    pub(crate) fn iter<T: RecordKind<'a>>(&self) -> Records<'a, T> {
        Records {
            reader: Reader::new(self.data, self.offset),
            left: self.count,
            index: 0,
            sample_index: self.sample_index,
            sample_tag: self.sample_tag,
            _kind: std::marker::PhantomData,
        }
    }
}

/// A family of records (flow records or counter records) keyed by tag.
pub(crate) trait RecordKind<'a>: Sized {
    /// Decodes a record body for `tag`; unknown tags become opaque.
    fn decode_body(tag: Tag, body: &mut Reader<'a>) -> Result<Self, XdrError>;
}

/// Iterator over the records of one sample.
///
/// A record whose body does not match its layout yields `Err` and iteration continues with the
/// next record (the length framing is intact). A record whose declared length runs past the
/// sample yields `Err` and ends the iteration.
#[derive(Debug, Clone)]
pub(crate) struct Records<'a, T> {
    reader: Reader<'a>,
    left: u32,
    index: u32,
    sample_index: u32,
    sample_tag: Tag,
    _kind: std::marker::PhantomData<T>,
}

impl<'a, T: RecordKind<'a>> Iterator for Records<'a, T> {
    type Item = Result<T, DecodeError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.left == 0 {
            return None;
        }
        self.left -= 1;
        self.index += 1;
        let location = |tag| Location::Record {
            sample_index: self.sample_index,
            sample_tag: self.sample_tag,
            index: self.index,
            tag,
        };
        match read_framed(&mut self.reader, "record length") {
            Ok((tag, mut body)) => {
                Some(T::decode_body(tag, &mut body).map_err(|e| e.at(location(tag))))
            }
            Err((tag, e)) => {
                self.left = 0;
                Some(Err(e.at(location(tag))))
            }
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (0, Some(self.left as usize))
    }
}

/// Reads the framing of a sample or record: its tag word and a `what`-length-prefixed body.
/// On error also returns the tag, or the default tag when even the tag word is missing.
pub(crate) fn read_framed<'a>(
    reader: &mut Reader<'a>,
    what: &'static str,
) -> Result<(Tag, Reader<'a>), (Tag, XdrError)> {
    let tag = reader
        .u32()
        .map(Tag::from_word)
        .map_err(|e| (Tag::default(), e))?;
    let len = reader.length(what, 1).map_err(|e| (tag, e))?;
    let body = reader.sub(len).map_err(|e| (tag, e))?;
    // A body whose length is not a multiple of 4 is followed by XDR padding (sflowtool skips
    // it too); a structure cut short at the very end of its container may lack it.
    if len & 3 != 0 {
        let _ = reader.bytes(pad(len).min(reader.remaining()));
    }
    Ok((tag, body))
}

/// Writes one record: tag, length, body.
pub(crate) fn encode_record(out: &mut Vec<u8>, tag: Tag, body: impl FnOnce(&mut Vec<u8>)) {
    put_u32(out, tag.to_word());
    let at = begin_block(out);
    body(out);
    end_block(out, at);
}

/// Records decode opaque bodies from the rest of the record.
impl<'a> Opaque<'a> {
    pub(crate) fn from_body(tag: Tag, body: &mut Reader<'a>) -> Self {
        Opaque {
            tag,
            data: body.rest(),
        }
    }
}

/// Convenience for errors raised while validating a record's own invariants.
#[allow(dead_code)]
pub(crate) fn length_error(r: &Reader<'_>, what: &'static str, length: u64) -> XdrError {
    r.error(ErrorKind::LengthExceeds {
        what,
        length,
        available: r.remaining(),
    })
}

/// Builds a record enum: one variant per known `(enterprise, format)`, plus `Unknown(Opaque)`.
macro_rules! record_enum {
    (
        $(#[$meta:meta])*
        pub enum $name:ident<$lt:lifetime> {
            $( $(#[$vmeta:meta])* ($ent:literal, $fmt:literal) $variant:ident($ty:ty), )*
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq)]
        #[non_exhaustive]
        pub enum $name<$lt> {
            $( $(#[$vmeta])* $variant($ty), )*
            /// A record this crate does not decode, kept raw.
            Unknown($crate::record::Opaque<$lt>),
        }

        impl<$lt> $name<$lt> {
            /// The record's tag (`enterprise:format`).
            pub fn tag(&self) -> $crate::error::Tag {
                match self {
                    $( $name::$variant(_) => $crate::error::Tag::new($ent, $fmt), )*
                    $name::Unknown(o) => o.tag,
                }
            }

            /// Appends the record (tag, length, body).
            pub fn encode(&self, out: &mut Vec<u8>) {
                match self {
                    $( $name::$variant(v) => $crate::record::encode_record(out, self.tag(), |o| $crate::xdr::Xdr::encode(v, o)), )*
                    $name::Unknown(o) => o.encode(out),
                }
            }

            /// One record of every known kind, filled from the generator (for round-trip tests).
            #[cfg(test)]
            pub(crate) fn arbitrary_all(g: &mut $crate::testgen::Gen<$lt>) -> Vec<Self> {
                vec![ $( $name::$variant(<$ty as $crate::testgen::Arbitrary<$lt>>::arbitrary(g)), )* ]
            }
        }

        impl<$lt> $crate::record::RecordKind<$lt> for $name<$lt> {
            fn decode_body(
                tag: $crate::error::Tag,
                body: &mut $crate::xdr::Reader<$lt>,
            ) -> Result<Self, $crate::error::XdrError> {
                Ok(match (tag.enterprise, tag.format) {
                    $( ($ent, $fmt) => $name::$variant(<$ty as $crate::xdr::Xdr<$lt>>::decode(body)?), )*
                    _ => $name::Unknown($crate::record::Opaque::from_body(tag, body)),
                })
            }
        }
    };
}
pub(crate) use record_enum;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn framing_reads_tag_and_body_and_names_the_tag_on_errors() {
        // enterprise 0, format 0xfa3 (4003); 2 body bytes.
        let mut r = Reader::new(&[0, 0, 0x0f, 0xa3, 0, 0, 0, 2, 9, 9], 0);
        let (tag, body) = read_framed(&mut r, "record length").unwrap();
        assert_eq!(
            (tag, body.offset(), body.remaining()),
            (Tag::new(0, 0xfa3), 8, 2)
        );
        assert!(r.is_empty());

        // Tag 0:1 declaring 8 body bytes with 4 left: the error is at the length word.
        let mut r = Reader::new(&[0, 0, 0, 1, 0, 0, 0, 8, 1, 2, 3, 4], 100);
        let (tag, e) = read_framed(&mut r, "record length").unwrap_err();
        assert_eq!((tag, e.offset), (Tag::new(0, 1), 104));

        // A 5-byte body is followed by 3 bytes of padding, then the next structure.
        let mut r = Reader::new(&[0, 0, 0, 9, 0, 0, 0, 5, 1, 2, 3, 4, 5, 0, 0, 0, 7, 7], 0);
        let (tag, body) = read_framed(&mut r, "sample length").unwrap();
        assert_eq!((tag, body.remaining()), (Tag::new(0, 9), 5));
        assert_eq!((r.offset(), r.remaining()), (16, 2));
        // ... which may be missing when the structure ends its container.
        let mut r = Reader::new(&[0, 0, 0, 9, 0, 0, 0, 5, 1, 2, 3, 4, 5, 0], 0);
        let (_, body) = read_framed(&mut r, "sample length").unwrap();
        assert_eq!((body.remaining(), r.remaining()), (5, 0));

        // Not even a tag word.
        let mut r = Reader::new(&[0, 0], 0);
        let (tag, e) = read_framed(&mut r, "record length").unwrap_err();
        assert_eq!((tag, e.offset), (Tag::default(), 0));
    }
}
