//! The key-expression parser: text → [`KeyExpr`], with `[ ]` nesting and `\\` escapes.

use super::syntax::{KeyExpr, Operand, OuiForm, UriPart};
use crate::hosts::HostAttribute;
use crate::keyname::FlowKey;

/// Deepest `[ ]` nesting accepted in a key expression.
pub(crate) const MAX_EXPR_DEPTH: usize = 16;

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
}

/// Decimal, `0x` hex, or an integral float (`3.0`).
pub(super) fn parse_unsigned(text: &str) -> Option<u64> {
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
