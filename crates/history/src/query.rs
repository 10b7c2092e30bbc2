//! History queries over the stored flows: sFlow-RT flow keys, values and filters translated to portable SQL
//! (Debian's ClickHouse 18.16 and current servers), answered from the coarsest table that can answer exactly
//! enough: `flows_1h` or `flows_1m` when every key, filter and value exists there and the range is aligned to
//! (or long compared with) its buckets, else the raw `flows`.
//!
//! * [`plan_top`]: the top-N flows over a range, in the shape of sFlow-RT's `/activeflows` (values are average
//!   rates over the range: bytes/s, frames/s, bits/s, samples/s).
//! * [`plan_trend`]: the same top-N as time series (one value per step, gaps filled with 0), plus `-other-`.
//!
//! Keys are sFlow-RT's names where one maps onto a stored column (`ipsource`, `ipdestination`,
//! `tcpdestinationport`, `inputifindex`, `bgpsourceas`, …) plus a few of rtflow's (`agentname`, `inputifname`,
//! `outputifname`, `discarded`), and any stored column by its own name (`SrcAS`, `InIfDescription`, …).
//! Filters use sFlow-RT's syntax: `key=v1,v2`, `key!=v`, `&`, `|` and parentheses; address keys also take
//! CIDR prefixes (`ipsource=10.0.0.0/8`).

use std::fmt::Write as _;
use std::net::IpAddr;

use serde::Serialize;
use serde_json::Value;

use crate::rowbinary::address_bytes;
use crate::schema::{FLOW_COLUMNS, Layout, ROLLUP_COLUMNS, ROLLUPS};

/// A request that cannot be answered as asked; the text names what is wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct QueryError(pub String);

fn bad(message: impl Into<String>) -> QueryError {
    QueryError(message.into())
}

/// How a stored column is compared and shown.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Number,
    Text,
    /// `FixedString(16)` address: shown without `::ffff:` for IPv4, filtered by address or CIDR.
    Address,
    /// `UInt64` MAC: shown as 12 uppercase hex digits.
    Mac,
}

/// A key: the column it reads, how, and an implied condition (`tcpsourceport` is `SrcPort` of TCP).
#[derive(Clone, Copy, Debug)]
struct Key {
    column: &'static str,
    kind: Kind,
    implied: Option<&'static str>,
}

const fn key(column: &'static str, kind: Kind) -> Key {
    Key {
        column,
        kind,
        implied: None,
    }
}

/// sFlow-RT (and rtflow) key names → columns.
const NAMED_KEYS: &[(&str, Key)] = &[
    ("agent", key("ExporterAddress", Kind::Address)),
    ("agentname", key("ExporterName", Kind::Text)),
    ("ipsource", key("SrcAddr", Kind::Address)),
    ("ipdestination", key("DstAddr", Kind::Address)),
    ("ip6source", key("SrcAddr", Kind::Address)),
    ("ip6destination", key("DstAddr", Kind::Address)),
    ("ipsource.1", key("InnerSrcAddr", Kind::Address)),
    ("ipdestination.1", key("InnerDstAddr", Kind::Address)),
    ("ipprotocol.1", key("InnerProto", Kind::Number)),
    ("macsource", key("SrcMAC", Kind::Mac)),
    ("macdestination", key("DstMAC", Kind::Mac)),
    ("vlan", key("SrcVlan", Kind::Number)),
    ("ethernetprotocol", key("EType", Kind::Number)),
    ("ipprotocol", key("Proto", Kind::Number)),
    ("ipdscp", key("DSCP", Kind::Number)),
    ("ipttl", key("IPTTL", Kind::Number)),
    (
        "tcpsourceport",
        Key {
            column: "SrcPort",
            kind: Kind::Number,
            implied: Some("Proto = 6"),
        },
    ),
    (
        "tcpdestinationport",
        Key {
            column: "DstPort",
            kind: Kind::Number,
            implied: Some("Proto = 6"),
        },
    ),
    (
        "udpsourceport",
        Key {
            column: "SrcPort",
            kind: Kind::Number,
            implied: Some("Proto = 17"),
        },
    ),
    (
        "udpdestinationport",
        Key {
            column: "DstPort",
            kind: Kind::Number,
            implied: Some("Proto = 17"),
        },
    ),
    ("tcpflags", key("TCPFlags", Kind::Number)),
    ("inputifindex", key("InIf", Kind::Number)),
    ("outputifindex", key("OutIf", Kind::Number)),
    ("inputifname", key("InIfName", Kind::Text)),
    ("outputifname", key("OutIfName", Kind::Text)),
    ("bgpsourceas", key("SrcAS", Kind::Number)),
    ("bgpdestinationas", key("DstAS", Kind::Number)),
    ("ipnexthop", key("NextHop", Kind::Address)),
    ("discarded", key("Discarded", Kind::Number)),
    ("discardreason", key("DiscardReason", Kind::Number)),
];

fn lookup_key(name: &str) -> Result<Key, QueryError> {
    if let Some((_, key)) = NAMED_KEYS.iter().find(|(n, _)| *n == name) {
        return Ok(*key);
    }
    let column = FLOW_COLUMNS
        .iter()
        .find(|c| c.name == name)
        .ok_or_else(|| bad(format!("unknown history key {name:?}")))?;
    let kind = match (column.ty, column.name) {
        ("FixedString(16)", _) => Kind::Address,
        (_, "SrcMAC" | "DstMAC") => Kind::Mac,
        ("String", _) => Kind::Text,
        _ => Kind::Number,
    };
    Ok(key(column.name, kind))
}

impl Key {
    /// The key's value as a String expression.
    fn display(&self) -> String {
        match self.kind {
            Kind::Address => format!(
                "replaceRegexpOne(IPv6NumToString({}), '^::ffff:', '')",
                self.column
            ),
            // 2^48 added so that hex() always gives 14 digits: "01" + the 12 of the MAC.
            Kind::Mac => format!("substring(hex({} + 281474976710656), 3)", self.column),
            Kind::Text => self.column.to_string(),
            Kind::Number => format!("toString({})", self.column),
        }
    }

    fn in_rollups(&self) -> bool {
        ROLLUP_COLUMNS.iter().any(|c| c.name == self.column)
    }

    /// `column = value` (or the CIDR range of an address key).
    fn equals(&self, value: &str) -> Result<String, QueryError> {
        let invalid = |expected: &str| {
            bad(format!(
                "filter: {} expects {expected}, got {value:?}",
                self.column
            ))
        };
        Ok(match self.kind {
            Kind::Number => {
                let n: u64 = value.parse().map_err(|_| invalid("a number"))?;
                format!("{} = {n}", self.column)
            }
            Kind::Text => format!("{} = {}", self.column, string_literal(value)),
            Kind::Mac => {
                let hex: String = value.chars().filter(char::is_ascii_hexdigit).collect();
                let separators_ok = value
                    .chars()
                    .all(|c| c.is_ascii_hexdigit() || c == ':' || c == '-');
                if hex.len() != 12 || !separators_ok {
                    return Err(invalid("a MAC address"));
                }
                let n = u64::from_str_radix(&hex, 16).map_err(|_| invalid("a MAC address"))?;
                format!("{} = {n}", self.column)
            }
            Kind::Address => {
                let (address, prefix) = match value.split_once('/') {
                    Some((a, p)) => (a, Some(p)),
                    None => (value, None),
                };
                let ip: IpAddr = address
                    .parse()
                    .map_err(|_| invalid("an IP address or prefix"))?;
                let bytes = address_bytes(Some(ip));
                match prefix {
                    None => format!("{} = {}", self.column, fixed16(&bytes)),
                    Some(prefix) => {
                        let bits: u32 = prefix.parse().map_err(|_| invalid("a prefix length"))?;
                        let max = if ip.is_ipv4() { 32 } else { 128 };
                        if bits > max {
                            return Err(invalid("a prefix length"));
                        }
                        // Mapped IPv4 prefixes sit in the low 32 bits of the 128.
                        let total = if ip.is_ipv4() { 96 + bits } else { bits };
                        let value = u128::from_be_bytes(bytes);
                        let host_mask = if total == 0 {
                            u128::MAX
                        } else {
                            u128::MAX.checked_shr(total).unwrap_or(0)
                        };
                        let low = (value & !host_mask).to_be_bytes();
                        let high = (value | host_mask).to_be_bytes();
                        format!(
                            "{} BETWEEN {} AND {}",
                            self.column,
                            fixed16(&low),
                            fixed16(&high)
                        )
                    }
                }
            }
        })
    }
}

fn fixed16(bytes: &[u8; 16]) -> String {
    let mut hex = String::with_capacity(32);
    for b in bytes {
        let _ = write!(hex, "{b:02x}");
    }
    format!("toFixedString(unhex('{hex}'), 16)")
}

/// A ClickHouse string literal.
pub(crate) fn string_literal(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('\'');
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\'' => out.push_str("\\'"),
            '\0' => out.push_str("\\0"),
            c => out.push(c),
        }
    }
    out.push('\'');
    out
}

/// What is summed, and its unit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Measure {
    Bytes,
    Bits,
    Frames,
    Samples,
}

impl Measure {
    fn parse(value: &str) -> Result<Measure, QueryError> {
        match value {
            "bytes" => Ok(Measure::Bytes),
            "bits" | "bps" => Ok(Measure::Bits),
            "frames" | "packets" => Ok(Measure::Frames),
            "samples" | "flows" => Ok(Measure::Samples),
            _ => Err(bad(format!(
                "unknown history value {value:?} (bytes, bits, frames or samples)"
            ))),
        }
    }

    fn sum(self, raw: bool) -> &'static str {
        match (self, raw) {
            (Measure::Bytes, _) => "sum(Bytes)",
            (Measure::Bits, _) => "sum(Bytes) * 8",
            (Measure::Frames, _) => "sum(Packets)",
            (Measure::Samples, true) => "count()",
            (Measure::Samples, false) => "sum(Flows)",
        }
    }
}

/// Parameters of a history query.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct HistoryRequest {
    /// Flow keys, in order (`ipsource,ipdestination`).
    pub keys: Vec<String>,
    /// `bytes`, `bits`, `frames` or `samples`.
    pub value: String,
    /// sFlow-RT filter over the keys.
    pub filter: Option<String>,
    /// Only these agents (empty: all).
    pub agents: Vec<IpAddr>,
    /// Range, Unix ms, `from` inclusive, `to` exclusive.
    pub from_ms: u64,
    /// End of the range, Unix ms, exclusive.
    pub to_ms: u64,
    /// Most flows returned (the trend adds `-other-`).
    pub max_flows: usize,
    /// Trend step in seconds (0: chosen from the range).
    pub step: u64,
    /// Force `flows`, `flows_1m` or `flows_1h` (else chosen).
    pub table: Option<String>,
}

/// Most flows one request may ask for.
pub(crate) const MAX_FLOWS_LIMIT: usize = 10_000;
/// Most points of one trend series.
pub(crate) const MAX_POINTS: u64 = 10_000;

/// A planned query: the SQL and what the answer means.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Plan {
    /// The statement to run (`FORMAT JSONCompact`).
    pub sql: String,
    /// The table read (`flows`, `flows_1m`, `flows_1h`).
    pub table: &'static str,
    /// The range actually covered (rounded to the table's buckets), Unix ms.
    pub from_ms: u64,
    /// End of the covered range, Unix ms.
    pub to_ms: u64,
    /// Trend step in seconds (0 for a top-N).
    pub step: u64,
    /// Number of keys (the answer's leading columns).
    keys: usize,
}

struct Parts {
    keys: Vec<Key>,
    measure: Measure,
    conditions: Vec<String>,
    needs_raw: bool,
}

fn parts(request: &HistoryRequest) -> Result<Parts, QueryError> {
    if request.keys.is_empty() {
        return Err(bad("keys: at least one flow key is required"));
    }
    if request.to_ms <= request.from_ms {
        return Err(bad("the range is empty: to must be after from"));
    }
    if request.max_flows == 0 || request.max_flows > MAX_FLOWS_LIMIT {
        return Err(bad(format!(
            "maxFlows must be between 1 and {MAX_FLOWS_LIMIT}"
        )));
    }
    let keys = request
        .keys
        .iter()
        .map(|k| lookup_key(k.trim()))
        .collect::<Result<Vec<_>, _>>()?;
    let measure = Measure::parse(request.value.trim())?;
    let mut conditions = Vec::new();
    let mut needs_raw = keys.iter().any(|k| !k.in_rollups());
    for key in &keys {
        if let Some(implied) = key.implied {
            conditions.push(implied.to_string());
            needs_raw = true;
        }
    }
    if !request.agents.is_empty() {
        let agents: Vec<String> = request
            .agents
            .iter()
            .map(|a| fixed16(&address_bytes(Some(*a))))
            .collect();
        conditions.push(format!("ExporterAddress IN ({})", agents.join(", ")));
    }
    if let Some(filter) = request.filter.as_deref().filter(|f| !f.trim().is_empty()) {
        let parsed = FilterParser::new(filter).parse()?;
        needs_raw |= parsed.needs_raw;
        conditions.push(parsed.sql);
    }
    Ok(Parts {
        keys,
        measure,
        conditions,
        needs_raw,
    })
}

/// The table for a range: the coarsest rollup whose buckets the range is aligned to (or that is at most 1% of
/// the range, with the range rounded to whole buckets), unless raw columns are needed.
fn choose_table(
    request: &HistoryRequest,
    needs_raw: bool,
    step: u64,
) -> Result<(&'static str, u64, u64), QueryError> {
    let (from_s, to_s) = (request.from_ms / 1000, request.to_ms.div_ceil(1000));
    if let Some(forced) = request.table.as_deref() {
        if forced == "flows" {
            return Ok(("flows", from_s, to_s));
        }
        let rollup = ROLLUPS.iter().find(|r| r.table == forced).ok_or_else(|| {
            bad(format!(
                "unknown table {forced:?} (flows, flows_1m, flows_5m, flows_1h)"
            ))
        })?;
        if needs_raw {
            return Err(bad(format!(
                "{forced} has no per-packet columns: these keys or this filter need the flows table"
            )));
        }
        let s = rollup.seconds;
        return Ok((rollup.table, from_s / s * s, to_s.div_ceil(s) * s));
    }
    if !needs_raw {
        for rollup in ROLLUPS.iter().rev() {
            let s = rollup.seconds;
            let aligned = from_s.is_multiple_of(s) && to_s.is_multiple_of(s);
            let long = (to_s - from_s) >= 100 * s;
            if (aligned || long) && (step == 0 || step.is_multiple_of(s)) {
                return Ok((rollup.table, from_s / s * s, to_s.div_ceil(s) * s));
            }
        }
    }
    Ok(("flows", from_s, to_s))
}

fn where_clause(from_s: u64, to_s: u64, conditions: &[String]) -> String {
    let mut clause =
        format!("TimeReceived >= toDateTime({from_s}) AND TimeReceived < toDateTime({to_s})");
    for condition in conditions {
        let _ = write!(clause, " AND ({condition})");
    }
    clause
}

/// The top-N flows over the range (`/history/activeflows`).
pub fn plan_top(request: &HistoryRequest, layout: &Layout) -> Result<Plan, QueryError> {
    let parts = parts(request)?;
    let (table, from_s, to_s) = choose_table(request, parts.needs_raw, 0)?;
    let mut select = Vec::new();
    for (i, key) in parts.keys.iter().enumerate() {
        select.push(format!("{} AS k{i}", key.display()));
    }
    let group: Vec<String> = (0..parts.keys.len()).map(|i| format!("k{i}")).collect();
    let sql = format!(
        "SELECT {keys}, {value} AS v, replaceRegexpOne(IPv6NumToString(any(ExporterAddress)), '^::ffff:', '') AS a, \
         toString(any(InIf)) AS d FROM {table} WHERE {condition} GROUP BY {group} ORDER BY v DESC, {group} LIMIT {limit}",
        keys = select.join(", "),
        value = parts.measure.sum(table == "flows"),
        table = layout.query_table(table),
        condition = where_clause(from_s, to_s, &parts.conditions),
        group = group.join(", "),
        limit = request.max_flows,
    );
    Ok(Plan {
        sql,
        table,
        from_ms: from_s * 1000,
        to_ms: to_s * 1000,
        step: 0,
        keys: parts.keys.len(),
    })
}

/// The top-N flows as time series (`/history/trend`).
pub fn plan_trend(request: &HistoryRequest, layout: &Layout) -> Result<Plan, QueryError> {
    let parts = parts(request)?;
    let span_s = (request.to_ms.div_ceil(1000))
        .saturating_sub(request.from_ms / 1000)
        .max(1);
    let step = match request.step {
        0 => default_step(span_s),
        step => step,
    };
    if span_s / step > MAX_POINTS {
        return Err(bad(format!(
            "step {step} s gives more than {MAX_POINTS} points over this range"
        )));
    }
    let (table, from_s, to_s) = choose_table(request, parts.needs_raw, step)?;
    let from_s = from_s / step * step;
    let key_list: Vec<String> = parts.keys.iter().map(Key::display).collect();
    let key_tuple = if key_list.len() == 1 {
        key_list.join("")
    } else {
        format!("({})", key_list.join(", "))
    };
    let key_text = if key_list.len() == 1 {
        key_list.join("")
    } else {
        format!("arrayStringConcat([{}], ',')", key_list.join(", "))
    };
    let condition = where_clause(from_s, to_s, &parts.conditions);
    let value = parts.measure.sum(table == "flows");
    let query_table = layout.query_table(table);
    let top = format!(
        "SELECT {keys} FROM {query_table} WHERE {condition} GROUP BY {keys} ORDER BY {value} DESC LIMIT {limit}",
        keys = key_list.join(", "),
        limit = request.max_flows,
    );
    let sql = format!(
        "SELECT intDiv(toUInt32(TimeReceived), {step}) * {step} AS t, \
         if({key_tuple} IN ({top}), {key_text}, '-other-') AS k, {value} AS v \
         FROM {query_table} WHERE {condition} GROUP BY t, k ORDER BY t, k"
    );
    Ok(Plan {
        sql,
        table,
        from_ms: from_s * 1000,
        to_ms: to_s * 1000,
        step,
        keys: 1,
    })
}

/// About 100 points: the smallest of 60 s, 5 min, 15 min, 1 h, 6 h, 1 day giving at most 200.
fn default_step(span_s: u64) -> u64 {
    [60, 300, 900, 3_600, 21_600, 86_400]
        .into_iter()
        .find(|step| span_s / step <= 200)
        .unwrap_or(86_400)
}

/// One flow of `/history/activeflows`, in `/activeflows`' shape.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ActiveFlow {
    /// Key values joined by commas, as sFlow-RT does.
    pub key: String,
    /// Average rate over the range (per second).
    pub value: f64,
    /// One agent that saw the flow.
    pub agent: String,
    /// One input ifIndex where it was seen.
    pub data_source: String,
}

/// The answer of [`plan_top`]'s SQL as flows.
pub fn top_flows(plan: &Plan, rows: &[Vec<Value>]) -> Vec<ActiveFlow> {
    let seconds = ((plan.to_ms - plan.from_ms) / 1000).max(1) as f64;
    rows.iter()
        .map(|row| {
            let text = |i: usize| match row.get(i) {
                Some(Value::String(s)) => s.clone(),
                Some(other) => other.to_string(),
                None => String::new(),
            };
            let keys: Vec<String> = (0..plan.keys).map(text).collect();
            let total = row.get(plan.keys).and_then(Value::as_f64).unwrap_or(0.0);
            ActiveFlow {
                key: keys.join(","),
                value: total / seconds,
                agent: text(plan.keys + 1),
                data_source: text(plan.keys + 2),
            }
        })
        .collect()
}

/// `/history/trend`: one series per top flow (and `-other-`), one value per step.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Trend {
    /// Covered range, Unix ms.
    pub from: u64,
    /// End of the covered range, Unix ms.
    pub to: u64,
    /// Seconds per point.
    pub step: u64,
    /// The table that answered.
    pub table: &'static str,
    /// Start of each step, Unix ms.
    pub times: Vec<u64>,
    /// Top flows first (by their total), `-other-` last.
    pub series: Vec<Series>,
}

/// One flow's rates over time.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Series {
    /// The flow's key values joined by `,` (or `-other-`).
    pub key: String,
    /// Average rate (per second) in each step.
    pub values: Vec<f64>,
}

/// The answer of [`plan_trend`]'s SQL as series over every step of the range (missing steps are 0).
pub fn trend(plan: &Plan, rows: &[Vec<Value>]) -> Trend {
    let step_ms = plan.step.max(1) * 1000;
    let points = (plan.to_ms.saturating_sub(plan.from_ms)).div_ceil(step_ms) as usize;
    let times: Vec<u64> = (0..points as u64)
        .map(|i| plan.from_ms + i * step_ms)
        .collect();
    let mut series: Vec<Series> = Vec::new();
    let mut totals: Vec<f64> = Vec::new();
    for row in rows {
        let (Some(t), Some(key), Some(v)) = (
            row.first().and_then(Value::as_u64),
            row.get(1).and_then(Value::as_str),
            row.get(2).and_then(Value::as_f64),
        ) else {
            continue;
        };
        let Some(slot) = (t * 1000)
            .checked_sub(plan.from_ms)
            .map(|offset| (offset / step_ms) as usize)
            .filter(|slot| *slot < points)
        else {
            continue;
        };
        let index = match series.iter().position(|s| s.key == key) {
            Some(index) => index,
            None => {
                series.push(Series {
                    key: key.to_string(),
                    values: vec![0.0; points],
                });
                totals.push(0.0);
                series.len() - 1
            }
        };
        if let (Some(series), Some(total)) = (series.get_mut(index), totals.get_mut(index)) {
            if let Some(value) = series.values.get_mut(slot) {
                *value += v / plan.step.max(1) as f64;
            }
            *total += v;
        }
    }
    let mut order: Vec<usize> = (0..series.len()).collect();
    order.sort_by(|&a, &b| {
        let other = |i: usize| series.get(i).is_some_and(|s| s.key == "-other-");
        other(a)
            .cmp(&other(b))
            .then(totals[b].total_cmp(&totals[a]))
    });
    let mut slots: Vec<Option<Series>> = series.into_iter().map(Some).collect();
    let series = order
        .into_iter()
        .filter_map(|i| slots.get_mut(i).and_then(Option::take))
        .collect();
    Trend {
        from: plan.from_ms,
        to: plan.to_ms,
        step: plan.step,
        table: plan.table,
        times,
        series,
    }
}

/// A translated filter.
struct ParsedFilter {
    sql: String,
    needs_raw: bool,
}

/// `key=v1,v2`, `key!=v`, `&` (binds tighter), `|`, parentheses, single or double quotes around values.
struct FilterParser<'a> {
    text: &'a str,
    position: usize,
    depth: usize,
    needs_raw: bool,
}

const MAX_FILTER_LEN: usize = 4096;
const MAX_FILTER_DEPTH: usize = 32;

impl<'a> FilterParser<'a> {
    fn new(text: &'a str) -> Self {
        FilterParser {
            text,
            position: 0,
            depth: 0,
            needs_raw: false,
        }
    }

    fn parse(mut self) -> Result<ParsedFilter, QueryError> {
        if self.text.len() > MAX_FILTER_LEN {
            return Err(bad(format!("filter longer than {MAX_FILTER_LEN} bytes")));
        }
        let sql = self.or()?;
        self.skip_spaces();
        if let Some(c) = self.peek() {
            return Err(self.error(&format!("unexpected {c:?}")));
        }
        Ok(ParsedFilter {
            sql,
            needs_raw: self.needs_raw,
        })
    }

    fn error(&self, what: &str) -> QueryError {
        bad(format!("filter: {what} at position {}", self.position))
    }

    fn peek(&self) -> Option<char> {
        self.text.get(self.position..)?.chars().next()
    }

    fn skip_spaces(&mut self) {
        while self.peek().is_some_and(char::is_whitespace) {
            self.position += 1;
        }
    }

    fn eat(&mut self, c: char) -> bool {
        self.skip_spaces();
        if self.peek() == Some(c) {
            self.position += c.len_utf8();
            true
        } else {
            false
        }
    }

    fn or(&mut self) -> Result<String, QueryError> {
        let mut terms = vec![self.and()?];
        while self.eat('|') {
            terms.push(self.and()?);
        }
        Ok(if terms.len() == 1 {
            terms.join("")
        } else {
            format!("({})", terms.join(" OR "))
        })
    }

    fn and(&mut self) -> Result<String, QueryError> {
        let mut terms = vec![self.atom()?];
        while self.eat('&') {
            terms.push(self.atom()?);
        }
        Ok(if terms.len() == 1 {
            terms.join("")
        } else {
            format!("({})", terms.join(" AND "))
        })
    }

    fn atom(&mut self) -> Result<String, QueryError> {
        if self.eat('(') {
            self.depth += 1;
            if self.depth > MAX_FILTER_DEPTH {
                return Err(self.error("parentheses nested too deep"));
            }
            let inner = self.or()?;
            if !self.eat(')') {
                return Err(self.error("missing ')'"));
            }
            self.depth -= 1;
            return Ok(inner);
        }
        self.comparison()
    }

    fn word(&mut self, stop: &[char]) -> Result<String, QueryError> {
        self.skip_spaces();
        if let Some(quote @ ('\'' | '"')) = self.peek() {
            self.position += 1;
            let rest = self.text.get(self.position..).unwrap_or_default();
            let end = rest
                .find(quote)
                .ok_or_else(|| self.error("unterminated quote"))?;
            let word = rest.get(..end).unwrap_or_default().to_string();
            self.position += end + 1;
            return Ok(word);
        }
        let start = self.position;
        while self
            .peek()
            .is_some_and(|c| !c.is_whitespace() && !stop.contains(&c))
        {
            self.position += self.peek().map_or(1, char::len_utf8);
        }
        Ok(self
            .text
            .get(start..self.position)
            .unwrap_or_default()
            .to_string())
    }

    fn comparison(&mut self) -> Result<String, QueryError> {
        let name = self.word(&['=', '!', '&', '|', '(', ')'])?;
        if name.is_empty() {
            return Err(self.error("expected a key"));
        }
        let key = lookup_key(&name).map_err(|e| bad(format!("filter: {}", e.0)))?;
        if !key.in_rollups() {
            self.needs_raw = true;
        }
        self.skip_spaces();
        let negate = if self.eat('!') {
            true
        } else if self.peek() == Some('=') {
            false
        } else {
            return Err(self.error("expected '=' or '!='"));
        };
        if !self.eat('=') {
            return Err(self.error("expected '=' or '!='"));
        }
        let mut alternatives = Vec::new();
        loop {
            let value = self.word(&[',', '&', '|', ')'])?;
            if value.is_empty() {
                return Err(self.error("expected a value"));
            }
            alternatives.push(key.equals(&value)?);
            if !self.eat(',') {
                break;
            }
        }
        let mut sql = if alternatives.len() == 1 {
            alternatives.join("")
        } else {
            format!("({})", alternatives.join(" OR "))
        };
        if let Some(implied) = key.implied {
            self.needs_raw = true;
            sql = format!("({implied} AND {sql})");
        }
        Ok(if negate { format!("NOT {sql}") } else { sql })
    }
}

/// A time parameter: Unix ms, `now`, or relative to `now_ms` (`-3600` seconds, `-90s`, `-30m`, `-6h`, `-7d`).
pub fn parse_time(text: &str, now_ms: u64) -> Result<u64, QueryError> {
    let text = text.trim();
    if text.eq_ignore_ascii_case("now") {
        return Ok(now_ms);
    }
    if let Some(relative) = text.strip_prefix('-') {
        let (number, unit) = match relative.find(|c: char| !c.is_ascii_digit()) {
            Some(at) => relative.split_at(at),
            None => (relative, "s"),
        };
        let n: u64 = number
            .parse()
            .map_err(|_| bad(format!("time {text:?}: expected Unix ms or -N[smhd]")))?;
        let seconds = match unit {
            "s" => n,
            "m" => n * 60,
            "h" => n * 3_600,
            "d" => n * 86_400,
            _ => return Err(bad(format!("time {text:?}: unit must be s, m, h or d"))),
        };
        return Ok(now_ms.saturating_sub(seconds.saturating_mul(1000)));
    }
    text.parse()
        .map_err(|_| bad(format!("time {text:?}: expected Unix ms, now or -N[smhd]")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn layout() -> Layout {
        Layout {
            database: "rtflow".into(),
            cluster: None,
        }
    }

    fn request(keys: &str, from_s: u64, to_s: u64) -> HistoryRequest {
        HistoryRequest {
            keys: keys.split(',').map(str::to_string).collect(),
            value: "bytes".into(),
            from_ms: from_s * 1000,
            to_ms: to_s * 1000,
            max_flows: 10,
            ..HistoryRequest::default()
        }
    }

    #[test]
    fn rollups_answer_aligned_or_long_ranges_of_rollup_keys() {
        let day = 86_400 * 20_000;
        let plan = plan_top(
            &request("bgpsourceas,inputifname", day, day + 3_600),
            &layout(),
        )
        .unwrap();
        assert_eq!(plan.table, "flows_1h");
        let plan = plan_top(&request("bgpsourceas", day, day + 600), &layout()).unwrap();
        assert_eq!(plan.table, "flows_5m");
        let plan = plan_top(&request("bgpsourceas", day, day + 540), &layout()).unwrap();
        assert_eq!(plan.table, "flows_1m");
        // Not aligned, shorter than 100 minutes: raw.
        let plan = plan_top(&request("bgpsourceas", day + 7, day + 600), &layout()).unwrap();
        assert_eq!(plan.table, "flows");
        // Not aligned but a day long: the 5-minute rollup, range rounded out to whole buckets; 3 hours: minutes.
        let plan = plan_top(&request("bgpsourceas", day + 7, day + 86_407), &layout()).unwrap();
        assert_eq!(plan.table, "flows_5m");
        assert_eq!(
            (plan.from_ms, plan.to_ms),
            (day * 1000, (day + 86_700) * 1000)
        );
        let plan = plan_top(&request("bgpsourceas", day + 7, day + 10_807), &layout()).unwrap();
        assert_eq!(plan.table, "flows_1m");
        assert_eq!(
            (plan.from_ms, plan.to_ms),
            (day * 1000, (day + 10_860) * 1000)
        );
        // Addresses exist only in the raw table.
        let plan = plan_top(&request("ipsource", day, day + 3_600), &layout()).unwrap();
        assert_eq!(plan.table, "flows");
        let mut filtered = request("bgpsourceas", day, day + 3_600);
        filtered.filter = Some("tcpdestinationport=443".into());
        assert_eq!(plan_top(&filtered, &layout()).unwrap().table, "flows");
    }

    #[test]
    fn filters_translate_to_sql() {
        let sql = |f: &str| FilterParser::new(f).parse().map(|p| p.sql);
        assert_eq!(sql("ipprotocol=6").unwrap(), "Proto = 6");
        assert_eq!(sql("ipprotocol=6,17").unwrap(), "(Proto = 6 OR Proto = 17)");
        assert_eq!(
            sql("ipprotocol!=6&inputifname='eth 0'|agentname=a\\'b").unwrap(),
            "((NOT Proto = 6 AND InIfName = 'eth 0') OR ExporterName = 'a\\\\\\'b')"
        );
        assert_eq!(
            sql("ipsource=10.0.0.0/8").unwrap(),
            "SrcAddr BETWEEN toFixedString(unhex('00000000000000000000ffff0a000000'), 16) \
             AND toFixedString(unhex('00000000000000000000ffff0affffff'), 16)"
        );
        assert_eq!(
            sql("macsource=00:00:5E:00:53:01").unwrap(),
            format!("SrcMAC = {}", 0x00005e005301u64)
        );
        assert_eq!(
            sql("tcpdestinationport=443").unwrap(),
            "(Proto = 6 AND DstPort = 443)"
        );
        for bad in [
            "ipprotocol=x",
            "nosuchkey=1",
            "ipprotocol",
            "(ipprotocol=6",
            "ipsource=10.0.0.0/33",
            "ipprotocol=6)",
            "agentname='x",
        ] {
            assert!(sql(bad).is_err(), "{bad} accepted");
        }
    }

    #[test]
    fn the_top_query_groups_by_the_keys_and_orders_by_the_value() {
        let mut r = request("ipsource,ipdestination", 1_000, 1_060);
        r.agents = vec!["192.0.2.1".parse().unwrap()];
        r.value = "frames".into();
        let plan = plan_top(&r, &layout()).unwrap();
        assert!(plan.sql.contains("sum(Packets) AS v"), "{}", plan.sql);
        assert!(
            plan.sql.contains("GROUP BY k0, k1 ORDER BY v DESC"),
            "{}",
            plan.sql
        );
        assert!(plan.sql.contains(
            "ExporterAddress IN (toFixedString(unhex('00000000000000000000ffffc0000201'), 16))"
        ));
        assert!(
            plan.sql
                .contains("TimeReceived >= toDateTime(1000) AND TimeReceived < toDateTime(1060)")
        );
        let rows = vec![vec![
            Value::from("10.0.0.1"),
            Value::from("10.0.0.2"),
            Value::from(6000),
            Value::from("192.0.2.1"),
            Value::from("3"),
        ]];
        let flows = top_flows(&plan, &rows);
        assert_eq!(
            flows,
            vec![ActiveFlow {
                key: "10.0.0.1,10.0.0.2".into(),
                value: 100.0,
                agent: "192.0.2.1".into(),
                data_source: "3".into()
            }]
        );
    }

    #[test]
    fn trends_fill_gaps_and_put_other_last() {
        let mut r = request("ipsource", 600, 900);
        r.step = 60;
        let plan = plan_trend(&r, &layout()).unwrap();
        assert_eq!(plan.step, 60);
        let row = |t: u64, k: &str, v: f64| vec![Value::from(t), Value::from(k), Value::from(v)];
        let rows = vec![
            row(600, "-other-", 600.0),
            row(600, "a", 60.0),
            row(660, "b", 6000.0),
            row(840, "a", 120.0),
        ];
        let trend = trend(&plan, &rows);
        assert_eq!(
            trend.times,
            vec![600_000, 660_000, 720_000, 780_000, 840_000]
        );
        let keys: Vec<&str> = trend.series.iter().map(|s| s.key.as_str()).collect();
        assert_eq!(keys, vec!["b", "a", "-other-"]);
        assert_eq!(trend.series[1].values, vec![1.0, 0.0, 0.0, 0.0, 2.0]);
    }

    #[test]
    fn bad_requests_say_what_is_wrong() {
        let mut r = request("ipsource", 10, 5);
        assert!(
            plan_top(&r, &layout())
                .unwrap_err()
                .0
                .contains("range is empty")
        );
        r = request("ipsource", 0, 10);
        r.value = "furlongs".into();
        assert!(plan_top(&r, &layout()).unwrap_err().0.contains("furlongs"));
        r = request("ipsource", 0, 10);
        r.table = Some("flows_1h".into());
        assert!(
            plan_top(&r, &layout())
                .unwrap_err()
                .0
                .contains("flows table")
        );
        r = request("ipsource", 0, 86_400 * 365);
        r.step = 1;
        assert!(plan_trend(&r, &layout()).unwrap_err().0.contains("points"));
    }

    #[test]
    fn times_are_absolute_or_relative_to_now() {
        let now = 1_700_000_000_000;
        assert_eq!(parse_time("now", now), Ok(now));
        assert_eq!(parse_time("-90", now), Ok(now - 90_000));
        assert_eq!(parse_time("-30m", now), Ok(now - 1_800_000));
        assert_eq!(parse_time("-1d", now), Ok(now - 86_400_000));
        assert_eq!(parse_time("1600000000000", now), Ok(1_600_000_000_000));
        assert!(parse_time("-3w", now).is_err());
        assert!(parse_time("yesterday", now).is_err());
    }
}
