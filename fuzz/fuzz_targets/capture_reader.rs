//! The pcap/pcapng reader on any file: every packet, its link-layer decapsulation and UDP extraction either
//! succeed or give an error; none panics or loops.
#![no_main]

use rtflow_capture::PcapReader;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Ok(mut reader) = PcapReader::new(data) else {
        return;
    };
    // A reader that keeps returning packets for a finite input would be a bug: each packet consumes bytes.
    for _ in 0..=data.len() {
        match reader.next_datagram() {
            Ok(Some(datagram)) => {
                std::hint::black_box(&datagram);
            }
            Ok(None) => return,
            Err(_) => {}
        }
        match reader.next_packet() {
            Ok(Some(packet)) => {
                std::hint::black_box(&packet);
            }
            Ok(None) => return,
            Err(_) => return,
        }
    }
});
