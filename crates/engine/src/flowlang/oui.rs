//! The OUI → organization name table behind `oui:<mac>:name` (sFlow-RT property `oui.names`).
//!
//! The engine does no I/O: the server reads the IEEE `oui.txt` file and hands the entries over.

/// Organization names by 24-bit OUI, sorted for binary search (about 40 bytes per entry plus the names).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OuiTable {
    entries: Box<[(u32, Box<str>)]>,
}

impl OuiTable {
    /// Builds the table from `(oui, name)` pairs. OUIs are taken modulo 2^24; when an OUI is listed twice the
    /// first name wins; empty names are dropped.
    pub fn from_entries<N: Into<Box<str>>>(entries: impl IntoIterator<Item = (u32, N)>) -> Self {
        let mut entries: Vec<(u32, Box<str>)> = entries
            .into_iter()
            .map(|(oui, name)| (oui & 0x00FF_FFFF, name.into()))
            .filter(|(_, name)| !name.trim().is_empty())
            .collect();
        // Stable: the first listing of a duplicated OUI stays first and survives the dedup.
        entries.sort_by_key(|(oui, _)| *oui);
        entries.dedup_by_key(|(oui, _)| *oui);
        Self {
            entries: entries.into_boxed_slice(),
        }
    }

    /// The organization registered for `oui` (the first three bytes of a MAC as a number).
    pub fn name(&self, oui: u32) -> Option<&str> {
        let index = self
            .entries
            .binary_search_by_key(&oui, |(key, _)| *key)
            .ok()?;
        self.entries.get(index).map(|(_, name)| &**name)
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookup_duplicates_and_masking() {
        let table = OuiTable::from_entries([
            (0xD8D385, "Hewlett Packard Enterprise"),
            (0x00000C, "Cisco Systems, Inc"),
            (0x00000C, "later duplicate"),
            (0x01_080027, "PCS Systemtechnik GmbH"),
            (0x123456, "  "),
        ]);
        assert_eq!(table.len(), 3);
        assert_eq!(table.name(0xD8D385), Some("Hewlett Packard Enterprise"));
        assert_eq!(table.name(0x00000C), Some("Cisco Systems, Inc"));
        assert_eq!(table.name(0x080027), Some("PCS Systemtechnik GmbH"));
        assert_eq!(table.name(0x123456), None);
        assert_eq!(table.name(0xD8D386), None);
        assert!(OuiTable::default().is_empty());
        assert_eq!(OuiTable::default().name(0), None);
    }
}
