"""A small sFlow v5 generator for acceptance tests: flow samples carrying sampled Ethernet/IPv4/UDP headers, and
generic interface counter samples, encoded as XDR exactly as the sFlow v5 specification lays them out.

Used to make traffic that no shared capture holds (a DNS amplification attack), sent over real UDP sockets.
"""

from __future__ import annotations

import ipaddress
import struct

FLOW_SAMPLE = 1
COUNTER_SAMPLE = 2
SAMPLED_HEADER = 1
GENERIC_INTERFACE = 1
HEADER_PROTOCOL_ETHERNET = 1


def _checksum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def udp_frame(src: str, dst: str, sport: int, dport: int, payload_len: int) -> bytes:
    """An Ethernet/IPv4/UDP frame whose IP total length says `payload_len` bytes of UDP payload follow."""
    udp_len = 8 + payload_len
    total = 20 + udp_len
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, total, 1, 0, 64, 17, 0,
                     ipaddress.IPv4Address(src).packed, ipaddress.IPv4Address(dst).packed)
    ip = ip[:10] + struct.pack("!H", _checksum(ip)) + ip[12:]
    udp = struct.pack("!HHHH", sport, dport, udp_len, 0)
    eth = bytes.fromhex("020000000002") + bytes.fromhex("020000000001") + struct.pack("!H", 0x0800)
    return eth + ip + udp + b"\0" * min(payload_len, 64)


def _opaque(record_type: int, body: bytes) -> bytes:
    assert len(body) % 4 == 0, "XDR bodies are 4-byte aligned"
    return struct.pack("!II", record_type, len(body)) + body


def flow_sample(seq: int, if_index: int, rate: int, pool: int, frame: bytes, frame_len: int,
                output_if: int = 0) -> bytes:
    header = frame[:128]
    pad = (-len(header)) % 4
    record = struct.pack("!IIII", HEADER_PROTOCOL_ETHERNET, frame_len + 4, 4, len(header)) + header + b"\0" * pad
    body = struct.pack("!IIIIIIII", seq, if_index, rate, pool, 0, if_index, output_if, 1)
    body += _opaque(SAMPLED_HEADER, record)
    return _opaque(FLOW_SAMPLE, body)


def counter_sample(seq: int, if_index: int, speed: int, in_octets: int, in_packets: int) -> bytes:
    generic = struct.pack("!IIQIIQ" + "I" * 6 + "Q" + "I" * 6, if_index, 6, speed, 1, 3, in_octets,
                          in_packets & 0xFFFFFFFF, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
    body = struct.pack("!III", seq, if_index, 1) + _opaque(GENERIC_INTERFACE, generic)
    return _opaque(COUNTER_SAMPLE, body)


def datagram(agent: str, seq: int, uptime_ms: int, samples: list[bytes]) -> bytes:
    head = struct.pack("!II4sIIII", 5, 1, ipaddress.IPv4Address(agent).packed, 0, seq, uptime_ms, len(samples))
    return head + b"".join(samples)
