//! ISO 8601 UTC timestamps (`1970-01-01T00:00:00+0000`), sflowtool's `localtime` form with the
//! zone fixed to UTC so output does not depend on the host's time zone.

use crate::values::push_u64;

/// Appends `secs` since the Unix epoch as `YYYY-MM-DDTHH:MM:SS+0000`.
pub(crate) fn write_utc_iso8601(out: &mut Vec<u8>, secs: u64) {
    let days = secs / 86_400;
    let rem = secs % 86_400;
    let (year, month, day) = civil_from_days(days);
    push_padded(out, year, 4);
    out.push(b'-');
    push_padded(out, month, 2);
    out.push(b'-');
    push_padded(out, day, 2);
    out.push(b'T');
    push_padded(out, rem / 3600, 2);
    out.push(b':');
    push_padded(out, rem % 3600 / 60, 2);
    out.push(b':');
    push_padded(out, rem % 60, 2);
    out.extend_from_slice(b"+0000");
}

/// Appends `secs` since the Unix epoch in the common log format's `%d/%b/%Y:%H:%M:%S %z` form,
/// in UTC: `10/Oct/2000:13:55:36 +0000`.
pub(crate) fn write_clf_time(out: &mut Vec<u8>, secs: u64) {
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let (year, month, day) = civil_from_days(secs / 86_400);
    let rem = secs % 86_400;
    push_padded(out, day, 2);
    out.push(b'/');
    let name = usize::try_from(month - 1)
        .ok()
        .and_then(|index| MONTHS.get(index))
        .unwrap_or(&"???");
    out.extend_from_slice(name.as_bytes());
    out.push(b'/');
    push_padded(out, year, 4);
    for v in [rem / 3600, rem % 3600 / 60, rem % 60] {
        out.push(b':');
        push_padded(out, v, 2);
    }
    out.extend_from_slice(b" +0000");
}

fn push_padded(out: &mut Vec<u8>, v: u64, width: usize) {
    let mut digits = itoa::Buffer::new();
    let text = digits.format(v);
    out.extend(std::iter::repeat_n(b'0', width.saturating_sub(text.len())));
    push_u64(out, v);
}

/// Gregorian date of a day count since 1970-01-01 (Howard Hinnant's days-to-civil algorithm).
fn civil_from_days(days: u64) -> (u64, u64, u64) {
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z % 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + u64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(secs: u64) -> String {
        let mut out = Vec::new();
        write_utc_iso8601(&mut out, secs);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn known_instants() {
        assert_eq!(text(0), "1970-01-01T00:00:00+0000");
        // The spec example: pcap timestamp of tcpdump_sflow_expanded.pcap.
        assert_eq!(text(1_672_326_228), "2022-12-29T15:03:48+0000");
        assert_eq!(text(951_782_400), "2000-02-29T00:00:00+0000");
        assert_eq!(text(4_102_444_799), "2099-12-31T23:59:59+0000");
    }

    #[test]
    fn common_log_format_instants() {
        let clf = |secs| {
            let mut out = Vec::new();
            write_clf_time(&mut out, secs);
            String::from_utf8(out).unwrap()
        };
        assert_eq!(clf(0), "01/Jan/1970:00:00:00 +0000");
        // The example of the Apache common log format documentation, in UTC.
        assert_eq!(clf(971_186_136), "10/Oct/2000:13:55:36 +0000");
        assert_eq!(clf(1_700_000_000), "14/Nov/2023:22:13:20 +0000");
        assert_eq!(clf(951_782_400), "29/Feb/2000:00:00:00 +0000");
    }
}
