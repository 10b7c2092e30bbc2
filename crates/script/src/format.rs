//! `formatNumber(n, pattern)`: the subset of Java's `DecimalFormat` patterns that apps use: `0` and `#`
//! digits, `,` grouping, a `.` fraction part, quoted literals (`'%'`), `%` (× 100) and literal prefixes and
//! suffixes (`'#,##0 seconds'`, `"0'%' difference"`). Rounding is half-even, as Java's default.

/// Formats `value` with `pattern`.
pub fn format_number(value: f64, pattern: &str) -> String {
    let pattern = pattern.split(';').next().unwrap_or("");
    let (prefix, number, suffix, percent) = split_pattern(pattern);
    let (integer, fraction) = number.split_once('.').unwrap_or((&number, ""));
    let min_integer = integer.chars().filter(|c| *c == '0').count();
    let grouping = integer
        .rfind(',')
        .map(|i| {
            integer[i + 1..]
                .chars()
                .filter(|c| matches!(c, '0' | '#'))
                .count()
        })
        .filter(|g| *g > 0);
    let min_fraction = fraction.chars().filter(|c| *c == '0').count();
    let max_fraction = fraction.chars().filter(|c| matches!(c, '0' | '#')).count();
    if !value.is_finite() {
        return format!(
            "{prefix}{}{suffix}",
            if value.is_nan() { "NaN" } else { "∞" }
        );
    }
    let value = if percent { value * 100.0 } else { value };
    let rounded = round_half_even(value.abs(), max_fraction);
    let text = format!("{rounded:.max_fraction$}");
    let (int_digits, frac_digits) = text.split_once('.').unwrap_or((&text, ""));
    let mut frac = frac_digits.to_string();
    while frac.len() > min_fraction && frac.ends_with('0') {
        frac.pop();
    }
    let mut int = int_digits.trim_start_matches('0').to_string();
    while int.len() < min_integer {
        int.insert(0, '0');
    }
    if int.is_empty() && frac.is_empty() {
        int.push('0');
    }
    if let Some(size) = grouping {
        let digits: Vec<char> = int.chars().collect();
        let mut grouped = String::new();
        for (i, d) in digits.iter().enumerate() {
            if i > 0 && (digits.len() - i).is_multiple_of(size) {
                grouped.push(',');
            }
            grouped.push(*d);
        }
        int = grouped;
    }
    let negative = value < 0.0
        && (int.chars().any(|c| c.is_ascii_digit() && c != '0') || frac.chars().any(|c| c != '0'));
    let sign = if negative { "-" } else { "" };
    if frac.is_empty() {
        format!("{sign}{prefix}{int}{suffix}")
    } else {
        format!("{sign}{prefix}{int}.{frac}{suffix}")
    }
}

fn round_half_even(value: f64, digits: usize) -> f64 {
    let scale = 10f64.powi(digits as i32);
    let scaled = value * scale;
    let floor = scaled.floor();
    let diff = scaled - floor;
    let rounded = if (diff - 0.5).abs() < 1e-9 {
        if floor % 2.0 == 0.0 {
            floor
        } else {
            floor + 1.0
        }
    } else {
        scaled.round()
    };
    rounded / scale
}

/// (prefix, number pattern, suffix, percent) with quotes resolved.
fn split_pattern(pattern: &str) -> (String, String, String, bool) {
    let mut prefix = String::new();
    let mut number = String::new();
    let mut suffix = String::new();
    let mut percent = false;
    let mut chars = pattern.chars().peekable();
    // 0 = prefix, 1 = number, 2 = suffix
    let mut part = 0;
    while let Some(c) = chars.next() {
        let literal = if c == '\'' {
            if chars.peek() == Some(&'\'') {
                chars.next();
                Some('\'')
            } else {
                let mut quoted = String::new();
                while let Some(q) = chars.next() {
                    if q == '\'' {
                        if chars.peek() == Some(&'\'') {
                            chars.next();
                            quoted.push('\'');
                            continue;
                        }
                        break;
                    }
                    quoted.push(q);
                }
                let target = if part == 0 {
                    &mut prefix
                } else {
                    part = 2;
                    &mut suffix
                };
                target.push_str(&quoted);
                continue;
            }
        } else if matches!(c, '0' | '#' | ',' | '.') && part < 2 {
            part = 1;
            number.push(c);
            continue;
        } else {
            if c == '%' {
                percent = true;
            }
            Some(c)
        };
        if let Some(l) = literal {
            if part == 0 {
                prefix.push(l);
            } else {
                part = 2;
                suffix.push(l);
            }
        }
    }
    (prefix, number, suffix, percent)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn java_decimal_format_subset() {
        assert_eq!(format_number(1234.6, "#,##0 seconds"), "1,235 seconds");
        assert_eq!(format_number(0.2, "#,##0 seconds"), "0 seconds");
        assert_eq!(
            format_number(1234567.0, "#,### datagrams"),
            "1,234,567 datagrams"
        );
        assert_eq!(format_number(0.0, "#,### datagrams"), "0 datagrams");
        assert_eq!(format_number(12.5, "0'%' difference"), "12% difference");
        assert_eq!(format_number(13.5, "0'%' difference"), "14% difference");
        assert_eq!(format_number(1.23456, "0.00"), "1.23");
        assert_eq!(format_number(3.1, "0.0#"), "3.1");
        assert_eq!(format_number(-2.5, "#,##0.0"), "-2.5");
        assert_eq!(format_number(0.256, "0%"), "26%");
        assert_eq!(format_number(7.0, "000"), "007");
        assert_eq!(format_number(5.0, "'it''s' 0"), "it's 5");
    }
}
