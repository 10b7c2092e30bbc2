use std::io;
use std::path::PathBuf;

/// A failure to read a capture. Per-packet problems that only affect one packet are not errors:
/// they are [`crate::SkipReason`]s. I/O causes are left to [`std::error::Error::source`] (print
/// the chain, e.g. anyhow's `{:#}`), so that no message repeats them.
#[derive(Debug, thiserror::Error)]
pub enum CaptureError {
    /// The file could not be opened.
    #[error("cannot open {}", path.display())]
    Open {
        /// The file asked for.
        path: PathBuf,
        /// Why opening failed.
        source: io::Error,
    },

    /// Reading failed part-way.
    #[error("read error at byte offset {offset}")]
    Io {
        /// Bytes read successfully before the failure.
        offset: u64,
        /// The read's error.
        source: io::Error,
    },

    /// The input has no bytes at all.
    #[error("empty input: expected a pcap or pcapng file header")]
    Empty,

    /// The first four bytes are neither a pcap nor a pcapng magic number.
    #[error("not a pcap or pcapng file: unknown magic number {magic:02x?}")]
    UnknownMagic {
        /// The first four bytes of the input.
        magic: [u8; 4],
    },

    /// The input ends inside a header, record or block.
    #[error("truncated {what} at byte offset {offset}: expected {expected} bytes, found {found}")]
    Truncated {
        /// What was being read (`"pcap record header"`, …).
        what: &'static str,
        /// Where it starts in the input.
        offset: u64,
        /// Bytes it needs.
        expected: u64,
        /// Bytes left in the input.
        found: u64,
    },

    /// A record or block declares a length above the reader's limit (a corrupt file, not a packet).
    #[error("{what} at byte offset {offset} claims {len} bytes, above the {limit}-byte limit")]
    TooLarge {
        /// What declared the length.
        what: &'static str,
        /// Where it starts in the input.
        offset: u64,
        /// The declared length.
        len: u64,
        /// The most the reader accepts.
        limit: u64,
    },

    /// A pcapng block's total length is too small or not a multiple of 4.
    #[error("pcapng block at byte offset {offset} has invalid total length {len}")]
    BadBlockLength {
        /// Where the block starts.
        offset: u64,
        /// Its declared total length.
        len: u32,
    },

    /// A pcapng block's trailing length word differs from its leading one.
    #[error(
        "pcapng block at byte offset {offset}: trailing length {trailer} differs from leading length {len}"
    )]
    BlockLengthMismatch {
        /// Where the block starts.
        offset: u64,
        /// The leading total length.
        len: u32,
        /// The trailing total length.
        trailer: u32,
    },

    /// A pcapng section header's byte-order magic is neither byte order of `0x1A2B3C4D`.
    #[error(
        "pcapng section header at byte offset {offset} has an invalid byte-order magic {magic:02x?}"
    )]
    BadByteOrderMagic {
        /// Where the section header starts.
        offset: u64,
        /// The bytes found.
        magic: [u8; 4],
    },

    /// A pcapng section of a major version other than 1.
    #[error("unsupported pcapng version {major}.{minor} at byte offset {offset}")]
    UnsupportedVersion {
        /// Where the section header starts.
        offset: u64,
        /// Its major version.
        major: u16,
        /// Its minor version.
        minor: u16,
    },

    /// A pcapng block is shorter than the fixed fields of its type.
    #[error("pcapng {block} block at byte offset {offset} is too short for its fixed fields")]
    ShortBlock {
        /// The block type's name.
        block: &'static str,
        /// Where the block starts.
        offset: u64,
    },

    /// A pcapng packet names an interface no Interface Description Block declared.
    #[error("pcapng packet at byte offset {offset} refers to undeclared interface {interface_id}")]
    UnknownInterface {
        /// Where the packet block starts.
        offset: u64,
        /// The interface id it names.
        interface_id: u32,
    },

    /// A pcapng interface's `if_tsresol` option gives a resolution the reader cannot represent.
    #[error(
        "pcapng interface at byte offset {offset} has unsupported timestamp resolution {tsresol:#04x}"
    )]
    BadTimestampResolution {
        /// Where the Interface Description Block starts.
        offset: u64,
        /// The option's value.
        tsresol: u8,
    },
}
