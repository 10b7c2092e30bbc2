//! Value specs (spec §3.3): `bytes`, `frames`, `requests`, `duration`, any
//! numeric key, optionally prefixed by `rate:`, `avg:`, `count:`, `min:`, `max:`.

use std::hash::BuildHasher;

use super::AttributeSource;
use super::expr::{ExprError, KeyExpr};
use super::groups::Lookups;
use super::keyname::FlowKey;

/// Most entries accepted in a definition's `values` list.
pub(crate) const MAX_VALUES: usize = 8;

/// How the engine folds per-sample values into the flow's value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ValueAggregation {
    /// No prefix: per-second rate of the sampling-rate-scaled sum (`bytes` → bytes/s).
    Total,
    /// `rate:` — same as no prefix, spelled out.
    Rate,
    /// `avg:` — mean of the per-sample values (not scaled).
    Avg,
    /// `count:` — number of distinct values of the key (see [`SampleValue::Distinct`]).
    Count,
    /// `min:` — smallest per-sample value.
    Min,
    /// `max:` — largest per-sample value.
    Max,
}

impl ValueAggregation {
    /// The prefix that selects this aggregation in a value spec (`rate`, `avg`…; empty for a total).
    pub fn prefix(self) -> &'static str {
        match self {
            ValueAggregation::Total => "",
            ValueAggregation::Rate => "rate",
            ValueAggregation::Avg => "avg",
            ValueAggregation::Count => "count",
            ValueAggregation::Min => "min",
            ValueAggregation::Max => "max",
        }
    }
}

/// What a value reads from a sample.
#[derive(Debug, Clone, PartialEq)]
pub enum ValueSource {
    /// A numeric attribute, via [`AttributeSource::numeric_attribute`].
    Numeric(FlowKey),
    /// `count:` — a key expression whose string value is hashed for distinct counting.
    Distinct(KeyExpr),
}

/// Why a value spec does not compile.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ValueError {
    #[error("empty value")]
    Empty,
    #[error("unknown value prefix '{0}' (expected rate, avg, count, min or max)")]
    UnknownPrefix(String),
    #[error("unknown numeric flow key '{0}'")]
    UnknownKey(String),
    #[error("count: {0}")]
    Count(ExprError),
}

/// A compiled value spec.
#[derive(Debug, Clone, PartialEq)]
pub struct ValueSpec {
    pub aggregation: ValueAggregation,
    pub source: ValueSource,
}

/// One sample's contribution to one value.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum SampleValue {
    /// The raw per-packet number (before sampling-rate scaling).
    Number(f64),
    /// Hash of the key value for `count:` (stable across runs: fixed seed).
    Distinct(u64),
    /// The sample does not carry this value.
    Missing,
}

/// Hash seed for `count:` values; fixed so hashes are comparable across restarts.
const DISTINCT_SEED: u64 = 0x7274_666c_6f77_0001;

impl ValueSpec {
    /// Parses `bytes`, `avg:tcprtt`, `count:ipsource`, `count:[mask:ipsource:24]`…
    pub fn parse(text: &str) -> Result<ValueSpec, ValueError> {
        let text = text.trim();
        if text.is_empty() {
            return Err(ValueError::Empty);
        }
        let (aggregation, rest) = match text.split_once(':') {
            None => (ValueAggregation::Total, text),
            Some((prefix, rest)) => {
                let aggregation = match prefix {
                    "rate" => ValueAggregation::Rate,
                    "avg" => ValueAggregation::Avg,
                    "count" => ValueAggregation::Count,
                    "min" => ValueAggregation::Min,
                    "max" => ValueAggregation::Max,
                    _ => return Err(ValueError::UnknownPrefix(prefix.to_owned())),
                };
                (aggregation, rest)
            }
        };
        let source = if aggregation == ValueAggregation::Count {
            ValueSource::Distinct(KeyExpr::parse(rest).map_err(ValueError::Count)?)
        } else if rest.is_empty() {
            return Err(ValueError::Empty);
        } else {
            ValueSource::Numeric(
                FlowKey::parse(rest).ok_or_else(|| ValueError::UnknownKey(rest.to_owned()))?,
            )
        };
        Ok(ValueSpec {
            aggregation,
            source,
        })
    }

    /// Reads this value from a sample. `scratch` is used (and restored) for `count:`.
    pub fn sample<S: AttributeSource + ?Sized>(
        &self,
        src: &S,
        lookups: &Lookups,
        scratch: &mut String,
    ) -> SampleValue {
        match &self.source {
            ValueSource::Numeric(key) => match src.numeric_attribute(key.name, key.layer) {
                Some(number) if number.is_finite() => SampleValue::Number(number),
                _ => SampleValue::Missing,
            },
            ValueSource::Distinct(expr) => {
                let start = scratch.len();
                if !expr.eval(src, lookups, scratch) {
                    return SampleValue::Missing;
                }
                let hash = distinct_hash(scratch.get(start..).unwrap_or_default());
                scratch.truncate(start);
                SampleValue::Distinct(hash)
            }
        }
    }
}

/// The hash `count:` counts a key's text by.
pub(crate) fn distinct_hash(text: &str) -> u64 {
    foldhash::fast::FixedState::with_seed(DISTINCT_SEED).hash_one(text)
}

/// The values one sample contributes to a flow: the definition's `value` and
/// its `values` list, in order. Fixed size, no heap.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FlowValues {
    /// The definition's `value` (never [`SampleValue::Missing`]).
    pub value: SampleValue,
    extra: [SampleValue; MAX_VALUES],
    extra_len: u8,
}

impl FlowValues {
    /// The values of a sample whose definition has only `value`, no further `values`.
    pub fn new(value: SampleValue) -> Self {
        FlowValues {
            value,
            extra: [SampleValue::Missing; MAX_VALUES],
            extra_len: 0,
        }
    }

    /// Starts over with `value` and no `values` entries (reuses the storage: no copy of the whole array).
    pub fn reset(&mut self, value: SampleValue) {
        self.value = value;
        self.extra_len = 0;
    }

    /// Appends one `values` entry; ignored beyond [`MAX_VALUES`].
    pub fn push(&mut self, value: SampleValue) {
        if let Some(slot) = self.extra.get_mut(usize::from(self.extra_len)) {
            *slot = value;
            self.extra_len += 1;
        }
    }

    /// The `values` entries, in definition order.
    pub fn values(&self) -> &[SampleValue] {
        self.extra
            .get(..usize::from(self.extra_len))
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keyname::KeyName;

    #[test]
    fn parses_prefixes() {
        let spec = ValueSpec::parse("bytes").unwrap();
        assert_eq!(spec.aggregation, ValueAggregation::Total);
        assert_eq!(
            spec.source,
            ValueSource::Numeric(FlowKey {
                name: KeyName::Bytes,
                layer: 0
            })
        );
        for (text, aggregation) in [
            ("rate:frames", ValueAggregation::Rate),
            ("avg:ibbtaethack", ValueAggregation::Avg),
            ("min:tcprtt", ValueAggregation::Min),
            ("max:ipbytes.1", ValueAggregation::Max),
            ("count:ipsource", ValueAggregation::Count),
            ("count:[mask:ipsource:24]", ValueAggregation::Count),
        ] {
            assert_eq!(
                ValueSpec::parse(text).unwrap().aggregation,
                aggregation,
                "{text}"
            );
        }
    }

    #[test]
    fn rejects_bad_values() {
        assert_eq!(ValueSpec::parse("").unwrap_err().to_string(), "empty value");
        assert_eq!(
            ValueSpec::parse("bps").unwrap_err().to_string(),
            "unknown numeric flow key 'bps'"
        );
        assert_eq!(
            ValueSpec::parse("sum:bytes").unwrap_err().to_string(),
            "unknown value prefix 'sum' (expected rate, avg, count, min or max)"
        );
        assert_eq!(ValueSpec::parse("avg:").unwrap_err(), ValueError::Empty);
        assert_eq!(
            ValueSpec::parse("count:ip sorce").unwrap_err().to_string(),
            "count: invalid flow key 'ip sorce'"
        );
    }

    #[test]
    fn flow_values_are_bounded() {
        let mut values = FlowValues::new(SampleValue::Number(1.0));
        for i in 0..(MAX_VALUES + 3) {
            values.push(SampleValue::Number(i as f64));
        }
        assert_eq!(values.values().len(), MAX_VALUES);
        assert_eq!(
            values.values().last(),
            Some(&SampleValue::Number((MAX_VALUES - 1) as f64))
        );
    }
}
