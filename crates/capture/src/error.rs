use std::io;
use std::path::PathBuf;

/// A failure to read a capture. Per-packet problems that only affect one packet are not errors:
/// they are [`crate::SkipReason`]s. I/O causes are left to [`std::error::Error::source`] (print
/// the chain, e.g. anyhow's `{:#}`), so that no message repeats them.
#[derive(Debug, thiserror::Error)]
pub enum CaptureError {
    #[error("cannot open {}", path.display())]
    Open { path: PathBuf, source: io::Error },

    #[error("read error at byte offset {offset}")]
    Io { offset: u64, source: io::Error },

    #[error("empty input: expected a pcap or pcapng file header")]
    Empty,

    #[error("not a pcap or pcapng file: unknown magic number {magic:02x?}")]
    UnknownMagic { magic: [u8; 4] },

    #[error("truncated {what} at byte offset {offset}: expected {expected} bytes, found {found}")]
    Truncated {
        what: &'static str,
        offset: u64,
        expected: u64,
        found: u64,
    },

    #[error("{what} at byte offset {offset} claims {len} bytes, above the {limit}-byte limit")]
    TooLarge {
        what: &'static str,
        offset: u64,
        len: u64,
        limit: u64,
    },

    #[error("pcapng block at byte offset {offset} has invalid total length {len}")]
    BadBlockLength { offset: u64, len: u32 },

    #[error(
        "pcapng block at byte offset {offset}: trailing length {trailer} differs from leading length {len}"
    )]
    BlockLengthMismatch { offset: u64, len: u32, trailer: u32 },

    #[error(
        "pcapng section header at byte offset {offset} has an invalid byte-order magic {magic:02x?}"
    )]
    BadByteOrderMagic { offset: u64, magic: [u8; 4] },

    #[error("unsupported pcapng version {major}.{minor} at byte offset {offset}")]
    UnsupportedVersion { offset: u64, major: u16, minor: u16 },

    #[error("pcapng {block} block at byte offset {offset} is too short for its fixed fields")]
    ShortBlock { block: &'static str, offset: u64 },

    #[error("pcapng packet at byte offset {offset} refers to undeclared interface {interface_id}")]
    UnknownInterface { offset: u64, interface_id: u32 },

    #[error(
        "pcapng interface at byte offset {offset} has unsupported timestamp resolution {tsresol:#04x}"
    )]
    BadTimestampResolution { offset: u64, tsresol: u8 },
}
