//! rtflow-sflowtool: sflowtool-compatible output for sFlow v5 datagrams decoded by `rtflow-sflow`.
//!
//! * [`Formatter::write_datagram`] appends one datagram in sflowtool's default text form
//!   ([`Format::Text`]), as one compact JSON line ([`Format::Json`], `-j`), as pretty JSON
//!   ([`Format::JsonPretty`], `-J`) or as CSV `FLOW`/`CNTR` lines ([`Format::Csv`], `-l`). Field
//!   names and their order follow sflowtool's `src/sflowtool.c`; all JSON values are strings,
//!   and unlike sflowtool the JSON is valid whatever bytes agent strings hold.
//! * [`SampledHeaderPcap`] writes each sampled header record as one Ethernet frame of a libpcap
//!   stream (sflowtool `-t`).
//!
//! Output goes into a caller-owned `Vec<u8>` that is reused from datagram to datagram: nothing is
//! allocated per field. A datagram that fails to decode leaves the buffer as it was and returns
//! the [`rtflow_sflow::DecodeError`] (with its byte offset).

mod counter;
mod csv;
mod datagram;
mod flow;
mod header;
mod out;
mod pcap;
mod time;
mod values;

pub use datagram::{DatagramInfo, Format, Formatter, SampleCounts};
pub use pcap::{PcapWritten, SampledHeaderPcap};
pub use rtflow_capture::Timestamp;
pub use time::write_utc_iso8601;
pub use values::write_json_string;
