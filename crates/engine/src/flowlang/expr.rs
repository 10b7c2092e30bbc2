//! Key expressions (spec §3.2): a key name or `function:arg:arg…`, with `[ ]`
//! nesting (`prefix:[uri:httpurl:path]:/:2`) and `\` escapes (`concat:\::a:b`).
//!
//! Compiled once into a [`KeyExpr`] tree; [`KeyExpr::eval`] appends the value to
//! a caller-owned `String` and transforms it in place, so evaluation does not
//! allocate once the buffer has grown to its working size.
//!
//! Semantics (choices where sFlow-RT's documentation is silent are marked *):
//! - A key name that is not known is accepted, as sFlow-RT accepts it, and is always missing.
//! - `mask:<ip>:<bits>` → the network as `address/bits` (`10.1.2.0/24`), as sFlow-RT writes it; bits above
//!   the family width are clamped (*); a non-IP value is missing. Functions taking an address (`group:`,
//!   `mask:`) read such a value as its address.
//! - `group:<ip>:<gs1>:<gs2>…` → label of the longest-prefix match in the first
//!   groupset that matches; missing if none (or the value is not an IP).
//! - `null:<key>:<subst>` → the key, or `subst` when missing (`subst` is a
//!   literal, or an expression when written in `[ ]`).
//! - `or:<k1>:<k2>…` → the first present key.
//! - `prefix:<key>:<delim>:<n>` → the first n delimited tokens; `suffix` the last
//!   n; the whole value when it has ≤ n tokens. Empty tokens count, so
//!   `suffix:dnsqname:.:3` of `www.example.com.` is `example.com.` (*).
//! - `range:<key>:<lo>[:<hi>]` → `true` when lo ≤ value ≤ hi (inclusive, hi
//!   defaults to +∞), else `false`; missing if the key is missing or not numeric.
//! - `eq:<k1>:<k2>` → `true`/`false` (string equality); missing if either is (*).
//! - `concat:<sep>:<k1>:<k2>…` → values joined by sep; missing if any is (*).
//! - `if:<cond>:<match>:<then>:<else>` → `then` when cond's value equals the
//!   literal `match`, else `else` (also when cond is missing (*)). `then`/`else`
//!   are a key when they name a known key, an expression in `[ ]`, otherwise a
//!   literal (*).
//! - `first:<key>:<delim>:<t1>:<t2>…` → scanning the key's tokens in order, the
//!   first that is one of t1, t2…; missing if none (*: key order, so
//!   `first:stack:.:ip:ip6` names the outermost IP layer).
//! - `map:<key>:<mapname>` → the label listing the value; missing if none.
//! - `bits:<key>:<mask>` → decimal `value & mask` (mask decimal or `0x` hex) (*).
//! - `uri:<key>:<part>` with part `scheme|user|host|port|path|query|fragment|file|extension`;
//!   missing when the URI has no such part.
//! - `link:<ifindexkey>` → the name of the topology link that the sample's agent port with that ifIndex
//!   belongs to; missing when the port is on no link (or the value is not an ifIndex).
//! - `oui:<mackey>[:number|name]` → `number`: the first three bytes as 6 upper-case hex digits (`D8D385`);
//!   `name` (the default): the organization from the OUI table, missing when not listed. A value that is not
//!   a MAC (12 hex digits, optionally `:`/`-` separated) is missing.
//! - `host:<mackey>:<host_name|machine_type|os_name|uuid|os_release>` → the attribute of the host that owns
//!   the MAC, learned from host_adapters + host_descr counter samples; missing when unknown.

use std::fmt::Write as _;
use std::net::{IpAddr, Ipv4Addr};

use super::AttributeSource;
use super::groups::Lookups;
use super::hosts::HostAttribute;
use super::keyname::FlowKey;
use super::mac::{oui_of, parse_mac, push_oui};

/// Deepest `[ ]` nesting accepted in a key expression.
pub const MAX_EXPR_DEPTH: usize = 16;

/// Functions sFlow-RT has but rtflow does not implement, with what they would need.
const UNSUPPORTED_FUNCTIONS: &[(&str, &str)] = &[
    ("country", "needs a GeoIP country database"),
    ("asn", "needs a GeoIP ASN database"),
    ("dns", "needs reverse DNS lookups"),
];

/// Why a key expression does not compile.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ExprError {
    #[error("empty key")]
    Empty,
    /// Text that cannot be a key name (unknown but name-like keys are accepted).
    #[error("invalid flow key '{0}'")]
    UnknownKey(String),
    #[error("unknown key function '{0}'")]
    UnknownFunction(String),
    #[error("unsupported key function '{name}' ({reason})")]
    UnsupportedFunction { name: String, reason: &'static str },
    #[error("{function}: expected {expected} arguments, got {got}")]
    Arity {
        function: &'static str,
        expected: &'static str,
        got: usize,
    },
    #[error("{function}: invalid {argument} '{value}'")]
    InvalidArgument {
        function: &'static str,
        argument: &'static str,
        value: String,
    },
    #[error("{function}: {argument} must be a literal, not a [ ] expression")]
    ExpectedLiteral {
        function: &'static str,
        argument: &'static str,
    },
    #[error("unclosed '[' at position {0}")]
    UnclosedBracket(usize),
    #[error("unexpected ']' at position {0}")]
    UnexpectedCloseBracket(usize),
    #[error("'[' at position {0} must start an argument")]
    MisplacedBracket(usize),
    #[error("unexpected text after ']' at position {0}")]
    TextAfterBracket(usize),
    #[error("trailing '\\' at end of expression")]
    TrailingEscape,
    #[error("expression nested deeper than {MAX_EXPR_DEPTH} levels")]
    TooDeep,
}

/// A compiled key expression.
#[derive(Debug, Clone, PartialEq)]
pub enum KeyExpr {
    Attr(FlowKey),
    /// A key name rtflow does not know. Accepted, as sFlow-RT accepts it, and never present in a sample.
    Unknown(Box<str>),
    Mask {
        inner: Box<KeyExpr>,
        bits: u8,
    },
    Group {
        inner: Box<KeyExpr>,
        groupsets: Box<[Box<str>]>,
    },
    Null {
        inner: Box<KeyExpr>,
        substitute: Operand,
    },
    Or(Box<[KeyExpr]>),
    Prefix {
        inner: Box<KeyExpr>,
        delim: Box<str>,
        count: usize,
    },
    Suffix {
        inner: Box<KeyExpr>,
        delim: Box<str>,
        count: usize,
    },
    Range {
        inner: Box<KeyExpr>,
        lo: f64,
        hi: f64,
    },
    Eq(Box<KeyExpr>, Box<KeyExpr>),
    Concat {
        separator: Box<str>,
        parts: Box<[KeyExpr]>,
    },
    If {
        condition: Box<KeyExpr>,
        matches: Box<str>,
        then: Operand,
        otherwise: Operand,
    },
    First {
        inner: Box<KeyExpr>,
        delim: Box<str>,
        tokens: Box<[Box<str>]>,
    },
    Map {
        inner: Box<KeyExpr>,
        map: Box<str>,
    },
    Bits {
        inner: Box<KeyExpr>,
        mask: u64,
    },
    Uri {
        inner: Box<KeyExpr>,
        part: UriPart,
    },
    /// `link:<ifindexkey>`.
    Link(Box<KeyExpr>),
    Oui {
        inner: Box<KeyExpr>,
        form: OuiForm,
    },
    Host {
        inner: Box<KeyExpr>,
        attribute: HostAttribute,
    },
}

/// A function argument that may be a literal or a key expression.
#[derive(Debug, Clone, PartialEq)]
pub enum Operand {
    Literal(Box<str>),
    Expr(Box<KeyExpr>),
}

/// The component selected by `uri:<key>:<part>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UriPart {
    Scheme,
    User,
    Host,
    Port,
    Path,
    Query,
    Fragment,
    /// Last path segment.
    File,
    /// Text after the last `.` of the last path segment.
    Extension,
}

impl UriPart {
    fn parse(text: &str) -> Option<UriPart> {
        Some(match text {
            "scheme" => UriPart::Scheme,
            "user" => UriPart::User,
            "host" => UriPart::Host,
            "port" => UriPart::Port,
            "path" => UriPart::Path,
            "query" => UriPart::Query,
            "fragment" => UriPart::Fragment,
            "file" => UriPart::File,
            "extension" => UriPart::Extension,
            _ => return None,
        })
    }
}

/// What `oui:<mackey>:<form>` writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OuiForm {
    /// Six upper-case hex digits.
    Number,
    /// The organization name from the OUI table.
    Name,
}

impl OuiForm {
    fn parse(text: &str) -> Option<OuiForm> {
        match text {
            "number" => Some(OuiForm::Number),
            "name" => Some(OuiForm::Name),
            _ => None,
        }
    }
}

/// One `:`-separated argument of an expression, before interpretation.
#[derive(Debug)]
enum Segment<'a> {
    /// Plain text, `\` escapes removed.
    Text(String),
    /// The raw text between `[` and `]`, and its absolute position.
    Nested(&'a str, usize),
}

impl KeyExpr {
    /// Parses a key expression such as `ipsource`, `mask:ipsource:24` or
    /// `null:[map:tcpdestinationport:services]:other`.
    pub fn parse(text: &str) -> Result<KeyExpr, ExprError> {
        parse_at(text, 0, 0)
    }

    /// Appends this expression's value for `src` to `out`. Returns `false` (and
    /// leaves `out` as it was) when the value is missing.
    pub fn eval<S: AttributeSource + ?Sized>(
        &self,
        src: &S,
        lookups: &Lookups,
        out: &mut String,
    ) -> bool {
        let start = out.len();
        let present = self.eval_inner(src, lookups, out, start);
        if !present {
            out.truncate(start);
        }
        present
    }

    /// Appends the unknown key names this expression reads (they never match; callers may warn about them).
    pub fn unknown_keys(&self, out: &mut Vec<String>) {
        let operand = |operand: &Operand, out: &mut Vec<String>| {
            if let Operand::Expr(expr) = operand {
                expr.unknown_keys(out);
            }
        };
        match self {
            KeyExpr::Attr(_) => {}
            KeyExpr::Unknown(name) => out.push(name.to_string()),
            KeyExpr::Mask { inner, .. }
            | KeyExpr::Group { inner, .. }
            | KeyExpr::Prefix { inner, .. }
            | KeyExpr::Suffix { inner, .. }
            | KeyExpr::Range { inner, .. }
            | KeyExpr::First { inner, .. }
            | KeyExpr::Map { inner, .. }
            | KeyExpr::Bits { inner, .. }
            | KeyExpr::Uri { inner, .. }
            | KeyExpr::Link(inner)
            | KeyExpr::Oui { inner, .. }
            | KeyExpr::Host { inner, .. } => inner.unknown_keys(out),
            KeyExpr::Null { inner, substitute } => {
                inner.unknown_keys(out);
                operand(substitute, out);
            }
            KeyExpr::Or(parts) | KeyExpr::Concat { parts, .. } => {
                parts.iter().for_each(|part| part.unknown_keys(out));
            }
            KeyExpr::Eq(left, right) => {
                left.unknown_keys(out);
                right.unknown_keys(out);
            }
            KeyExpr::If {
                condition,
                then,
                otherwise,
                ..
            } => {
                condition.unknown_keys(out);
                operand(then, out);
                operand(otherwise, out);
            }
        }
    }

    /// The plain attribute this expression reads, if it is nothing more.
    pub fn as_attribute(&self) -> Option<FlowKey> {
        match self {
            KeyExpr::Attr(key) => Some(*key),
            _ => None,
        }
    }

    fn eval_inner<S: AttributeSource + ?Sized>(
        &self,
        src: &S,
        lookups: &Lookups,
        out: &mut String,
        start: usize,
    ) -> bool {
        match self {
            KeyExpr::Attr(key) => src.write_attribute(key.name, key.layer, out),
            KeyExpr::Unknown(_) => false,
            KeyExpr::Mask { inner, bits } => {
                let Some(address) = eval_address(inner, src, lookups, out, start) else {
                    return false;
                };
                out.truncate(start);
                let width = if address.is_ipv4() { 32 } else { 128 };
                match mask_address(address, *bits) {
                    // Hand-rolled: `Display for Ipv4Addr` costs several times more.
                    IpAddr::V4(v4) => push_ipv4(out, v4),
                    // Writing into a String cannot fail.
                    IpAddr::V6(v6) => {
                        let _ = write!(out, "{v6}");
                    }
                }
                // sFlow-RT writes the prefix length too (`10.4.1.0/24`).
                out.push('/');
                push_small(out, (*bits).min(width));
                true
            }
            KeyExpr::Group { inner, groupsets } => {
                let Some(address) = eval_address(inner, src, lookups, out, start) else {
                    return false;
                };
                let label = groupsets
                    .iter()
                    .find_map(|name| lookups.group(name).and_then(|group| group.lookup(address)));
                replace_with(out, start, label)
            }
            KeyExpr::Null { inner, substitute } => {
                inner.eval(src, lookups, out) || substitute.eval(src, lookups, out)
            }
            KeyExpr::Or(alternatives) => alternatives.iter().any(|alt| alt.eval(src, lookups, out)),
            KeyExpr::Prefix {
                inner,
                delim,
                count,
            } => {
                if !inner.eval(src, lookups, out) {
                    return false;
                }
                let value = out.get(start..).unwrap_or_default();
                let cut = match single_char(delim) {
                    Some(delim) => value.match_indices(delim).nth(count - 1),
                    None => value.match_indices(&**delim).nth(count - 1),
                };
                if let Some((position, _)) = cut {
                    out.truncate(start + position);
                }
                true
            }
            KeyExpr::Suffix {
                inner,
                delim,
                count,
            } => {
                if !inner.eval(src, lookups, out) {
                    return false;
                }
                let value = out.get(start..).unwrap_or_default();
                let cut = match single_char(delim) {
                    Some(delim) => value.rmatch_indices(delim).nth(count - 1),
                    None => value.rmatch_indices(&**delim).nth(count - 1),
                };
                if let Some((position, _)) = cut {
                    out.drain(start..start + position + delim.len());
                }
                true
            }
            KeyExpr::Range { inner, lo, hi } => {
                if !inner.eval(src, lookups, out) {
                    return false;
                }
                let Ok(number) = out.get(start..).unwrap_or_default().trim().parse::<f64>() else {
                    return false;
                };
                replace_with_bool(out, start, *lo <= number && number <= *hi)
            }
            KeyExpr::Eq(left, right) => {
                if !left.eval(src, lookups, out) {
                    return false;
                }
                let middle = out.len();
                if !right.eval(src, lookups, out) {
                    return false;
                }
                let equal = out.get(start..middle) == out.get(middle..);
                replace_with_bool(out, start, equal)
            }
            KeyExpr::Concat { separator, parts } => {
                parts.iter().enumerate().all(|(index, part)| {
                    if index > 0 {
                        out.push_str(separator);
                    }
                    part.eval(src, lookups, out)
                })
            }
            KeyExpr::If {
                condition,
                matches,
                then,
                otherwise,
            } => {
                let matched =
                    condition.eval(src, lookups, out) && out.get(start..) == Some(&**matches);
                out.truncate(start);
                if matched {
                    then.eval(src, lookups, out)
                } else {
                    otherwise.eval(src, lookups, out)
                }
            }
            KeyExpr::First {
                inner,
                delim,
                tokens,
            } => {
                if !inner.eval(src, lookups, out) {
                    return false;
                }
                let value = out.get(start..).unwrap_or_default();
                let wanted = |token: &str| tokens.iter().find(|wanted| ***wanted == *token);
                // A one-character delimiter (the usual `.`) splits without a substring searcher.
                let found = match single_char(delim) {
                    Some(delim) => value.split(delim).find_map(wanted),
                    None => value.split(&**delim).find_map(wanted),
                };
                replace_with(out, start, found.map(|token| &**token))
            }
            KeyExpr::Map { inner, map } => {
                if !inner.eval(src, lookups, out) {
                    return false;
                }
                let value = out.get(start..).unwrap_or_default();
                let label = lookups.map(map).and_then(|map| map.lookup(value));
                replace_with(out, start, label)
            }
            KeyExpr::Bits { inner, mask } => {
                if !inner.eval(src, lookups, out) {
                    return false;
                }
                let Some(number) = parse_unsigned(out.get(start..).unwrap_or_default()) else {
                    return false;
                };
                out.truncate(start);
                let _ = write!(out, "{}", number & mask);
                true
            }
            KeyExpr::Uri { inner, part } => {
                if !inner.eval(src, lookups, out) {
                    return false;
                }
                let Some((from, to)) = uri_part(out.get(start..).unwrap_or_default(), *part) else {
                    return false;
                };
                out.truncate(start + to);
                out.drain(start..start + from);
                true
            }
            KeyExpr::Link(inner) => {
                let Some(agent) = src.agent() else {
                    return false;
                };
                if !inner.eval(src, lookups, out) {
                    return false;
                }
                let Ok(ifindex) = out.get(start..).unwrap_or_default().trim().parse::<u32>() else {
                    return false;
                };
                replace_with(out, start, lookups.links().link(agent, ifindex))
            }
            KeyExpr::Oui { inner, form } => {
                let Some(mac) = eval_mac(inner, src, lookups, out, start) else {
                    return false;
                };
                let oui = oui_of(&mac);
                match form {
                    OuiForm::Number => {
                        out.truncate(start);
                        push_oui(out, oui);
                        true
                    }
                    OuiForm::Name => replace_with(out, start, lookups.oui_table().name(oui)),
                }
            }
            KeyExpr::Host { inner, attribute } => {
                let Some(mac) = eval_mac(inner, src, lookups, out, start) else {
                    return false;
                };
                let hosts = lookups.hosts();
                let value = hosts
                    .identity(&mac)
                    .and_then(|host| host.attribute(*attribute));
                replace_with(out, start, value)
            }
        }
    }
}

/// The address `inner` gives: straight from the sample for an address key, else its text (evaluated into
/// `out[start..]`) parsed.
fn eval_address<S: AttributeSource + ?Sized>(
    inner: &KeyExpr,
    src: &S,
    lookups: &Lookups,
    out: &mut String,
    start: usize,
) -> Option<IpAddr> {
    if let KeyExpr::Attr(key) = inner
        && let Some(address) = src.address_attribute(key.name, key.layer)
    {
        return Some(address);
    }
    if !inner.eval(src, lookups, out) {
        return None;
    }
    parse_ip(out.get(start..).unwrap_or_default())
}

/// Evaluates `inner` into `out[start..]` and parses it as a MAC address.
fn eval_mac<S: AttributeSource + ?Sized>(
    inner: &KeyExpr,
    src: &S,
    lookups: &Lookups,
    out: &mut String,
    start: usize,
) -> Option<[u8; 6]> {
    if !inner.eval(src, lookups, out) {
        return None;
    }
    parse_mac(out.get(start..).unwrap_or_default())
}

impl Operand {
    fn eval<S: AttributeSource + ?Sized>(
        &self,
        src: &S,
        lookups: &Lookups,
        out: &mut String,
    ) -> bool {
        match self {
            Operand::Literal(text) => {
                out.push_str(text);
                true
            }
            Operand::Expr(expr) => expr.eval(src, lookups, out),
        }
    }
}

/// The delimiter as a `char` when it is one character long.
fn single_char(delim: &str) -> Option<char> {
    let mut chars = delim.chars();
    let first = chars.next()?;
    chars.next().is_none().then_some(first)
}

/// Replaces `out[start..]` with `text` (a lookup label or compiled literal,
/// never a slice of `out`), or reports missing.
fn replace_with(out: &mut String, start: usize, text: Option<&str>) -> bool {
    let Some(text) = text else { return false };
    out.truncate(start);
    out.push_str(text);
    true
}

fn replace_with_bool(out: &mut String, start: usize, value: bool) -> bool {
    out.truncate(start);
    out.push_str(if value { "true" } else { "false" });
    true
}

/// An address, also from a `mask:` result (`10.1.2.0/24` reads as `10.1.2.0`).
fn parse_ip(text: &str) -> Option<IpAddr> {
    let text = text.trim();
    let address = text.split_once('/').map_or(text, |(address, _)| address);
    address.parse().ok()
}

/// A number below 256 in decimal, without the `fmt` machinery.
fn push_small(out: &mut String, value: u8) {
    if value >= 100 {
        out.push(char::from(b'0' + value / 100));
    }
    if value >= 10 {
        out.push(char::from(b'0' + value / 10 % 10));
    }
    out.push(char::from(b'0' + value % 10));
}

fn mask_address(address: IpAddr, bits: u8) -> IpAddr {
    match address {
        IpAddr::V4(v4) => {
            let mask = u32::MAX
                .checked_shl(32 - u32::from(bits.min(32)))
                .unwrap_or(0);
            IpAddr::V4((u32::from(v4) & mask).into())
        }
        IpAddr::V6(v6) => {
            let mask = u128::MAX
                .checked_shl(128 - u32::from(bits.min(128)))
                .unwrap_or(0);
            IpAddr::V6((u128::from(v6) & mask).into())
        }
    }
}

/// Appends dotted-quad text, like `Ipv4Addr`'s `Display`.
fn push_ipv4(out: &mut String, address: Ipv4Addr) {
    for (index, octet) in address.octets().into_iter().enumerate() {
        if index > 0 {
            out.push('.');
        }
        push_small(out, octet);
    }
}

/// Decimal, `0x` hex, or an integral float (`3.0`).
fn parse_unsigned(text: &str) -> Option<u64> {
    let text = text.trim();
    if let Some(hex) = text.strip_prefix("0x").or_else(|| text.strip_prefix("0X")) {
        return u64::from_str_radix(hex, 16).ok();
    }
    if let Ok(number) = text.parse::<u64>() {
        return Some(number);
    }
    let float = text.parse::<f64>().ok()?;
    (float >= 0.0 && float.fract() == 0.0 && float < 18_446_744_073_709_551_616.0)
        .then_some(float as u64)
}

/// Byte range of `part` within `uri`; `None` when absent or empty.
/// Accepts absolute URIs (`http://u@h:80/p?q#f`), `//authority/path` and bare paths.
fn uri_part(uri: &str, part: UriPart) -> Option<(usize, usize)> {
    let end_of_fragmentless = uri.find('#').unwrap_or(uri.len());
    let end_of_pathpart = uri
        .get(..end_of_fragmentless)?
        .find('?')
        .unwrap_or(end_of_fragmentless);
    let head = uri.get(..end_of_pathpart)?;

    let (scheme, authority_start) = match head.find("://") {
        Some(i) if i > 0 && head.get(..i).is_some_and(is_scheme) => (Some((0, i)), Some(i + 3)),
        _ if head.starts_with("//") => (None, Some(2)),
        _ => (None, None),
    };
    let (authority, path) = match authority_start {
        Some(from) => {
            let to = head.get(from..)?.find('/').map_or(head.len(), |i| from + i);
            (Some((from, to)), (to, head.len()))
        }
        None => (None, (0, head.len())),
    };
    let non_empty = |(from, to): (usize, usize)| (from < to).then_some((from, to));

    match part {
        UriPart::Scheme => scheme,
        UriPart::Path => non_empty(path),
        UriPart::Query => non_empty((
            (end_of_pathpart + 1).min(end_of_fragmentless),
            end_of_fragmentless,
        )),
        UriPart::Fragment => non_empty(((end_of_fragmentless + 1).min(uri.len()), uri.len())),
        UriPart::File | UriPart::Extension => {
            let path_text = uri.get(path.0..path.1)?;
            let file_from = path.0 + path_text.rfind('/').map_or(0, |i| i + 1);
            let file = non_empty((file_from, path.1))?;
            if part == UriPart::File {
                return Some(file);
            }
            let dot = uri.get(file.0..file.1)?.rfind('.')?;
            non_empty((file.0 + dot + 1, file.1))
        }
        UriPart::User | UriPart::Host | UriPart::Port => {
            let (from, to) = authority?;
            let text = uri.get(from..to)?;
            let host_from = text.rfind('@').map_or(from, |i| from + i + 1);
            if part == UriPart::User {
                return non_empty((from, host_from.saturating_sub(1).max(from)));
            }
            let host_text = uri.get(host_from..to)?;
            // `[v6addr]:port`: the host is returned without brackets.
            let (host, port_from) = if let Some(rest) = host_text.strip_prefix('[') {
                let close = rest.find(']')?;
                (
                    (host_from + 1, host_from + 1 + close),
                    host_from + close + 2,
                )
            } else {
                let colon = host_text.rfind(':').map_or(to, |i| host_from + i);
                ((host_from, colon), colon)
            };
            if part == UriPart::Host {
                return non_empty(host);
            }
            let port_text = uri.get(port_from..to)?;
            port_text
                .strip_prefix(':')
                .and_then(|_| non_empty((port_from + 1, to)))
        }
    }
}

fn is_scheme(text: &str) -> bool {
    text.bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.'))
}

/// Splits `text` at top-level `:` into segments.
fn split_segments(text: &str, base: usize) -> Result<Vec<Segment<'_>>, ExprError> {
    let mut segments = Vec::new();
    let mut current = String::new();
    let mut chars = text.char_indices().peekable();
    let mut at_segment_start = true;
    while let Some((index, ch)) = chars.next() {
        match ch {
            '\\' => {
                let (_, escaped) = chars.next().ok_or(ExprError::TrailingEscape)?;
                current.push(escaped);
                at_segment_start = false;
            }
            ':' => {
                segments.push(Segment::Text(std::mem::take(&mut current)));
                at_segment_start = true;
            }
            '[' if at_segment_start => {
                let inner_from = index + 1;
                let inner_to = find_closing_bracket(text, inner_from)
                    .ok_or(ExprError::UnclosedBracket(base + index))?;
                let inner = text
                    .get(inner_from..inner_to)
                    .ok_or(ExprError::UnclosedBracket(base + index))?;
                segments.push(Segment::Nested(inner, base + inner_from));
                // Skip to the closing bracket; the next char must be ':' or the end.
                while chars.next_if(|&(i, _)| i <= inner_to).is_some() {}
                match chars.next() {
                    None => return Ok(segments),
                    Some((_, ':')) => at_segment_start = true,
                    Some((i, _)) => return Err(ExprError::TextAfterBracket(base + i)),
                }
            }
            '[' => return Err(ExprError::MisplacedBracket(base + index)),
            ']' => return Err(ExprError::UnexpectedCloseBracket(base + index)),
            _ => {
                current.push(ch);
                at_segment_start = false;
            }
        }
    }
    segments.push(Segment::Text(current));
    Ok(segments)
}

/// Byte index of the `]` matching a `[` just before `from`, honouring escapes.
fn find_closing_bracket(text: &str, from: usize) -> Option<usize> {
    let mut depth = 1usize;
    let mut bytes = text.as_bytes().iter().enumerate().skip(from);
    while let Some((index, byte)) = bytes.next() {
        match byte {
            b'\\' => {
                bytes.next();
            }
            b'[' => depth += 1,
            b']' => {
                depth -= 1;
                if depth == 0 {
                    return Some(index);
                }
            }
            _ => {}
        }
    }
    None
}

fn parse_at(text: &str, base: usize, depth: usize) -> Result<KeyExpr, ExprError> {
    if depth > MAX_EXPR_DEPTH {
        return Err(ExprError::TooDeep);
    }
    let mut segments = split_segments(text, base)?.into_iter();
    let head = segments.next().ok_or(ExprError::Empty)?;
    let args: Vec<Segment<'_>> = segments.collect();
    let name = match head {
        Segment::Nested(inner, position) if args.is_empty() => {
            return parse_at(inner, position, depth + 1);
        }
        Segment::Nested(_, position) => return Err(ExprError::TextAfterBracket(position)),
        Segment::Text(name) => name,
    };
    if args.is_empty() {
        return parse_key(&name);
    }
    parse_function(&name, args, depth)
}

fn parse_key(name: &str) -> Result<KeyExpr, ExprError> {
    if name.is_empty() {
        return Err(ExprError::Empty);
    }
    if let Some(key) = FlowKey::parse(name) {
        return Ok(KeyExpr::Attr(key));
    }
    // sFlow-RT accepts key names it does not know (they never match); text that cannot be a key name at all
    // (spaces, operators, quotes) is still an error.
    let name_like = name
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'));
    if name_like {
        Ok(KeyExpr::Unknown(name.into()))
    } else {
        Err(ExprError::UnknownKey(name.to_owned()))
    }
}

/// Argument interpretation for one function call.
struct Call<'a> {
    function: &'static str,
    args: Vec<Segment<'a>>,
    depth: usize,
}

impl<'a> Call<'a> {
    fn arity(&self, min: usize, max: usize, expected: &'static str) -> Result<(), ExprError> {
        let got = self.args.len();
        if got < min || got > max {
            return Err(ExprError::Arity {
                function: self.function,
                expected,
                got,
            });
        }
        Ok(())
    }

    fn key(&self, index: usize) -> Result<KeyExpr, ExprError> {
        match self.args.get(index) {
            Some(Segment::Nested(inner, position)) => parse_at(inner, *position, self.depth + 1),
            Some(Segment::Text(name)) => parse_key(name),
            None => Err(ExprError::Empty),
        }
    }

    fn literal(&self, index: usize, argument: &'static str) -> Result<&str, ExprError> {
        match self.args.get(index) {
            Some(Segment::Text(text)) => Ok(text),
            _ => Err(ExprError::ExpectedLiteral {
                function: self.function,
                argument,
            }),
        }
    }

    fn non_empty_literal(
        &self,
        index: usize,
        argument: &'static str,
    ) -> Result<Box<str>, ExprError> {
        let text = self.literal(index, argument)?;
        if text.is_empty() {
            return Err(self.invalid(argument, text));
        }
        Ok(text.into())
    }

    fn number<T: std::str::FromStr>(
        &self,
        index: usize,
        argument: &'static str,
    ) -> Result<T, ExprError> {
        let text = self.literal(index, argument)?;
        text.trim()
            .parse()
            .map_err(|_| self.invalid(argument, text))
    }

    fn invalid(&self, argument: &'static str, value: &str) -> ExprError {
        ExprError::InvalidArgument {
            function: self.function,
            argument,
            value: value.to_owned(),
        }
    }

    /// A literal in plain text, an expression in `[ ]`.
    fn literal_or_expr(&self, index: usize) -> Result<Operand, ExprError> {
        match self.args.get(index) {
            Some(Segment::Text(text)) => Ok(Operand::Literal(text.as_str().into())),
            _ => Ok(Operand::Expr(Box::new(self.key(index)?))),
        }
    }

    /// A key when the plain text names one, otherwise a literal; `[ ]` → expression.
    fn key_or_literal(&self, index: usize) -> Result<Operand, ExprError> {
        match self.args.get(index) {
            Some(Segment::Text(text)) => Ok(match FlowKey::parse(text) {
                Some(key) => Operand::Expr(Box::new(KeyExpr::Attr(key))),
                None => Operand::Literal(text.as_str().into()),
            }),
            _ => Ok(Operand::Expr(Box::new(self.key(index)?))),
        }
    }

    fn keys_from(&self, from: usize) -> Result<Box<[KeyExpr]>, ExprError> {
        (from..self.args.len()).map(|i| self.key(i)).collect()
    }

    fn literals_from(
        &self,
        from: usize,
        argument: &'static str,
    ) -> Result<Box<[Box<str>]>, ExprError> {
        (from..self.args.len())
            .map(|i| self.non_empty_literal(i, argument))
            .collect()
    }
}

fn parse_function(name: &str, args: Vec<Segment<'_>>, depth: usize) -> Result<KeyExpr, ExprError> {
    if let Some((_, reason)) = UNSUPPORTED_FUNCTIONS
        .iter()
        .find(|(known, _)| *known == name)
    {
        return Err(ExprError::UnsupportedFunction {
            name: name.to_owned(),
            reason,
        });
    }
    let function: &'static str = match name {
        "mask" => "mask",
        "group" => "group",
        "null" => "null",
        "or" => "or",
        "prefix" => "prefix",
        "suffix" => "suffix",
        "range" => "range",
        "eq" => "eq",
        "concat" => "concat",
        "if" => "if",
        "first" => "first",
        "map" => "map",
        "bits" => "bits",
        "uri" => "uri",
        "link" => "link",
        "oui" => "oui",
        "host" => "host",
        "" => return Err(ExprError::Empty),
        _ => return Err(ExprError::UnknownFunction(name.to_owned())),
    };
    let call = Call {
        function,
        args,
        depth,
    };
    let inner = || call.key(0).map(Box::new);
    Ok(match function {
        "mask" => {
            call.arity(2, 2, "2")?;
            let bits: u8 = call.number(1, "bits")?;
            if bits > 128 {
                return Err(call.invalid("bits", call.literal(1, "bits")?));
            }
            KeyExpr::Mask {
                inner: inner()?,
                bits,
            }
        }
        "group" => {
            call.arity(2, usize::MAX, "at least 2")?;
            KeyExpr::Group {
                inner: inner()?,
                groupsets: call.literals_from(1, "group name")?,
            }
        }
        "null" => {
            // `null:<key>` alone (sflow-test) substitutes the text `null`.
            call.arity(1, 2, "1 or 2")?;
            let substitute = if call.args.len() == 1 {
                Operand::Literal("null".into())
            } else {
                call.literal_or_expr(1)?
            };
            KeyExpr::Null {
                inner: inner()?,
                substitute,
            }
        }
        "or" => {
            call.arity(2, usize::MAX, "at least 2")?;
            KeyExpr::Or(call.keys_from(0)?)
        }
        "prefix" | "suffix" => {
            call.arity(3, 3, "3")?;
            let delim = call.non_empty_literal(1, "delimiter")?;
            let count: usize = call.number(2, "token count")?;
            if count == 0 {
                return Err(call.invalid("token count", "0"));
            }
            if function == "prefix" {
                KeyExpr::Prefix {
                    inner: inner()?,
                    delim,
                    count,
                }
            } else {
                KeyExpr::Suffix {
                    inner: inner()?,
                    delim,
                    count,
                }
            }
        }
        "range" => {
            call.arity(2, 3, "2 or 3")?;
            let lo: f64 = call.number(1, "lower bound")?;
            let hi: f64 = if call.args.len() == 3 {
                call.number(2, "upper bound")?
            } else {
                f64::INFINITY
            };
            if lo.is_nan() {
                return Err(call.invalid("lower bound", call.literal(1, "lower bound")?));
            }
            if hi.is_nan() || hi < lo {
                return Err(call.invalid("upper bound", call.literal(2, "upper bound")?));
            }
            KeyExpr::Range {
                inner: inner()?,
                lo,
                hi,
            }
        }
        "eq" => {
            call.arity(2, 2, "2")?;
            KeyExpr::Eq(inner()?, Box::new(call.key(1)?))
        }
        "concat" => {
            call.arity(2, usize::MAX, "at least 2")?;
            KeyExpr::Concat {
                separator: call.literal(0, "separator")?.into(),
                parts: call.keys_from(1)?,
            }
        }
        "if" => {
            call.arity(4, 4, "4")?;
            KeyExpr::If {
                condition: inner()?,
                matches: call.literal(1, "match")?.into(),
                then: call.key_or_literal(2)?,
                otherwise: call.key_or_literal(3)?,
            }
        }
        "first" => {
            call.arity(3, usize::MAX, "at least 3")?;
            KeyExpr::First {
                inner: inner()?,
                delim: call.non_empty_literal(1, "delimiter")?,
                tokens: call.literals_from(2, "token")?,
            }
        }
        "map" => {
            call.arity(2, 2, "2")?;
            KeyExpr::Map {
                inner: inner()?,
                map: call.non_empty_literal(1, "map name")?,
            }
        }
        "bits" => {
            call.arity(2, 2, "2")?;
            let text = call.literal(1, "mask")?;
            let mask = parse_unsigned(text)
                .filter(|_| !text.contains('.'))
                .ok_or_else(|| call.invalid("mask", text))?;
            KeyExpr::Bits {
                inner: inner()?,
                mask,
            }
        }
        "link" => {
            call.arity(1, 1, "1")?;
            KeyExpr::Link(inner()?)
        }
        "oui" => {
            call.arity(1, 2, "1 or 2")?;
            let form = if call.args.len() == 2 {
                let text = call.literal(1, "form")?;
                OuiForm::parse(text).ok_or_else(|| call.invalid("form", text))?
            } else {
                OuiForm::Name
            };
            KeyExpr::Oui {
                inner: inner()?,
                form,
            }
        }
        "host" => {
            call.arity(2, 2, "2")?;
            let text = call.literal(1, "attribute")?;
            let attribute =
                HostAttribute::parse(text).ok_or_else(|| call.invalid("attribute", text))?;
            KeyExpr::Host {
                inner: inner()?,
                attribute,
            }
        }
        _ => {
            // "uri"
            call.arity(2, 2, "2")?;
            let text = call.literal(1, "part")?;
            let part = UriPart::parse(text).ok_or_else(|| call.invalid("part", text))?;
            KeyExpr::Uri {
                inner: inner()?,
                part,
            }
        }
    })
}

#[cfg(test)]
mod tests;

#[cfg(test)]
mod ipv4_text_tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn push_ipv4_matches_display(bits in any::<u32>()) {
            let address = Ipv4Addr::from(bits);
            let mut out = String::new();
            push_ipv4(&mut out, address);
            prop_assert_eq!(out, address.to_string());
        }
    }
}
