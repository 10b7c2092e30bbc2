#!/usr/bin/env python3
"""Fills the fuzz seed directories from captures, using the project's own decoder.

    seeds.py RTFLOW SEED_DIR CAPTURE...

* sflow_roundtrip: each sFlow datagram (`rtflow decode -M` writes them as Ethernet/IP/UDP frames; the UDP payload
  is the datagram),
* sampled_header: each sampled header (`rtflow decode -t`), prefixed with the header protocol byte 1 (Ethernet),
* capture_reader: the capture files themselves (those under 64 KiB).
At most 2,000 seeds per target, deduplicated by content.
"""

from __future__ import annotations

import hashlib
import struct
import subprocess
import sys
from pathlib import Path

MAX_SEEDS = 2000


def pcap_records(data: bytes) -> list[bytes]:
    """The packet records of a classic pcap stream (what `rtflow decode -M/-t` writes)."""
    if len(data) < 24:
        return []
    magic = data[:4]
    endian = "<" if magic in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1") else ">"
    records, offset = [], 24
    while offset + 16 <= len(data):
        _, _, caplen, _ = struct.unpack_from(endian + "IIII", data, offset)
        offset += 16
        records.append(data[offset:offset + caplen])
        offset += caplen
    return records


def udp_payload(frame: bytes) -> bytes | None:
    """The UDP payload of an Ethernet/IPv4 or Ethernet/IPv6 frame."""
    if len(frame) < 14:
        return None
    ethertype = struct.unpack_from(">H", frame, 12)[0]
    if ethertype == 0x0800:
        ihl = (frame[14] & 0x0F) * 4
        return frame[14 + ihl + 8:]
    if ethertype == 0x86DD:
        return frame[14 + 40 + 8:]
    return None


def decode(rtflow: str, capture: str, option: str) -> bytes:
    result = subprocess.run([rtflow, "decode", "-q", "-r", capture, option], capture_output=True, timeout=120)
    return result.stdout


class SeedDir:
    def __init__(self, path: Path) -> None:
        self.path, self.count, self.seen = path, 0, set()

    def add(self, data: bytes) -> None:
        digest = hashlib.sha1(data).hexdigest()
        if self.count >= MAX_SEEDS or digest in self.seen or not data:
            return
        self.seen.add(digest)
        (self.path / digest).write_bytes(data)
        self.count += 1


def main() -> None:
    rtflow, seed_dir, captures = sys.argv[1], Path(sys.argv[2]), sys.argv[3:]
    datagrams = SeedDir(seed_dir / "sflow_roundtrip")
    headers = SeedDir(seed_dir / "sampled_header")
    files = SeedDir(seed_dir / "capture_reader")
    for capture in captures:
        if Path(capture).stat().st_size < 64 * 1024:
            files.add(Path(capture).read_bytes())
        for frame in pcap_records(decode(rtflow, capture, "-M")):
            payload = udp_payload(frame)
            if payload is not None:
                datagrams.add(payload)
        for header in pcap_records(decode(rtflow, capture, "-t")):
            headers.add(b"\x01" + header)
    print(f"seeds: {datagrams.count} datagrams, {headers.count} sampled headers, {files.count} capture files",
          file=sys.stderr)


if __name__ == "__main__":
    main()
