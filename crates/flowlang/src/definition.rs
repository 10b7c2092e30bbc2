//! Flow definitions (spec §1.3): the JSON document of `PUT /flow/{name}/json`,
//! and its compiled, evaluable form.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;

use super::AttributeSource;
use super::expr::{ExprError, KeyExpr};
use super::filter::{Filter, FilterError};
use super::groups::Lookups;
use super::value::{FlowValues, MAX_VALUES, SampleValue, ValueError, ValueSource, ValueSpec};

/// Most keys in one definition.
pub(crate) const MAX_KEYS: usize = 32;
/// `n` (top flows kept per data source): default and clamp range.
pub(crate) const DEFAULT_N: u32 = 5;
pub(crate) const MIN_N: u32 = 5;
pub(crate) const MAX_N: u32 = 20;
/// `t` (smoothing time constant, seconds): default and clamp range.
pub(crate) const DEFAULT_T: f64 = 2.0;
pub(crate) const MIN_T: f64 = 0.2;
pub(crate) const MAX_T: f64 = 600.0;
/// `activeTimeout` (seconds): default and clamp range (the upper bound is rtflow's).
pub(crate) const DEFAULT_ACTIVE_TIMEOUT: u32 = 60;
pub(crate) const MAX_ACTIVE_TIMEOUT: u32 = 86_400;
pub(crate) const DEFAULT_SEPARATOR: &str = ",";
pub(crate) const DEFAULT_VALUE: &str = "bytes";

/// Why a flow definition was rejected. Display names the offending field.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum DefinitionError {
    #[error("invalid JSON: {0}")]
    /// The body is not JSON (the parser's message).
    Json(String),
    #[error("flow definition must be a JSON object")]
    /// The body is JSON but not an object.
    NotAnObject,
    #[error("{field}: must be {expected}")]
    /// A field has the wrong JSON type.
    WrongType {
        /// The field, by its JSON name.
        field: &'static str,
        /// What it must be (`"a string"`, `"a number"`…).
        expected: &'static str,
    },
    #[error("keys: {0}")]
    /// A key expression in `keys` does not parse.
    Key(ExprError),
    #[error("keys: too many keys ({count}, at most {MAX_KEYS})")]
    /// More keys than a definition may have (`MAX_KEYS`); `count` were given.
    TooManyKeys {
        /// How many keys were given.
        count: usize,
    },
    #[error("value: {0}")]
    /// `value` is not a known value (`bytes`, `frames`, `rate:…`).
    Value(ValueError),
    #[error("values: {0}")]
    /// An entry of `values` is not a known value.
    Values(ValueError),
    #[error("values: too many values ({count}, at most {MAX_VALUES})")]
    /// More extra values than a definition may have (`MAX_VALUES`); `count` were given.
    TooManyValues {
        /// How many values were given.
        count: usize,
    },
    #[error("filter: {0}")]
    /// `filter` does not parse.
    Filter(FilterError),
    #[error("fs: must not be empty")]
    /// `fs` (the separator of key fields in a flow key) is empty.
    EmptySeparator,
    #[error("aggMode: unknown mode '{0}' (expected max, sum, avg, edge, core or agent)")]
    /// `aggMode` is none of the known modes (the text as given).
    UnknownAggMode(String),
}

/// How duplicate observations of a flow from several data sources combine
/// (`aggMode`). Parsed case-insensitively; the original spelling is kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AggMode {
    /// The largest observation of a flow across data sources (sFlow-RT's default).
    Max,
    /// The sum of the observations across data sources.
    Sum,
    /// The mean of the observations across data sources.
    Avg,
    /// Only observations on edge ports of the topology (traffic entering or leaving the fabric), largest.
    Edge,
    /// Only observations on core ports (links between topology nodes), largest.
    Core,
    /// `AGENT` (browse-flows, ddos-protect): as a definition's aggMode, every data source of an agent is counted
    /// in data source `"0"` at ingest (per-router flows and thresholds); as a query's, combine per agent.
    Agent,
}

impl AggMode {
    /// Parses `max`, `sum`, `avg`, `edge`, `core` or `agent`, in any case; `None` for anything else.
    pub fn parse(text: &str) -> Option<AggMode> {
        Some(match text.to_ascii_lowercase().as_str() {
            "max" => AggMode::Max,
            "sum" => AggMode::Sum,
            "avg" => AggMode::Avg,
            "edge" => AggMode::Edge,
            "core" => AggMode::Core,
            "agent" => AggMode::Agent,
            _ => return None,
        })
    }
}

/// A flow definition with every default materialized and `n`, `t`,
/// `activeTimeout` clamped. Serializes to sFlow-RT's JSON (keys as one
/// comma-joined string; absent optional fields omitted).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FlowDefinition {
    #[serde(serialize_with = "serialize_keys")]
    /// The key expressions whose values, joined with `fs`, make a flow's key (`ipsource,ipdestination`).
    pub keys: Vec<String>,
    /// What each sample adds to its flow (`bytes`, `frames`, `rate:bytes`, `avg:tcprtt`…).
    pub value: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    /// Further values kept per flow beside `value` (reported as `values`).
    pub values: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    /// Samples must match this filter expression to count (`ipprotocol=6&tcpdestinationport=443`).
    pub filter: Option<String>,
    /// How many top flows per data source are kept and reported (the table also keeps candidates).
    pub n: u32,
    /// Smoothing time constant in seconds: how fast a flow's rate decays after its samples stop.
    pub t: f64,
    /// Separator of the key fields in a flow key (default `,`).
    pub fs: String,
    /// Log each flow as a flow record (`/flows/json`) when it ends or reaches `activeTimeout`.
    pub log: bool,
    #[serde(rename = "flowStart")]
    /// With `log`, log a flow record at the first sample of each flow as well.
    pub flow_start: bool,
    #[serde(rename = "activeTimeout")]
    /// Seconds after which a long-lived flow is logged again (with `log`).
    pub active_timeout: u32,
    /// Count the samples of dropped packets (sFlow drop notifications) instead of forwarded ones.
    pub dropped: bool,
    #[serde(rename = "aggMode", skip_serializing_if = "Option::is_none")]
    /// How observations of one flow at several data sources combine in queries (`max` when absent).
    pub agg_mode: Option<String>,
    /// Kept and echoed; rtflow does not export IPFIX.
    #[serde(rename = "ipfixCollectors", skip_serializing_if = "Option::is_none")]
    pub ipfix_collectors: Option<Vec<String>>,
}

impl Default for FlowDefinition {
    fn default() -> Self {
        FlowDefinition {
            keys: Vec::new(),
            value: DEFAULT_VALUE.to_owned(),
            values: Vec::new(),
            filter: None,
            n: DEFAULT_N,
            t: DEFAULT_T,
            fs: DEFAULT_SEPARATOR.to_owned(),
            log: false,
            flow_start: false,
            active_timeout: DEFAULT_ACTIVE_TIMEOUT,
            dropped: false,
            agg_mode: None,
            ipfix_collectors: None,
        }
    }
}

fn serialize_keys<S: Serializer>(keys: &[String], serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(&join_list(keys))
}

impl<'de> Deserialize<'de> for FlowDefinition {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = Value::deserialize(deserializer)?;
        FlowDefinition::from_json_value(&value).map_err(serde::de::Error::custom)
    }
}

impl FlowDefinition {
    /// A definition with the given comma-separated keys and value, defaults elsewhere.
    pub fn new(keys: &str, value: &str) -> Self {
        FlowDefinition {
            keys: split_list(keys),
            value: value.to_owned(),
            ..Default::default()
        }
    }

    /// Parses the JSON text of a PUT body. Shape only; [`CompiledFlow::compile`]
    /// validates the expressions.
    pub fn from_json_str(text: &str) -> Result<Self, DefinitionError> {
        let value: Value =
            serde_json::from_str(text).map_err(|e| DefinitionError::Json(e.to_string()))?;
        Self::from_json_value(&value)
    }

    /// Parses a JSON object as sFlow-RT does: unknown fields are ignored (see
    /// [`ignored_fields`](Self::ignored_fields)), numbers may be given as strings (`"t":"5"`), wrong types
    /// are rejected; fills defaults, clamps `n`, `t` and `activeTimeout`. `null` means "absent".
    pub fn from_json_value(json: &Value) -> Result<Self, DefinitionError> {
        let object = json.as_object().ok_or(DefinitionError::NotAnObject)?;
        let mut definition = FlowDefinition::default();
        for (field, value) in object {
            if value.is_null() {
                continue;
            }
            match field.as_str() {
                "keys" => definition.keys = string_or_list(value, "keys")?,
                "value" => definition.value = string(value, "value")?.trim().to_owned(),
                "values" => definition.values = string_or_list(value, "values")?,
                "filter" => {
                    let filter = string(value, "filter")?;
                    definition.filter = (!filter.trim().is_empty()).then(|| filter.to_owned());
                }
                "n" => {
                    let n = integer(value, "n")?;
                    definition.n = n.clamp(i64::from(MIN_N), i64::from(MAX_N)) as u32;
                }
                "t" => {
                    let t = number(value).filter(|t| t.is_finite()).ok_or(
                        DefinitionError::WrongType {
                            field: "t",
                            expected: "a number",
                        },
                    )?;
                    definition.t = t.clamp(MIN_T, MAX_T);
                }
                "fs" => {
                    let fs = string(value, "fs")?;
                    if fs.is_empty() {
                        return Err(DefinitionError::EmptySeparator);
                    }
                    definition.fs = fs.to_owned();
                }
                "log" => definition.log = boolean(value, "log")?,
                "flowStart" => definition.flow_start = boolean(value, "flowStart")?,
                "dropped" => definition.dropped = boolean(value, "dropped")?,
                "activeTimeout" => {
                    let timeout = integer(value, "activeTimeout")?;
                    definition.active_timeout =
                        timeout.clamp(1, i64::from(MAX_ACTIVE_TIMEOUT)) as u32;
                }
                "aggMode" => {
                    let mode = string(value, "aggMode")?;
                    if AggMode::parse(mode).is_none() {
                        return Err(DefinitionError::UnknownAggMode(mode.to_owned()));
                    }
                    definition.agg_mode = Some(mode.to_owned());
                }
                "ipfixCollectors" => {
                    const EXPECTED: DefinitionError = DefinitionError::WrongType {
                        field: "ipfixCollectors",
                        expected: "an array of strings",
                    };
                    let list = value.as_array().ok_or(EXPECTED)?;
                    let collectors = list
                        .iter()
                        .map(|v| v.as_str().map(str::to_owned).ok_or(EXPECTED))
                        .collect::<Result<Vec<_>, _>>()?;
                    definition.ipfix_collectors = Some(collectors);
                }
                _ => {}
            }
        }
        if definition.value.is_empty() {
            return Err(DefinitionError::Value(ValueError::Empty));
        }
        Ok(definition)
    }

    /// The fields of a definition's JSON that [`from_json_value`](Self::from_json_value) ignores (not
    /// sFlow-RT flow-definition fields), for a warning.
    pub fn ignored_fields(json: &Value) -> Vec<&str> {
        json.as_object()
            .map(|object| {
                object
                    .keys()
                    .map(String::as_str)
                    .filter(|field| !KNOWN_FIELDS.contains(field))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// `aggMode` parsed (validated at parse time, so `None` only when absent).
    pub fn agg_mode(&self) -> Option<AggMode> {
        self.agg_mode.as_deref().and_then(AggMode::parse)
    }

    /// The JSON of GET `/flow/{name}/json`.
    pub fn to_json(&self) -> Value {
        serde_json::to_value(self).unwrap_or(Value::Null)
    }
}

const KNOWN_FIELDS: &[&str] = &[
    "keys",
    "value",
    "values",
    "filter",
    "n",
    "t",
    "fs",
    "log",
    "flowStart",
    "activeTimeout",
    "dropped",
    "aggMode",
    "ipfixCollectors",
];

fn string<'a>(value: &'a Value, field: &'static str) -> Result<&'a str, DefinitionError> {
    value.as_str().ok_or(DefinitionError::WrongType {
        field,
        expected: "a string",
    })
}

/// `true`/`false`, also as the strings `"true"`/`"false"`.
fn boolean(value: &Value, field: &'static str) -> Result<bool, DefinitionError> {
    let parsed = match value {
        Value::Bool(b) => Some(*b),
        Value::String(text) => match text.trim() {
            "true" => Some(true),
            "false" => Some(false),
            _ => None,
        },
        _ => None,
    };
    parsed.ok_or(DefinitionError::WrongType {
        field,
        expected: "true or false",
    })
}

/// A JSON number, or a string holding one (`"5"`), as sFlow-RT accepts.
fn number(value: &Value) -> Option<f64> {
    match value {
        Value::String(text) => text.trim().parse().ok(),
        _ => value.as_f64(),
    }
}

/// An integer, also accepting integral floats (`10.0`, as JavaScript may send) and numeric strings.
fn integer(value: &Value, field: &'static str) -> Result<i64, DefinitionError> {
    let wrong = DefinitionError::WrongType {
        field,
        expected: "an integer",
    };
    if let Some(i) = value.as_i64() {
        return Ok(i);
    }
    if value.is_u64() {
        return Ok(i64::MAX); // larger than any bound; clamped by the caller
    }
    match number(value) {
        Some(f) if f.is_finite() && f.fract() == 0.0 => {
            Ok(f.clamp(i64::MIN as f64, i64::MAX as f64) as i64)
        }
        _ => Err(wrong),
    }
}

/// `"a,b"` or `["a","b"]` → trimmed entries (an empty string → no entries).
fn string_or_list(value: &Value, field: &'static str) -> Result<Vec<String>, DefinitionError> {
    let wrong = DefinitionError::WrongType {
        field,
        expected: "a string or an array of strings",
    };
    match value {
        Value::String(text) => Ok(split_list(text)),
        Value::Array(items) => items
            .iter()
            .map(|item| {
                item.as_str()
                    .map(|s| s.trim().to_owned())
                    .ok_or_else(|| wrong.clone())
            })
            .collect(),
        _ => Err(wrong),
    }
}

/// Splits a comma list at top-level commas (not inside `[ ]`, not escaped with
/// `\`), trimming entries. Escapes are kept for the expression parser.
pub(crate) fn split_list(text: &str) -> Vec<String> {
    if text.trim().is_empty() {
        return Vec::new();
    }
    let mut entries = Vec::new();
    let mut depth = 0usize;
    let mut start = 0;
    let mut escaped = false;
    for (index, ch) in text.char_indices() {
        match ch {
            _ if escaped => escaped = false,
            '\\' => escaped = true,
            '[' => depth += 1,
            ']' => depth = depth.saturating_sub(1),
            ',' if depth == 0 => {
                entries.push(text.get(start..index).unwrap_or_default().trim().to_owned());
                start = index + 1;
            }
            _ => {}
        }
    }
    entries.push(text.get(start..).unwrap_or_default().trim().to_owned());
    entries
}

/// Inverse of [`split_list`]: joins with `,`, escaping top-level commas inside entries.
pub(crate) fn join_list(entries: &[String]) -> String {
    let mut joined = String::new();
    for (index, entry) in entries.iter().enumerate() {
        if index > 0 {
            joined.push(',');
        }
        let mut depth = 0usize;
        let mut escaped = false;
        for ch in entry.chars() {
            match ch {
                _ if escaped => escaped = false,
                '\\' => escaped = true,
                '[' => depth += 1,
                ']' => depth = depth.saturating_sub(1),
                ',' if depth == 0 => joined.push('\\'),
                _ => {}
            }
            joined.push(ch);
        }
    }
    joined
}

/// A validated, compiled flow definition, ready for the ingest hot path.
#[derive(Debug, Clone)]
pub struct CompiledFlow {
    definition: FlowDefinition,
    keys: Box<[KeyExpr]>,
    value: ValueSpec,
    values: Box<[ValueSpec]>,
    filter: Option<Filter>,
}

impl CompiledFlow {
    /// Validates and compiles every expression of `definition`.
    pub fn compile(definition: &FlowDefinition) -> Result<CompiledFlow, DefinitionError> {
        if definition.keys.len() > MAX_KEYS {
            return Err(DefinitionError::TooManyKeys {
                count: definition.keys.len(),
            });
        }
        if definition.values.len() > MAX_VALUES {
            return Err(DefinitionError::TooManyValues {
                count: definition.values.len(),
            });
        }
        if definition.fs.is_empty() {
            return Err(DefinitionError::EmptySeparator);
        }
        let keys = definition
            .keys
            .iter()
            .map(|key| KeyExpr::parse(key).map_err(DefinitionError::Key))
            .collect::<Result<_, _>>()?;
        let value = ValueSpec::parse(&definition.value).map_err(DefinitionError::Value)?;
        let values = definition
            .values
            .iter()
            .map(|v| ValueSpec::parse(v).map_err(DefinitionError::Values))
            .collect::<Result<_, _>>()?;
        let filter = match definition.filter.as_deref() {
            Some(text) if !text.trim().is_empty() => {
                Some(Filter::parse(text).map_err(DefinitionError::Filter)?)
            }
            _ => None,
        };
        Ok(CompiledFlow {
            definition: definition.clone(),
            keys,
            value,
            values,
            filter,
        })
    }

    /// Key names in `keys`, `values` (`count:`) and `filter` that rtflow does not know: accepted, as
    /// sFlow-RT accepts them, but never present in a sample (worth a warning: usually a typo).
    pub fn unknown_keys(&self) -> Vec<String> {
        let mut out = Vec::new();
        for key in self.keys.iter() {
            key.unknown_keys(&mut out);
        }
        for spec in std::iter::once(&self.value).chain(self.values.iter()) {
            if let ValueSource::Distinct(expr) = &spec.source {
                expr.unknown_keys(&mut out);
            }
        }
        if let Some(filter) = &self.filter {
            out.extend(filter.unknown_keys());
        }
        out.sort();
        out.dedup();
        out
    }

    /// Parses and compiles a PUT body in one step.
    pub fn from_json_value(json: &Value) -> Result<CompiledFlow, DefinitionError> {
        Self::compile(&FlowDefinition::from_json_value(json)?)
    }

    /// The definition as given, with defaults materialized.
    pub fn definition(&self) -> &FlowDefinition {
        &self.definition
    }

    /// The compiled key expressions, in `keys` order.
    pub fn keys(&self) -> &[KeyExpr] {
        &self.keys
    }

    /// The compiled `filter`, when the definition has one.
    pub fn filter(&self) -> Option<&Filter> {
        self.filter.as_ref()
    }

    /// The compiled `value`.
    pub fn value_spec(&self) -> &ValueSpec {
        &self.value
    }

    /// The compiled `values`, in order.
    pub fn value_specs(&self) -> &[ValueSpec] {
        &self.values
    }

    /// Evaluates one sample: writes the flow key (the keys' values joined with
    /// `fs`) into `key_out` (cleared first) and returns the sample's raw,
    /// unscaled value(s). `None` when the filter rejects the sample, a key is
    /// missing, or the `value` is missing (then `key_out` is left empty).
    pub fn evaluate<S: AttributeSource + ?Sized>(
        &self,
        src: &S,
        lookups: &Lookups,
        key_out: &mut String,
    ) -> Option<FlowValues> {
        key_out.clear();
        if let Some(filter) = &self.filter
            && !filter.matches(src, lookups, key_out)
        {
            return None;
        }
        for (index, key) in self.keys.iter().enumerate() {
            if index > 0 {
                key_out.push_str(&self.definition.fs);
            }
            if !key.eval(src, lookups, key_out) {
                key_out.clear();
                return None;
            }
        }
        let value = self.value.sample(src, lookups, key_out);
        if value == SampleValue::Missing {
            key_out.clear();
            return None;
        }
        let mut values = FlowValues::new(value);
        for spec in self.values.iter() {
            values.push(spec.sample(src, lookups, key_out));
        }
        Some(values)
    }
}

#[cfg(test)]
mod tests;
