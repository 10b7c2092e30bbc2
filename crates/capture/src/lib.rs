//! rtflow-capture: streaming pcap / pcapng input, pcap and pcapng output, and UDP datagram
//! extraction. It knows nothing about sFlow: it hands out UDP payloads with their addresses
//! and capture timestamps, and reports every packet it cannot use as a typed [`SkipReason`].
//!
//! Reading (auto-detects classic pcap in either byte order, micro- or nanosecond, and pcapng):
//!
//! ```no_run
//! let mut reader = rtflow_capture::open("capture.pcap")?; // or "-" for stdin
//! while let Some(datagram) = reader.next_datagram()? {
//!     println!("{} -> {}: {} bytes", datagram.src, datagram.dst, datagram.payload.len());
//! }
//! eprintln!("skipped: {}", reader.skip_counts());
//! # Ok::<(), rtflow_capture::CaptureError>(())
//! ```

mod byte_order;
mod classic;
mod decap;
mod error;
mod frame;
mod link_type;
mod pcapng;
mod pcapng_writer;
mod reader;
mod skip;
mod source;
mod timestamp;
mod writer;

pub use decap::{UdpLocation, locate_udp};
pub use error::CaptureError;
pub use frame::{
    FrameError, MAX_UDP_PAYLOAD_V4, MAX_UDP_PAYLOAD_V6, build_udp_frame, build_udp_frame_into,
};
pub use link_type::LinkType;
pub use pcapng_writer::PcapngWriter;
pub use reader::{CaptureFormat, Extracted, Packet, PcapReader, UdpDatagram, open};
pub use skip::{SkipCounts, SkipReason};
pub use timestamp::Timestamp;
pub use writer::{DEFAULT_SNAPLEN, PcapWriter};
