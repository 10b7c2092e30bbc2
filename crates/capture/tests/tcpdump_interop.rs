//! tcpdump (when installed) must read what PcapWriter + build_udp_frame produce, and find the
//! IPv4 header and UDP checksums correct.

use std::process::Command;

use rtflow_capture::{LinkType, PcapWriter, Timestamp, build_udp_frame};

#[test]
fn tcpdump_reads_our_files_and_checksums_verify() {
    if !Command::new("tcpdump")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
    {
        eprintln!("tcpdump not installed: skipping (CI installs it)");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("synthetic.pcap");
    let file = std::fs::File::create(&path).unwrap();
    let mut writer = PcapWriter::new(std::io::BufWriter::new(file), LinkType::ETHERNET, 0).unwrap();
    // Port 9999 so that tcpdump prints plain UDP rather than dissecting the bytes as sFlow.
    let cases = [
        ("10.0.0.1:40000", "10.0.0.2:9999", 5usize),
        ("[2001:db8::1]:40001", "[2001:db8::2]:9999", 1001),
    ];
    for (i, (src, dst, len)) in cases.iter().enumerate() {
        let payload: Vec<u8> = (0..*len).map(|b| (b * 7 + i) as u8).collect();
        let frame = build_udp_frame(src.parse().unwrap(), dst.parse().unwrap(), &payload).unwrap();
        writer
            .write_packet(
                Timestamp::new(1_700_000_000 + i as u64, 0),
                frame.len() as u32,
                &frame,
            )
            .unwrap();
    }
    writer.flush().unwrap();
    drop(writer);

    let output = Command::new("tcpdump")
        .args(["-nn", "-vv", "-r"])
        .arg(&path)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "tcpdump failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(
        text.contains("10.0.0.1.40000 > 10.0.0.2.9999: [udp sum ok] UDP, length 5"),
        "{text}"
    );
    assert!(
        text.contains("2001:db8::1.40001 > 2001:db8::2.9999: [udp sum ok] UDP, length 1001"),
        "{text}"
    );
    assert!(!text.contains("bad cksum"), "{text}");
    assert_eq!(text.matches("udp sum ok").count(), 2, "{text}");
}
