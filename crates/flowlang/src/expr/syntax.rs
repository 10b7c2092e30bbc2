//! The compiled form of a key expression: the syntax tree the parser builds and the evaluator walks.

use crate::hosts::HostAttribute;
use crate::keyname::FlowKey;

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
    pub(super) fn parse(text: &str) -> Option<UriPart> {
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
    pub(super) fn parse(text: &str) -> Option<OuiForm> {
        match text {
            "number" => Some(OuiForm::Number),
            "name" => Some(OuiForm::Name),
            _ => None,
        }
    }
}

impl KeyExpr {
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
}
