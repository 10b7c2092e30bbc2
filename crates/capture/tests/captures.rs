//! Every capture must read without error: the generated ones of tests/data (always) and the
//! third-party ones of ../shared/captures (when present; else one skip line). When tshark is
//! installed, its view of each file (UDP payload lengths, also after converting to pcapng and
//! nanosecond pcap) is the independent reference.

use std::path::{Path, PathBuf};
use std::process::Command;

use rtflow_capture::{PcapReader, open};
use rtflow_testkit::{Shared, capture_files, data_dir, shared_capture};

/// The generated captures, then (when ../shared is there, else after one skip line) the
/// third-party ones.
fn all_capture_files() -> Vec<PathBuf> {
    let mut files = capture_files(&data_dir());
    assert!(files.len() >= 5, "tests/data: {files:?}");
    if let Some(shared) = rtflow_testkit::shared(Shared::Captures) {
        let theirs = capture_files(&shared);
        assert!(
            theirs.len() >= 20,
            "expected the shared capture set, found {theirs:?}"
        );
        files.extend(theirs);
    }
    files
}

/// (destination port, payload length) of every UDP datagram, reading with our reader.
fn our_datagrams(path: &Path) -> Vec<(u16, usize)> {
    let mut reader = open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut out = Vec::new();
    while let Some(datagram) = reader
        .next_datagram()
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
    {
        out.push((datagram.dst.port(), datagram.payload.len()));
    }
    out
}

fn have(tool: &str) -> bool {
    Command::new(tool)
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

/// tshark's outermost UDP header of each frame: (destination port, length - 8).
fn tshark_datagrams(path: &Path) -> Vec<(u16, usize)> {
    let output = Command::new("tshark")
        .args(["-n", "-r"])
        .arg(path)
        .args([
            "-Y",
            "udp",
            "-T",
            "fields",
            "-E",
            "occurrence=f",
            "-e",
            "udp.dstport",
            "-e",
            "udp.length",
        ])
        .output()
        .expect("run tshark");
    assert!(
        output.status.success(),
        "tshark failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout)
        .unwrap()
        .lines()
        .map(|line| {
            let (port, len) = line
                .split_once('\t')
                .unwrap_or_else(|| panic!("tshark line {line:?}"));
            (port.parse().unwrap(), len.parse::<usize>().unwrap() - 8)
        })
        .collect()
}

#[test]
fn ecmp_has_9279_sflow_datagrams() {
    let datagrams = our_datagrams(&shared_capture!("ecmp.pcap"));
    assert_eq!(datagrams.len(), 9279);
    assert!(datagrams.iter().all(|&(port, _)| port == 6343));
}

#[test]
fn every_capture_reads_cleanly() {
    for path in all_capture_files() {
        let mut reader = open(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let mut datagrams = 0;
        while reader
            .next_datagram()
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
            .is_some()
        {
            datagrams += 1;
        }
        assert!(datagrams > 0, "{}: no UDP datagram", path.display());
        assert_eq!(
            reader.packets_read(),
            datagrams + reader.skip_counts().total(),
            "{}: every packet is a datagram or a counted skip",
            path.display()
        );
    }
}

#[test]
fn agrees_with_tshark_on_every_capture() {
    if !have("tshark") {
        eprintln!("tshark not installed: skipping the cross-check (CI installs it)");
        return;
    }
    for path in all_capture_files() {
        assert_eq!(
            our_datagrams(&path),
            tshark_datagrams(&path),
            "{}",
            path.display()
        );
    }
}

#[test]
fn reads_tshark_converted_pcapng_and_nanosecond_pcap() {
    if !have("editcap") {
        eprintln!("editcap not installed: skipping pcapng conversion check (CI installs tshark)");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let data = data_dir();
    let mut originals = vec![
        data.join("records.pcap"),
        data.join("mixed.pcap"),
        data.join("fabric.pcap"),
    ];
    if let Some(root) = rtflow_testkit::shared(Shared::Captures) {
        for name in [
            "tcpdump_sflow-print-v6.pcap",
            "tcpdump_sflow_multiple_counter_30_pdus.pcap",
            "loadme_sflow.pcap",
        ] {
            originals.push(root.join(name));
        }
    }
    for original in originals {
        let name = original.file_name().unwrap().to_string_lossy().into_owned();
        let expected = our_datagrams(&original);
        // pcap -> nanosecond pcap -> pcapng (whose interface then declares if_tsresol = 9).
        let mut previous = original.clone();
        for format in ["nsecpcap", "pcapng"] {
            let converted = dir.path().join(format!("{name}.{format}"));
            let status = Command::new("editcap")
                .args(["-F", format])
                .arg(&previous)
                .arg(&converted)
                .status()
                .expect("editcap");
            assert!(status.success());
            assert_eq!(our_datagrams(&converted), expected, "{name} as {format}");
            let mut a = open(&original).unwrap();
            let mut b = open(&converted).unwrap();
            while let Some(x) = a.next_datagram().unwrap() {
                let x_ts = x.timestamp;
                let y_ts = b.next_datagram().unwrap().unwrap().timestamp;
                assert_eq!(x_ts, y_ts, "{name} as {format}: timestamps survive");
            }
            previous = converted;
        }
    }
}

#[test]
fn a_non_seekable_stream_reads_like_the_file() {
    for name in ["records.pcap", "records.pcapng", "fabric.pcap"] {
        let path = data_dir().join(name);
        let bytes = std::fs::read(&path).unwrap();
        let mut reader = PcapReader::new(std::io::Cursor::new(bytes)).unwrap();
        let mut streamed = Vec::new();
        while let Some(d) = reader.next_datagram().unwrap() {
            streamed.push((d.dst.port(), d.payload.len()));
        }
        assert_eq!(streamed, our_datagrams(&path), "{name}");
    }
}

/// records.pcapng (two interfaces, micro- and nanosecond resolution, comments, a statistics
/// block) holds the same datagrams, addresses and timestamps as records.pcap.
#[test]
fn pcapng_and_classic_pcap_of_the_same_datagrams_read_alike() {
    let mut classic = open(data_dir().join("records.pcap")).unwrap();
    let mut pcapng = open(data_dir().join("records.pcapng")).unwrap();
    assert_eq!(pcapng.format(), rtflow_capture::CaptureFormat::Pcapng);
    let mut count = 0;
    while let Some(a) = classic.next_datagram().unwrap() {
        let (a_src, a_dst, a_ts, a_payload) = (a.src, a.dst, a.timestamp, a.payload.to_vec());
        let b = pcapng.next_datagram().unwrap().expect("as many datagrams");
        assert_eq!(
            (b.src, b.dst, b.timestamp),
            (a_src, a_dst, a_ts),
            "#{count}"
        );
        assert_eq!(b.payload, &a_payload[..], "#{count}");
        count += 1;
    }
    assert!(pcapng.next_datagram().unwrap().is_none());
    let expected = rtflow_testkit::manifest_entry("records.pcapng").count("datagrams");
    assert_eq!(count, expected);
    assert_eq!(pcapng.skip_counts().total(), 0);
}
