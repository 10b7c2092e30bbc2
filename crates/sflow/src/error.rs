//! Typed decode errors carrying the location (sample / record) and byte offset of the fault.

use std::fmt;

/// An sFlow structure tag: `enterprise:format` (the XDR `data_format` word is
/// `enterprise << 12 | format`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Tag {
    /// IANA enterprise number (0 = sFlow standard structures).
    pub enterprise: u32,
    /// Structure format number within the enterprise.
    pub format: u32,
}

impl Tag {
    /// Builds a tag from its parts.
    pub const fn new(enterprise: u32, format: u32) -> Self {
        Self { enterprise, format }
    }

    /// Splits an XDR `data_format` word (20-bit enterprise, 12-bit format).
    pub const fn from_word(word: u32) -> Self {
        Self {
            enterprise: word >> 12,
            format: word & 0xfff,
        }
    }

    /// The XDR `data_format` word; the enterprise is truncated to 20 bits and the format to 12.
    pub const fn to_word(self) -> u32 {
        (self.enterprise << 12) | (self.format & 0xfff)
    }
}

impl fmt::Display for Tag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.enterprise, self.format)
    }
}

/// What went wrong while reading XDR data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// A fixed-size field runs past the end of its enclosing structure.
    Truncated {
        /// Bytes the field needs.
        needed: usize,
        /// Bytes left in the enclosing structure.
        available: usize,
    },
    /// A declared length (or element count) exceeds the bytes left in its container.
    LengthExceeds {
        /// Which length field, e.g. `"header length"`.
        what: &'static str,
        /// The declared value.
        length: u64,
        /// The bytes left in the container.
        available: usize,
    },
    /// An address type other than 0 (unknown), 1 (IPv4) or 2 (IPv6).
    BadAddressType(u32),
    /// A type or version word this decoder does not know, where no length allows skipping the
    /// structure (sFlow v2/v4).
    UnexpectedValue {
        /// Which word, e.g. `"packet data type"`.
        what: &'static str,
        /// Its value.
        value: u32,
    },
    /// The datagram is shorter than the fixed part of the sFlow v5 header.
    ShortDatagram {
        /// Datagram length in bytes.
        length: usize,
    },
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            ErrorKind::Truncated { needed, available } => {
                write!(f, "truncated: field needs {needed} bytes, {available} left")
            }
            ErrorKind::LengthExceeds {
                what,
                length,
                available,
            } => {
                write!(f, "{what} {length} exceeds remaining length {available}")
            }
            ErrorKind::BadAddressType(t) => write!(f, "bad address type {t}"),
            ErrorKind::UnexpectedValue { what, value } => write!(f, "unexpected {what} {value}"),
            ErrorKind::ShortDatagram { length } => {
                write!(f, "datagram of {length} bytes is too short")
            }
        }
    }
}

/// Where in the datagram a fault was found. Sample and record indexes count from 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Location {
    /// The datagram header.
    Datagram,
    /// A sample's header or framing.
    Sample {
        /// 1-based sample index within the datagram.
        index: u32,
        /// The sample tag (`0:1` flow, `0:2` counters, ...); `0:0` if the tag itself was unreadable.
        tag: Tag,
    },
    /// A record inside a sample.
    Record {
        /// 1-based sample index within the datagram.
        sample_index: u32,
        /// The enclosing sample's tag.
        sample_tag: Tag,
        /// 1-based record index within the sample.
        index: u32,
        /// The record tag; `0:0` if the tag itself was unreadable.
        tag: Tag,
    },
}

fn sample_kind(tag: Tag) -> &'static str {
    match (tag.enterprise, tag.format) {
        (0, 1) => "flow sample",
        (0, 2) => "counter sample",
        (0, 3) => "expanded flow sample",
        (0, 4) => "expanded counter sample",
        (0, 5) => "discard sample",
        _ => "sample",
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Location::Datagram => f.write_str("datagram header"),
            Location::Sample { index, tag } => write!(f, "{} #{index} ({tag})", sample_kind(tag)),
            Location::Record {
                sample_index,
                sample_tag,
                index,
                tag,
            } => write!(
                f,
                "{} #{sample_index} record #{index} ({tag})",
                sample_kind(sample_tag)
            ),
        }
    }
}

/// A decode failure. Never produced by a panic: every input byte sequence yields either data or
/// one of these.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// The datagram version is not 5 (e.g. sFlow v2/v4, or a NetFlow payload on the sFlow port).
    #[error("not an sFlow v5 datagram: version {version}")]
    NotSflowV5 {
        /// The first 32-bit word of the datagram.
        version: u32,
    },
    /// The structure at `location` is malformed.
    #[error("{location}: {kind} at offset {offset}")]
    Malformed {
        /// Which sample / record broke.
        location: Location,
        /// What broke.
        kind: ErrorKind,
        /// Byte offset from the start of the datagram where the faulty field starts.
        offset: usize,
    },
}

/// An error from the XDR cursor, before the caller adds its location.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct XdrError {
    pub(crate) kind: ErrorKind,
    pub(crate) offset: usize,
}

impl XdrError {
    pub(crate) fn at(self, location: Location) -> DecodeError {
        DecodeError::Malformed {
            location,
            kind: self.kind,
            offset: self.offset,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tag_word_round_trip() {
        let tag = Tag::from_word((4413 << 12) | 3);
        assert_eq!(tag, Tag::new(4413, 3));
        assert_eq!(tag.to_word(), (4413 << 12) | 3);
        assert_eq!(tag.to_string(), "4413:3");
    }

    #[test]
    fn message_names_location_and_offset() {
        let err = DecodeError::Malformed {
            location: Location::Record {
                sample_index: 3,
                sample_tag: Tag::new(0, 1),
                index: 1,
                tag: Tag::new(0, 1),
            },
            kind: ErrorKind::LengthExceeds {
                what: "header length",
                length: 300,
                available: 128,
            },
            offset: 412,
        };
        assert_eq!(
            err.to_string(),
            "flow sample #3 record #1 (0:1): header length 300 exceeds remaining length 128 at offset 412"
        );
    }
}
