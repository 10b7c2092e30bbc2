//! Filter language (spec §3.4): `key=v1,v2`, `key!=v`, `key~regex`, `key!~regex`,
//! `&` (binds tighter) and `|`, parentheses, quoted keys/values, `null`.
//!
//! Details:
//! - The left side is any key expression (`first:stack:.:ip:ip6=ip`). It ends at
//!   the first top-level `=`, `!`, `~`, `<`, `>`, `&`, `|`, `(`, `)` or whitespace; escape
//!   those with `\`, or quote the key: `'key'='value'`.
//! - An unquoted value ends at top-level `,`, `&`, `|`, `)` or whitespace; `(`…`)`
//!   pairs inside a value are kept, so `dnsqname~.*(google|bing).*` works. Quote
//!   values containing spaces. `\` protects the next character (and is removed for
//!   `=`/`!=`, kept for regexes where it is regex syntax).
//! - Unquoted `null` stands for "key missing"; `'null'` is the text `null`.
//! - A missing key equals only `null`; `!=` and `!~` are exact negations of `=`
//!   and `~`, so `ipprotocol!=6` is true for a sample without an IP header.
//! - Regexes must match the whole value (like Java's `String.matches`), and are
//!   compiled once; the comma alternatives of one comparison form one regex.

use regex::{Regex, RegexBuilder};

use super::AttributeSource;
use super::expr::{ExprError, KeyExpr};
use super::groups::Lookups;

/// Longest filter accepted, in bytes.
pub(crate) const MAX_FILTER_LEN: usize = 4096;
/// Deepest parenthesis nesting accepted.
pub(crate) const MAX_FILTER_DEPTH: usize = 32;
/// Compiled size limit per regex (guards against pathological patterns).
const REGEX_SIZE_LIMIT: usize = 1 << 20;

/// A filter that does not compile: what and where (byte offset, 0-based).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{kind} at position {position}")]
pub struct FilterError {
    pub position: usize,
    pub kind: FilterErrorKind,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FilterErrorKind {
    #[error("empty filter")]
    Empty,
    #[error("filter longer than {MAX_FILTER_LEN} bytes")]
    TooLong,
    #[error("parentheses nested deeper than {MAX_FILTER_DEPTH} levels")]
    TooDeep,
    #[error("expected a key")]
    ExpectedKey,
    #[error("expected '=', '!=', '~' or '!~' after the key")]
    ExpectedOperator,
    #[error("expected a value")]
    ExpectedValue,
    #[error("unterminated quote")]
    UnclosedQuote,
    #[error("missing ')'")]
    UnclosedParenthesis,
    #[error("unexpected '{0}'")]
    Unexpected(char),
    #[error("{0}")]
    Key(ExprError),
    #[error("invalid regex: {0}")]
    Regex(String),
}

/// A compiled filter.
#[derive(Debug, Clone)]
pub struct Filter {
    root: Node,
}

#[derive(Debug, Clone)]
enum Node {
    And(Box<[Node]>),
    Or(Box<[Node]>),
    Compare(Box<Comparison>),
}

#[derive(Debug, Clone)]
struct Comparison {
    key: KeyExpr,
    /// The key text it was parsed from: what [`Filter::plan`] shares evaluations by.
    key_text: Box<str>,
    negate: bool,
    /// True when `null` is one of the alternatives (matches a missing key).
    matches_missing: bool,
    test: Test,
}

#[derive(Debug, Clone)]
enum Test {
    Equals(Box<[Box<str>]>),
    /// `None` when the only alternative was `null`.
    Regex(Option<Regex>),
}

impl Test {
    fn matches(&self, value: &str) -> bool {
        match self {
            Test::Equals(alternatives) => alternatives.iter().any(|alt| **alt == *value),
            Test::Regex(regex) => regex.as_ref().is_some_and(|regex| regex.is_match(value)),
        }
    }
}

/// A filter whose comparison keys are numbered, so that an evaluator can compute each key once per sample and
/// share it with other filters and definitions (see `program.rs`).
#[derive(Debug, Clone)]
pub(crate) struct FilterPlan {
    root: PlanNode,
}

#[derive(Debug, Clone)]
enum PlanNode {
    And(Box<[PlanNode]>),
    Or(Box<[PlanNode]>),
    Compare {
        key: u32,
        negate: bool,
        matches_missing: bool,
        test: Test,
    },
}

/// The values of numbered keys for one sample, each computed at most once.
pub(crate) trait KeyValues {
    /// The text of key `id`, `None` when the sample does not carry it.
    fn value(&mut self, id: u32) -> Option<&str>;
}

impl FilterPlan {
    /// Whether the sample whose keys `values` gives passes.
    pub(crate) fn matches(&self, values: &mut impl KeyValues) -> bool {
        self.root.matches(values)
    }
}

impl PlanNode {
    fn matches(&self, values: &mut impl KeyValues) -> bool {
        match self {
            PlanNode::And(nodes) => nodes.iter().all(|node| node.matches(values)),
            PlanNode::Or(nodes) => nodes.iter().any(|node| node.matches(values)),
            PlanNode::Compare {
                key,
                negate,
                matches_missing,
                test,
            } => {
                let result = match values.value(*key) {
                    Some(value) => test.matches(value),
                    None => *matches_missing,
                };
                result != *negate
            }
        }
    }
}

impl Filter {
    /// Parses a filter expression (`key=value`, `key~regex`, `&`, `|`, `!`, parentheses), as sFlow-RT writes them.
    pub fn parse(text: &str) -> Result<Filter, FilterError> {
        if text.len() > MAX_FILTER_LEN {
            return Err(FilterError {
                position: MAX_FILTER_LEN,
                kind: FilterErrorKind::TooLong,
            });
        }
        let mut parser = Parser {
            text,
            position: 0,
            depth: 0,
        };
        parser.skip_whitespace();
        if parser.at_end() {
            return Err(parser.error(FilterErrorKind::Empty));
        }
        let root = parser.parse_or()?;
        parser.skip_whitespace();
        match parser.peek() {
            None => Ok(Filter { root }),
            Some(ch) => Err(parser.error(FilterErrorKind::Unexpected(ch))),
        }
    }

    /// The unknown key names the filter compares (always missing, so only `=null` matches them).
    pub fn unknown_keys(&self) -> Vec<String> {
        let mut out = Vec::new();
        let mut pending = vec![&self.root];
        while let Some(node) = pending.pop() {
            match node {
                Node::And(nodes) | Node::Or(nodes) => pending.extend(nodes.iter()),
                Node::Compare(comparison) => comparison.key.unknown_keys(&mut out),
            }
        }
        out
    }

    /// This filter with each comparison's key numbered by `number(key text, key)`.
    pub(crate) fn plan(&self, number: &mut impl FnMut(&str, &KeyExpr) -> u32) -> FilterPlan {
        FilterPlan {
            root: self.root.plan(number),
        }
    }

    /// Whether a sample passes. `scratch` is used for attribute values and
    /// restored to its original length.
    pub fn matches<S: AttributeSource + ?Sized>(
        &self,
        src: &S,
        lookups: &Lookups,
        scratch: &mut String,
    ) -> bool {
        self.root.matches(src, lookups, scratch)
    }
}

impl Node {
    fn plan(&self, number: &mut impl FnMut(&str, &KeyExpr) -> u32) -> PlanNode {
        match self {
            Node::And(nodes) => PlanNode::And(nodes.iter().map(|n| n.plan(number)).collect()),
            Node::Or(nodes) => PlanNode::Or(nodes.iter().map(|n| n.plan(number)).collect()),
            Node::Compare(comparison) => PlanNode::Compare {
                key: number(&comparison.key_text, &comparison.key),
                negate: comparison.negate,
                matches_missing: comparison.matches_missing,
                test: comparison.test.clone(),
            },
        }
    }

    fn matches<S: AttributeSource + ?Sized>(
        &self,
        src: &S,
        lookups: &Lookups,
        scratch: &mut String,
    ) -> bool {
        match self {
            Node::And(nodes) => nodes.iter().all(|node| node.matches(src, lookups, scratch)),
            Node::Or(nodes) => nodes.iter().any(|node| node.matches(src, lookups, scratch)),
            Node::Compare(comparison) => comparison.matches(src, lookups, scratch),
        }
    }
}

impl Comparison {
    fn matches<S: AttributeSource + ?Sized>(
        &self,
        src: &S,
        lookups: &Lookups,
        scratch: &mut String,
    ) -> bool {
        let start = scratch.len();
        let result = if self.key.eval(src, lookups, scratch) {
            self.test.matches(scratch.get(start..).unwrap_or_default())
        } else {
            self.matches_missing
        };
        scratch.truncate(start);
        result != self.negate
    }
}

struct Parser<'a> {
    text: &'a str,
    position: usize,
    depth: usize,
}

/// A parsed right-hand-side alternative.
struct RawValue {
    text: String,
    quoted: bool,
}

impl<'a> Parser<'a> {
    fn error(&self, kind: FilterErrorKind) -> FilterError {
        FilterError {
            position: self.position,
            kind,
        }
    }

    fn rest(&self) -> &'a str {
        self.text.get(self.position..).unwrap_or_default()
    }

    fn peek(&self) -> Option<char> {
        self.rest().chars().next()
    }

    fn at_end(&self) -> bool {
        self.position >= self.text.len()
    }

    fn advance(&mut self, ch: char) {
        self.position += ch.len_utf8();
    }

    fn skip_whitespace(&mut self) {
        while let Some(ch) = self.peek().filter(|c| c.is_whitespace()) {
            self.advance(ch);
        }
    }

    fn eat(&mut self, wanted: char) -> bool {
        self.skip_whitespace();
        if self.peek() == Some(wanted) {
            self.advance(wanted);
            true
        } else {
            false
        }
    }

    fn parse_or(&mut self) -> Result<Node, FilterError> {
        let mut nodes = vec![self.parse_and()?];
        while self.eat('|') {
            nodes.push(self.parse_and()?);
        }
        Ok(if nodes.len() == 1 {
            nodes.remove(0)
        } else {
            Node::Or(nodes.into())
        })
    }

    fn parse_and(&mut self) -> Result<Node, FilterError> {
        let mut nodes = vec![self.parse_primary()?];
        while self.eat('&') {
            nodes.push(self.parse_primary()?);
        }
        Ok(if nodes.len() == 1 {
            nodes.remove(0)
        } else {
            Node::And(nodes.into())
        })
    }

    fn parse_primary(&mut self) -> Result<Node, FilterError> {
        self.skip_whitespace();
        if self.peek() != Some('(') {
            return self.parse_comparison().map(|c| Node::Compare(Box::new(c)));
        }
        let open = self.position;
        self.advance('(');
        self.depth += 1;
        if self.depth > MAX_FILTER_DEPTH {
            return Err(FilterError {
                position: open,
                kind: FilterErrorKind::TooDeep,
            });
        }
        let node = self.parse_or()?;
        if !self.eat(')') {
            return Err(match self.peek() {
                None => FilterError {
                    position: open,
                    kind: FilterErrorKind::UnclosedParenthesis,
                },
                Some(ch) => self.error(FilterErrorKind::Unexpected(ch)),
            });
        }
        self.depth -= 1;
        Ok(node)
    }

    fn parse_comparison(&mut self) -> Result<Comparison, FilterError> {
        let key_position = self.position;
        let key_text = match self.peek() {
            Some(quote @ ('\'' | '"')) => self.parse_quoted(quote, true)?,
            _ => self.scan_key()?.to_owned(),
        };
        let key = KeyExpr::parse(&key_text).map_err(|e| FilterError {
            position: key_position,
            kind: FilterErrorKind::Key(e),
        })?;
        self.skip_whitespace();
        let (negate, is_regex) = if self.rest().starts_with("!=") {
            (true, false)
        } else if self.rest().starts_with("!~") {
            (true, true)
        } else if self.rest().starts_with('=') {
            (false, false)
        } else if self.rest().starts_with('~') {
            (false, true)
        } else {
            return Err(self.error(FilterErrorKind::ExpectedOperator));
        };
        self.position += if negate { 2 } else { 1 };

        let values_position = self.position;
        let mut values = vec![self.parse_value(is_regex)?];
        while self.eat(',') {
            values.push(self.parse_value(is_regex)?);
        }
        let is_null = |v: &RawValue| !v.quoted && v.text == "null";
        let matches_missing = values.iter().any(is_null);
        let alternatives = values.into_iter().filter(|v| !is_null(v)).map(|v| v.text);
        let test = if is_regex {
            Test::Regex(compile_regex(alternatives).map_err(|kind| FilterError {
                position: values_position,
                kind,
            })?)
        } else {
            Test::Equals(alternatives.map(String::into_boxed_str).collect())
        };
        Ok(Comparison {
            key,
            key_text: key_text.as_str().into(),
            negate,
            matches_missing,
            test,
        })
    }

    /// The unquoted key text, up to the operator.
    fn scan_key(&mut self) -> Result<&'a str, FilterError> {
        let start = self.position;
        let mut brackets = 0usize;
        let mut chars = self.rest().char_indices();
        let mut end = self.text.len();
        while let Some((offset, ch)) = chars.next() {
            match ch {
                '\\' => {
                    chars.next();
                }
                '[' => brackets += 1,
                ']' => brackets = brackets.saturating_sub(1),
                '=' | '!' | '~' | '<' | '>' | '&' | '|' | '(' | ')' if brackets == 0 => {
                    end = start + offset;
                    break;
                }
                c if c.is_whitespace() && brackets == 0 => {
                    end = start + offset;
                    break;
                }
                _ => {}
            }
        }
        let key = self.text.get(start..end).unwrap_or_default();
        if key.is_empty() {
            return Err(self.error(FilterErrorKind::ExpectedKey));
        }
        self.position = end;
        Ok(key)
    }

    fn parse_value(&mut self, is_regex: bool) -> Result<RawValue, FilterError> {
        self.skip_whitespace();
        if let Some(quote @ ('\'' | '"')) = self.peek() {
            return Ok(RawValue {
                text: self.parse_quoted(quote, !is_regex)?,
                quoted: true,
            });
        }
        // `key==value` (or a dangling `key==`) is a mistyped operator, refused as sFlow-RT refuses it; a value
        // that really starts with `=` can be quoted or escaped.
        if !is_regex && self.peek() == Some('=') {
            return Err(self.error(FilterErrorKind::Unexpected('=')));
        }
        let mut text = String::new();
        let mut parens = 0usize;
        while let Some(ch) = self.peek() {
            match ch {
                '\\' => {
                    self.advance(ch);
                    let escaped = self
                        .peek()
                        .ok_or_else(|| self.error(FilterErrorKind::ExpectedValue))?;
                    if is_regex {
                        text.push('\\');
                    }
                    text.push(escaped);
                    self.advance(escaped);
                    continue;
                }
                '(' => parens += 1,
                ')' if parens == 0 => break,
                ')' => parens -= 1,
                ',' | '&' | '|' if parens == 0 => break,
                c if c.is_whitespace() => break,
                _ => {}
            }
            text.push(ch);
            self.advance(ch);
        }
        if text.is_empty() {
            return Err(self.error(FilterErrorKind::ExpectedValue));
        }
        Ok(RawValue {
            text,
            quoted: false,
        })
    }

    /// A `'…'` or `"…"` string. `\<quote>` and `\\` are unescaped; other `\x`
    /// pairs are kept verbatim unless `unescape_all` (then `\x` → `x`).
    fn parse_quoted(&mut self, quote: char, unescape_all: bool) -> Result<String, FilterError> {
        let open = self.position;
        self.advance(quote);
        let mut text = String::new();
        loop {
            let Some(ch) = self.peek() else {
                return Err(FilterError {
                    position: open,
                    kind: FilterErrorKind::UnclosedQuote,
                });
            };
            self.advance(ch);
            if ch == quote {
                return Ok(text);
            }
            if ch != '\\' {
                text.push(ch);
                continue;
            }
            let Some(escaped) = self.peek() else {
                return Err(FilterError {
                    position: open,
                    kind: FilterErrorKind::UnclosedQuote,
                });
            };
            self.advance(escaped);
            if !(unescape_all || escaped == quote || escaped == '\\') {
                text.push('\\');
            }
            text.push(escaped);
        }
    }
}

/// One anchored regex for all alternatives; `None` when there are none.
fn compile_regex(
    alternatives: impl Iterator<Item = String>,
) -> Result<Option<Regex>, FilterErrorKind> {
    let mut pattern = String::from(r"\A(?:");
    let mut count = 0;
    for alternative in alternatives {
        // Validate each alternative alone so the error names the bad one.
        RegexBuilder::new(&alternative)
            .size_limit(REGEX_SIZE_LIMIT)
            .build()
            .map_err(|e| FilterErrorKind::Regex(first_line(&e.to_string(), &alternative)))?;
        if count > 0 {
            pattern.push('|');
        }
        pattern.push_str("(?:");
        pattern.push_str(&alternative);
        pattern.push(')');
        count += 1;
    }
    if count == 0 {
        return Ok(None);
    }
    pattern.push_str(r")\z");
    RegexBuilder::new(&pattern)
        .size_limit(REGEX_SIZE_LIMIT)
        .build()
        .map(Some)
        .map_err(|e| FilterErrorKind::Regex(first_line(&e.to_string(), &pattern)))
}

/// regex errors are multi-line diagrams; keep a compact single-line message.
fn first_line(message: &str, pattern: &str) -> String {
    let detail = message
        .lines()
        .rev()
        .find(|line| line.trim_start().starts_with("error:"))
        .map(|line| line.trim_start().trim_start_matches("error:").trim())
        .unwrap_or_else(|| message.lines().next().unwrap_or_default());
    format!("'{pattern}': {detail}")
}

#[cfg(test)]
mod tests;
