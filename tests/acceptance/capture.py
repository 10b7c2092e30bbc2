"""Minimal, independent readers for the test captures (classic pcap, Ethernet/IPv4/UDP, sFlow v5 headers).

Deliberately separate from rtflow's own decoder: the acceptance tests use these as a second source of truth.
"""

from __future__ import annotations

import ipaddress
import struct
from collections.abc import Iterator
from pathlib import Path

PCAP_MAGIC_LE = 0xA1B2C3D4
LINKTYPE_ETHERNET = 1
ETHERTYPE_IPV4 = 0x0800
ETHERTYPE_VLAN = 0x8100
IPPROTO_UDP = 17


def udp_payloads(path: Path) -> Iterator[bytes]:
    """Yields the UDP payload of every Ethernet/IPv4/UDP frame of a classic little-endian pcap file."""
    data = path.read_bytes()
    magic, _, _, _, _, _, linktype = struct.unpack_from("<IHHiIII", data, 0)
    if magic != PCAP_MAGIC_LE or linktype != LINKTYPE_ETHERNET:
        raise ValueError(f"{path}: expected a little-endian Ethernet pcap (magic {magic:#x}, linktype {linktype})")
    offset = 24
    while offset + 16 <= len(data):
        _, _, caplen, _ = struct.unpack_from("<IIII", data, offset)
        frame = data[offset + 16 : offset + 16 + caplen]
        offset += 16 + caplen
        payload = _udp_payload(frame)
        if payload is not None:
            yield payload


def _udp_payload(frame: bytes) -> bytes | None:
    pos = 12
    ethertype = struct.unpack_from("!H", frame, pos)[0]
    while ethertype == ETHERTYPE_VLAN:
        pos += 4
        ethertype = struct.unpack_from("!H", frame, pos)[0]
    pos += 2
    if ethertype != ETHERTYPE_IPV4 or frame[pos + 9] != IPPROTO_UDP:
        return None
    ihl = (frame[pos] & 0x0F) * 4
    udp = pos + ihl
    udp_len = struct.unpack_from("!H", frame, udp + 4)[0]
    return frame[udp + 8 : udp + udp_len]


def sflow_agent(datagram: bytes) -> str:
    """Agent address of an sFlow v5 datagram (version, address type, address)."""
    version, addr_type = struct.unpack_from("!II", datagram, 0)
    if version != 5:
        raise ValueError(f"not sFlow v5 (version {version})")
    if addr_type == 1:
        return str(ipaddress.IPv4Address(datagram[8:12]))
    return str(ipaddress.IPv6Address(datagram[8:24]))


def _tagged(buf: bytes, count_at: int) -> Iterator[tuple[int, bytes]]:
    """(tag, body) of each XDR (tag, length, body) item, their number being the u32 at `count_at`."""
    (count,) = struct.unpack_from("!I", buf, count_at)
    pos = count_at + 4
    for _ in range(count):
        tag, length = struct.unpack_from("!II", buf, pos)
        yield tag, buf[pos + 8 : pos + 8 + length]
        pos += 8 + length


def _samples(datagram: bytes) -> Iterator[tuple[int, bytes]]:
    """(tag, body) of each sample of an sFlow v5 datagram."""
    addr_type = struct.unpack_from("!I", datagram, 4)[0]
    return _tagged(datagram, 8 + (4 if addr_type == 1 else 16) + 12)


def _records(sample_body: bytes, count_at: int) -> Iterator[tuple[int, bytes]]:
    """(tag, body) of each record of a sample whose record count is at `count_at`."""
    return _tagged(sample_body, count_at)


def flow_sample_pairs(datagram: bytes) -> Iterator[tuple[str, str, int, int]]:
    """(ipsource, ipdestination, frame_length, sampling_rate) for each IPv4 raw-header record of each flow sample."""
    for tag, body in _samples(datagram):
        if tag != 1:  # enterprise 0, format 1: flow sample
            continue
        rate = struct.unpack_from("!I", body, 8)[0]
        for rtag, record in _records(body, 28):
            if rtag != 1:  # raw packet header
                continue
            protocol, frame_length, _, header_len = struct.unpack_from("!IIII", record, 0)
            header = record[16 : 16 + header_len]
            if protocol != 1 or len(header) < 34:
                continue
            ip = 14
            ethertype = struct.unpack_from("!H", header, 12)[0]
            if ethertype == ETHERTYPE_VLAN:
                ethertype = struct.unpack_from("!H", header, 16)[0]
                ip = 18
            if ethertype != ETHERTYPE_IPV4 or len(header) < ip + 20:
                continue
            src = str(ipaddress.IPv4Address(header[ip + 12 : ip + 16]))
            dst = str(ipaddress.IPv4Address(header[ip + 16 : ip + 20]))
            yield src, dst, frame_length, rate


def _xdr_string(buf: bytes, pos: int) -> tuple[str, int]:
    (length,) = struct.unpack_from("!I", buf, pos)
    text = buf[pos + 4 : pos + 4 + length].decode("utf-8", "replace")
    return text, pos + 4 + (length + 3) // 4 * 4


def counter_names(datagram: bytes) -> Iterator[tuple[str, int, str, str]]:
    """(agent, ifIndex-or-source-index, kind, name) from counter samples: kind "ifname" for port-name records
    (0:1005), "host_name" for host-description records (0:2000)."""
    agent = sflow_agent(datagram)
    for tag, body in _samples(datagram):
        if tag != 2:  # enterprise 0, format 2: counter sample
            continue
        source_index = struct.unpack_from("!I", body, 4)[0] & 0xFFFFFF
        for rtag, record in _records(body, 8):
            if rtag == 1005:
                yield agent, source_index, "ifname", _xdr_string(record, 0)[0]
            elif rtag == 2000:
                yield agent, source_index, "host_name", _xdr_string(record, 0)[0]
