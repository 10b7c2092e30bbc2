//! The key-expression evaluator: appends an expression's value for a sample to a caller-owned buffer and
//! transforms it in place, without allocating once the buffer has grown.

use std::fmt::Write as _;
use std::net::{IpAddr, Ipv4Addr};

use super::parse::parse_unsigned;
use super::syntax::{KeyExpr, Operand, OuiForm};
use crate::AttributeSource;
use crate::groups::Lookups;
use crate::mac::{oui_of, parse_mac, push_oui};
use crate::uri::uri_part;

impl KeyExpr {
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
