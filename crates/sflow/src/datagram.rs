//! The sFlow v5 datagram: header plus lazily decoded samples.

use crate::error::{DecodeError, ErrorKind, Location, XdrError};
use crate::sample::Samples;
use crate::types::Address;
use crate::xdr::{Reader, Xdr, put_u32};

/// The sFlow datagram version this crate decodes.
pub const SFLOW_VERSION_5: u32 = 5;

/// The fixed fields of an sFlow v5 datagram header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DatagramHeader {
    /// Agent address (IPv4 or IPv6).
    pub agent: Address,
    /// Sub-agent id (`agentSubId`).
    pub sub_agent_id: u32,
    /// Datagram sequence number (`packetSequenceNo`).
    pub sequence_number: u32,
    /// Agent uptime in ms (`sysUpTime`).
    pub uptime_ms: u32,
}

impl DatagramHeader {
    /// Appends version 5 and the header fields (not the sample count).
    pub(crate) fn encode(&self, out: &mut Vec<u8>) {
        put_u32(out, SFLOW_VERSION_5);
        self.agent.encode(out);
        put_u32(out, self.sub_agent_id);
        put_u32(out, self.sequence_number);
        put_u32(out, self.uptime_ms);
    }
}

/// A decoded sFlow v5 datagram borrowing the input bytes. Samples decode lazily via
/// [`Datagram::samples`]; nothing is allocated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Datagram<'a> {
    /// The header fields.
    pub header: DatagramHeader,
    num_samples: u32,
    samples_data: &'a [u8],
    samples_offset: usize,
}

impl<'a> Datagram<'a> {
    /// Decodes the datagram header. Fails with [`DecodeError::NotSflowV5`] when the version word
    /// is not 5, and with [`DecodeError::Malformed`] when the header is truncated.
    pub fn decode(buf: &'a [u8]) -> Result<Self, DecodeError> {
        let mut r = Reader::new(buf, 0);
        let at = |e: XdrError| e.at(Location::Datagram);
        let version = r.u32().map_err(|_| {
            XdrError {
                kind: ErrorKind::ShortDatagram { length: buf.len() },
                offset: 0,
            }
            .at(Location::Datagram)
        })?;
        if version != SFLOW_VERSION_5 {
            return Err(DecodeError::NotSflowV5 { version });
        }
        let header = DatagramHeader {
            agent: Address::decode(&mut r).map_err(at)?,
            sub_agent_id: r.u32().map_err(at)?,
            sequence_number: r.u32().map_err(at)?,
            uptime_ms: r.u32().map_err(at)?,
        };
        let num_samples = r.u32().map_err(at)?;
        let samples_offset = r.offset();
        Ok(Self {
            header,
            num_samples,
            samples_data: r.rest(),
            samples_offset,
        })
    }

    /// The sample count declared in the header (`samplesInPacket`).
    pub fn num_samples(&self) -> u32 {
        self.num_samples
    }

    /// The samples, each decoded on demand.
    pub fn samples(&self) -> Samples<'a> {
        Samples {
            reader: Reader::new(self.samples_data, self.samples_offset),
            left: self.num_samples,
            index: 0,
        }
    }

    /// Re-encodes the datagram (header, count and the raw sample bytes).
    pub fn encode(&self, out: &mut Vec<u8>) {
        self.header.encode(out);
        put_u32(out, self.num_samples);
        out.extend_from_slice(self.samples_data);
    }
}
