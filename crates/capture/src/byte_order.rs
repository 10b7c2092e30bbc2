//! Endian-aware integer reads from byte slices; `None` instead of a panic when out of bounds.

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ByteOrder {
    Little,
    Big,
}

impl ByteOrder {
    pub(crate) fn u16_at(self, bytes: &[u8], at: usize) -> Option<u16> {
        let raw: [u8; 2] = bytes.get(at..at.checked_add(2)?)?.try_into().ok()?;
        Some(match self {
            ByteOrder::Little => u16::from_le_bytes(raw),
            ByteOrder::Big => u16::from_be_bytes(raw),
        })
    }

    pub(crate) fn u32_at(self, bytes: &[u8], at: usize) -> Option<u32> {
        let raw: [u8; 4] = bytes.get(at..at.checked_add(4)?)?.try_into().ok()?;
        Some(match self {
            ByteOrder::Little => u32::from_le_bytes(raw),
            ByteOrder::Big => u32::from_be_bytes(raw),
        })
    }

    pub(crate) fn i64_at(self, bytes: &[u8], at: usize) -> Option<i64> {
        let raw: [u8; 8] = bytes.get(at..at.checked_add(8)?)?.try_into().ok()?;
        Some(match self {
            ByteOrder::Little => i64::from_le_bytes(raw),
            ByteOrder::Big => i64::from_be_bytes(raw),
        })
    }
}

/// Big-endian (network order) u16 at `at`.
pub(crate) fn be16(bytes: &[u8], at: usize) -> Option<u16> {
    ByteOrder::Big.u16_at(bytes, at)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_both_orders_and_refuses_out_of_bounds() {
        let bytes = [0x01, 0x02, 0x03, 0x04];
        assert_eq!(ByteOrder::Big.u16_at(&bytes, 1), Some(0x0203));
        assert_eq!(ByteOrder::Little.u16_at(&bytes, 1), Some(0x0302));
        assert_eq!(ByteOrder::Big.u32_at(&bytes, 0), Some(0x0102_0304));
        assert_eq!(ByteOrder::Little.u32_at(&bytes, 0), Some(0x0403_0201));
        assert_eq!(ByteOrder::Big.u32_at(&bytes, 1), None);
        assert_eq!(ByteOrder::Big.u16_at(&bytes, usize::MAX), None);
        assert_eq!(ByteOrder::Little.i64_at(&bytes, 0), None);
    }
}
