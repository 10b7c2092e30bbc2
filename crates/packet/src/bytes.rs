//! Bounds-checked big-endian readers: every read returns `None` instead of panicking
//! when the (truncated) header does not hold the requested bytes. Public for the other header
//! walker of the workspace (sflowtool's fields, in `rtflow-sflowtool`).

use std::net::{Ipv4Addr, Ipv6Addr};

/// The byte at `off`.
#[inline]
pub fn u8_at(b: &[u8], off: usize) -> Option<u8> {
    b.get(off).copied()
}

/// The big-endian `u16` at `off`.
#[inline]
pub fn be16(b: &[u8], off: usize) -> Option<u16> {
    array_at::<2>(b, off).map(u16::from_be_bytes)
}

/// The big-endian `u32` at `off`.
#[inline]
pub(crate) fn be32(b: &[u8], off: usize) -> Option<u32> {
    array_at::<4>(b, off).map(u32::from_be_bytes)
}

/// 24-bit big-endian value (VXLAN / Geneve VNI).
#[inline]
pub(crate) fn be24(b: &[u8], off: usize) -> Option<u32> {
    array_at::<3>(b, off).map(|a| u32::from_be_bytes([0, a[0], a[1], a[2]]))
}

/// The `N` bytes at `off`.
#[inline]
pub fn array_at<const N: usize>(b: &[u8], off: usize) -> Option<[u8; N]> {
    let end = off.checked_add(N)?;
    b.get(off..end)?.try_into().ok()
}

/// The MAC address at `off`.
#[inline]
pub fn mac_at(b: &[u8], off: usize) -> Option<[u8; 6]> {
    array_at::<6>(b, off)
}

/// The IPv4 address at `off`.
#[inline]
pub fn ipv4_at(b: &[u8], off: usize) -> Option<Ipv4Addr> {
    array_at::<4>(b, off).map(Ipv4Addr::from)
}

/// The IPv6 address at `off`.
#[inline]
pub fn ipv6_at(b: &[u8], off: usize) -> Option<Ipv6Addr> {
    array_at::<16>(b, off).map(Ipv6Addr::from)
}

/// True when `len` bytes starting at `off` are present.
#[inline]
pub fn has(b: &[u8], off: usize, len: usize) -> bool {
    off.checked_add(len).is_some_and(|end| end <= b.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_are_bounds_checked() {
        let b = [0x12, 0x34, 0x56, 0x78];
        assert_eq!(be16(&b, 0), Some(0x1234));
        assert_eq!(be16(&b, 3), None);
        assert_eq!(be24(&b, 1), Some(0x34_5678));
        assert_eq!(be32(&b, 0), Some(0x1234_5678));
        assert_eq!(be32(&b, 1), None);
        assert_eq!(be32(&b, usize::MAX), None);
        assert!(has(&b, 4, 0));
        assert!(!has(&b, 4, 1));
        assert!(!has(&b, usize::MAX, 2));
    }
}
