//! rtflow-sflowtool: sflowtool-compatible output for sFlow v5 datagrams decoded by `rtflow-sflow`.
//!
//! * [`Formatter::write_datagram`] appends one datagram (sFlow v5, or v2/v4 in sflowtool's
//!   forms of them; a payload that is not sFlow gives sflowtool's header-only record) in
//!   sflowtool's default text form
//!   ([`Format::Text`]), as one compact JSON line ([`Format::Json`], `-j`), as pretty JSON
//!   ([`Format::JsonPretty`], `-J`) or as CSV `FLOW`/`CNTR` lines ([`Format::Csv`], `-l`). Field
//!   names and their order follow sflowtool's `src/sflowtool.c`; all JSON values are strings,
//!   and unlike sflowtool the JSON is valid whatever bytes agent strings hold.
//! * [`Format::Clf`] is sflowtool's `-H`: an HTTP common log format line per flow sample with
//!   an HTTP request record.
//! * [`Format::Grep`] is sflowtool's `-g`: the text lines, each prefixed with the datagram and
//!   sample identity; [`FieldLines`] is `-L`: CSV lines of chosen fields, one per sample.
//! * [`SampledHeaderPcap`] writes each sampled header record as one Ethernet frame of a libpcap
//!   stream: of flow samples (sflowtool `-t`) or of discard samples (`-T`).
//!   [`DatagramPcap`] writes the sFlow datagrams themselves as UDP frames (`-M`).
//! * [`NetflowExporter`] is sflowtool's NetFlow v5/v9 export (`-c HOST -d PORT -N 5|9`).
//! * [`VlanFilter`] is `-V`/`-v`: it drops flow and discard samples of other VLANs from the
//!   per-sample outputs (`-l`, `-L`, `-t`, `-T`).
//!
//! * [`header_fields`] walks a sampled header as sflowtool does, yielding exactly the fields it
//!   prints (its own decoder, with sflowtool's quirks; the analytics use `rtflow_packet::decode`).
//!
//! Output goes into a caller-owned `Vec<u8>` that is reused from datagram to datagram: nothing is
//! allocated per field. A datagram that fails to decode leaves the buffer as it was and returns
//! the [`rtflow_sflow::DecodeError`] (with its byte offset).

mod clf;
mod counter;
mod csv;
mod custom;
mod datagram;
mod datagram_pcap;
mod flow;
mod header;
pub mod header_fields;
mod legacy;
mod netflow;
mod out;
mod pcap;
mod samples;
mod state;
mod time;
mod values;
mod vlan;

pub use custom::{FieldLines, FieldListError};
pub use datagram::{DatagramInfo, DatagramSink, Format, Formatter, SampleCounts};
pub use datagram_pcap::DatagramPcap;
pub use netflow::{NetflowExporter, NetflowOptions, NetflowPacket, NetflowVersion};
pub use pcap::{HeaderSource, PcapWritten, SampledHeaderPcap, SkippedHeaders};
pub use rtflow_capture::Timestamp;
pub use vlan::{MAX_VLAN, VlanFilter, VlanListError};
