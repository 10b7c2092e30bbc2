//! The OUI → organization name table behind `oui:<mac>:name` (sFlow-RT property `oui.names`).
//!
//! The engine does no I/O: the server reads the IEEE `oui.txt` file and hands its text to
//! [`OuiTable::parse_ieee`].

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

    /// How many OUIs have a name.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the table has no names.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

/// What [`OuiTable::parse_ieee`] read besides the table.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct IeeeOuiStats {
    /// `(hex)` lines turned into entries (before duplicates are dropped).
    pub entries: usize,
    /// `(hex)` lines skipped because the OUI or the name is malformed.
    pub bad_lines: usize,
}

impl OuiTable {
    /// Parses the IEEE `oui.txt` format (Debian `ieee-data`, sFlow-RT `oui.names`): entries are the lines
    /// `D8-D3-85   (hex)\t\tHewlett Packard Enterprise`; every other line (headers, `(base 16)` lines,
    /// addresses, blanks) is ignored. `(hex)` lines without a valid `XX-XX-XX` OUI or a name are skipped and
    /// counted.
    pub fn parse_ieee(text: &str) -> (OuiTable, IeeeOuiStats) {
        let mut stats = IeeeOuiStats::default();
        let mut entries = Vec::new();
        for line in text.lines() {
            let Some((oui, name)) = line.split_once("(hex)") else {
                continue;
            };
            match (parse_dashed_oui(oui.trim()), name.trim()) {
                (Some(oui), name) if !name.is_empty() => {
                    stats.entries += 1;
                    entries.push((oui, name));
                }
                _ => stats.bad_lines += 1,
            }
        }
        (OuiTable::from_entries(entries), stats)
    }
}

/// `D8-D3-85` → 0xD8D385.
fn parse_dashed_oui(text: &str) -> Option<u32> {
    let mut parts = text.split('-');
    let mut oui = 0u32;
    for _ in 0..3 {
        let part = parts.next()?;
        // from_str_radix alone would accept a sign (`+F`).
        if part.len() != 2 || !part.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        oui = (oui << 8) | u32::from(u8::from_str_radix(part, 16).ok()?);
    }
    parts.next().is_none().then_some(oui)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_ieee_oui_txt_and_counts_bad_lines() {
        let text = "OUI/MA-L                                                    Organization                                 \r\n\
                    company_id                                                  Organization                                 \r\n\
                                                                                Address                                      \r\n\
                    \r\n\
                    D8-D3-85   (hex)\t\tHewlett Packard Enterprise\r\n\
                    D8D385     (base 16)\t\tHewlett Packard Enterprise\r\n\
                    \t\t\t\t6280 America Center Dr\r\n\
                    \r\n\
                    00-00-0c   (hex)\t\tCisco Systems, Inc\n\
                    0-00-0C    (hex)\t\tShort byte\n\
                    00-00-0G   (hex)\t\tNot hex\n\
                    00-00-+E   (hex)\t\tSigned\n\
                    00-00-0D-1 (hex)\t\tToo long\n\
                    08-00-27   (hex)\t\t\n\
                    08-00-27   (hex)\t\tPCS Systemtechnik GmbH\n";
        let (table, stats) = OuiTable::parse_ieee(text);
        assert_eq!(
            stats,
            IeeeOuiStats {
                entries: 3,
                bad_lines: 5
            }
        );
        assert_eq!(table.len(), 3);
        assert_eq!(table.name(0xD8D385), Some("Hewlett Packard Enterprise"));
        assert_eq!(table.name(0x00000C), Some("Cisco Systems, Inc"));
        assert_eq!(table.name(0x080027), Some("PCS Systemtechnik GmbH"));
        assert_eq!(table.name(0x00000D), None);
    }

    #[test]
    fn empty_and_unrelated_text_give_an_empty_table() {
        for text in ["", "no entries here\n(base 16) only\n", "\u{0}\u{ff}(hex"] {
            let (table, stats) = OuiTable::parse_ieee(text);
            assert!(table.is_empty(), "{text:?}");
            assert_eq!(stats, IeeeOuiStats::default(), "{text:?}");
        }
    }

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
