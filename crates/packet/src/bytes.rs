//! Bounds-checked big-endian readers: every read returns `None` instead of panicking
//! when the (truncated) header does not hold the requested bytes.

use std::net::{Ipv4Addr, Ipv6Addr};

#[inline]
pub(crate) fn u8_at(b: &[u8], off: usize) -> Option<u8> {
    b.get(off).copied()
}

#[inline]
pub(crate) fn be16(b: &[u8], off: usize) -> Option<u16> {
    array_at::<2>(b, off).map(u16::from_be_bytes)
}

#[inline]
pub(crate) fn be32(b: &[u8], off: usize) -> Option<u32> {
    array_at::<4>(b, off).map(u32::from_be_bytes)
}

/// 24-bit big-endian value (VXLAN / Geneve VNI).
#[inline]
pub(crate) fn be24(b: &[u8], off: usize) -> Option<u32> {
    array_at::<3>(b, off).map(|a| u32::from_be_bytes([0, a[0], a[1], a[2]]))
}

#[inline]
pub(crate) fn array_at<const N: usize>(b: &[u8], off: usize) -> Option<[u8; N]> {
    let end = off.checked_add(N)?;
    b.get(off..end)?.try_into().ok()
}

#[inline]
pub(crate) fn mac_at(b: &[u8], off: usize) -> Option<[u8; 6]> {
    array_at::<6>(b, off)
}

#[inline]
pub(crate) fn ipv4_at(b: &[u8], off: usize) -> Option<Ipv4Addr> {
    array_at::<4>(b, off).map(Ipv4Addr::from)
}

#[inline]
pub(crate) fn ipv6_at(b: &[u8], off: usize) -> Option<Ipv6Addr> {
    array_at::<16>(b, off).map(Ipv6Addr::from)
}

/// True when `len` bytes starting at `off` are present.
#[inline]
pub(crate) fn has(b: &[u8], off: usize, len: usize) -> bool {
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
