//! `-M`: a libpcap stream of the sFlow datagrams themselves, each one unchanged inside a
//! synthetic Ethernet / IP / UDP frame with its original addresses and ports, so that
//! tcpdump/tshark (and `rtflow decode -r -`) decode it as sFlow again.

use std::io::{self, Write};
use std::net::SocketAddr;

use rtflow_capture::{FrameError, LinkType, PcapWriter, Timestamp, build_udp_frame_into};

/// Ethernet (14) + IPv6 (40) + UDP (8) around the largest UDP payload.
const SNAPLEN: u32 = 14 + 40 + 65_535;

/// Writes whole datagrams as an Ethernet (DLT_EN10MB) pcap stream.
pub struct DatagramPcap<W: Write> {
    writer: PcapWriter<W>,
    frame: Vec<u8>,
}

impl<W: Write> DatagramPcap<W> {
    /// Writes the pcap file header.
    pub fn new(out: W) -> io::Result<Self> {
        Ok(DatagramPcap {
            writer: PcapWriter::new(out, LinkType::ETHERNET, SNAPLEN)?,
            frame: Vec::with_capacity(2048),
        })
    }

    /// Writes `payload` as one UDP frame from `src` to `dst` (which must be of one address
    /// family; an error leaves the stream as it was).
    pub fn write_datagram(
        &mut self,
        src: SocketAddr,
        dst: SocketAddr,
        payload: &[u8],
        timestamp: Timestamp,
    ) -> io::Result<Result<(), FrameError>> {
        if let Err(err) = build_udp_frame_into(&mut self.frame, src, dst, payload) {
            return Ok(Err(err));
        }
        let len = u32::try_from(self.frame.len()).unwrap_or(u32::MAX);
        self.writer.write_packet(timestamp, len, &self.frame)?;
        Ok(Ok(()))
    }

    /// Flushes the pcap stream's buffered packets to the writer.
    pub fn flush(&mut self) -> io::Result<()> {
        self.writer.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_read_back_as_the_same_udp_datagrams() {
        let mut pcap = DatagramPcap::new(Vec::new()).unwrap_or_else(|e| panic!("{e}"));
        let cases: [(SocketAddr, SocketAddr, &[u8]); 2] = [
            (
                "10.0.0.1:5000".parse().unwrap(),
                "10.0.0.2:6343".parse().unwrap(),
                b"\0\0\0\x05abc",
            ),
            (
                "[2001:db8::1]:5001".parse().unwrap(),
                "[2001:db8::2]:6343".parse().unwrap(),
                b"xyz",
            ),
        ];
        for (i, (src, dst, payload)) in cases.iter().enumerate() {
            let written = pcap
                .write_datagram(
                    *src,
                    *dst,
                    payload,
                    Timestamp::from_micros(100 + i as u64, 7),
                )
                .unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(written, Ok(()));
        }
        let bytes = std::mem::take(pcap.writer.get_mut());
        let mut reader =
            rtflow_capture::PcapReader::new(&bytes[..]).unwrap_or_else(|e| panic!("{e}"));
        for (i, (src, dst, payload)) in cases.iter().enumerate() {
            let d = reader
                .next_datagram()
                .unwrap_or_else(|e| panic!("{e}"))
                .unwrap_or_else(|| panic!("datagram {i} missing"));
            assert_eq!((d.src, d.dst, d.payload), (*src, *dst, *payload));
            assert_eq!(d.timestamp, Timestamp::from_micros(100 + i as u64, 7));
        }
        let mixed = pcap.write_datagram(cases[0].0, cases[1].1, b"", Timestamp::default());
        assert!(matches!(mixed, Ok(Err(FrameError::MixedFamilies { .. }))));
    }
}
