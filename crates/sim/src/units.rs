//! Quantities written the way network engineers write them: `"10G"`, `"2.5G"`, `"400M"`, `"64k"`.

use std::fmt;

use serde::{Deserialize, Deserializer, de};

/// A non-negative quantity with an optional decimal SI suffix (k, M, G, T; case of `k`/`K`
/// ignored), e.g. bits per second (`"10G"`) or bytes (`"20k"`). Plain TOML or YAML numbers work too.
#[derive(Clone, Copy, Debug, PartialEq, PartialOrd, Default)]
pub struct Quantity(pub f64);

impl Quantity {
    /// Parses `"10G"`, `"2.5M"`, `"64k"`, `"1500"`; `None` when it is not such a number.
    pub fn parse(text: &str) -> Option<Self> {
        let text = text.trim();
        let (number, scale) = match text.char_indices().last()? {
            (i, 'k' | 'K') => (&text[..i], 1e3),
            (i, 'M') => (&text[..i], 1e6),
            (i, 'G') => (&text[..i], 1e9),
            (i, 'T') => (&text[..i], 1e12),
            _ => (text, 1.0),
        };
        let value: f64 = number.trim().parse().ok()?;
        (value.is_finite() && value >= 0.0).then_some(Self(value * scale))
    }
}

impl fmt::Display for Quantity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let v = self.0;
        for (scale, suffix) in [(1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k")] {
            if v >= scale {
                return write!(f, "{}{suffix}", v / scale);
            }
        }
        write!(f, "{v}")
    }
}

impl<'de> Deserialize<'de> for Quantity {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl de::Visitor<'_> for Visitor {
            type Value = Quantity;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a non-negative number, optionally with a k/M/G/T suffix (\"10G\")")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Quantity, E> {
                Quantity::parse(v).ok_or_else(|| E::invalid_value(de::Unexpected::Str(v), &self))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Quantity, E> {
                u64::try_from(v)
                    .map(|v| Quantity(v as f64))
                    .map_err(|_| E::invalid_value(de::Unexpected::Signed(v), &self))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Quantity, E> {
                Ok(Quantity(v as f64))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Quantity, E> {
                if v.is_finite() && v >= 0.0 {
                    Ok(Quantity(v))
                } else {
                    Err(E::invalid_value(de::Unexpected::Float(v), &self))
                }
            }
        }
        deserializer.deserialize_any(Visitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_suffixes_and_rejects_junk() {
        assert_eq!(Quantity::parse("10G"), Some(Quantity(10e9)));
        assert_eq!(Quantity::parse("2.5M"), Some(Quantity(2.5e6)));
        assert_eq!(Quantity::parse("64k"), Some(Quantity(64e3)));
        assert_eq!(Quantity::parse("64K"), Some(Quantity(64e3)));
        assert_eq!(Quantity::parse(" 1500 "), Some(Quantity(1500.0)));
        for bad in ["", "G", "-1G", "1X", "ten", "NaN", "inf"] {
            assert_eq!(Quantity::parse(bad), None, "{bad:?}");
        }
        assert_eq!(Quantity(40e9).to_string(), "40G");
        assert_eq!(Quantity(1500.0).to_string(), "1.5k");
        assert_eq!(Quantity(64.0).to_string(), "64");
    }
}
