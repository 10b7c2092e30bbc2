//! Load-time rewrite of the two Mozilla-only constructs that sFlow-RT's Rhino accepts and QuickJS does not
//! (spec sflow-rt-apps.md §3.2):
//!
//! * `for each (var x in obj)` iterates values: it becomes `for (var x of __sfrtEach(obj))`, where
//!   `__sfrtEach` (installed by the runtime) returns arrays unchanged and other objects' enumerable values.
//! * Expression closures `function (a, b) a.x - b.x` become `function (a, b) { return a.x - b.x }`; the
//!   expression ends at the first `,` or `;` at its own bracket depth or at an unmatched closing bracket.
//!
//! A small tokenizer skips strings, template literals, regular expression literals and comments, so text
//! inside them is never rewritten. Edits only insert or delete text on the same line: line numbers in error
//! messages stay those of the original file.

/// Name of the helper that `for each` loops call (defined by the runtime's prelude).
pub const EACH_HELPER: &str = "__sfrtEach";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Ident,
    Punct,
    /// Strings, template literals, regular expressions and numbers: opaque values.
    Literal,
}

#[derive(Clone, Copy, Debug)]
struct Token {
    kind: Kind,
    start: usize,
    end: usize,
}

/// Keywords after which a `/` starts a regular expression rather than a division.
const REGEX_AFTER: &[&str] = &[
    "return",
    "typeof",
    "instanceof",
    "in",
    "of",
    "new",
    "delete",
    "void",
    "throw",
    "case",
    "do",
    "else",
    "yield",
    "await",
];

fn is_ident_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b == b'$' || b >= 0x80
}

/// Splits `src` into identifiers, punctuation and literals (whitespace and comments dropped).
fn tokenize(src: &str) -> Vec<Token> {
    let bytes = src.as_bytes();
    let mut tokens: Vec<Token> = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        let start = i;
        if b.is_ascii_whitespace() {
            i += 1;
            continue;
        }
        if b == b'/' && bytes.get(i + 1) == Some(&b'/') {
            while i < bytes.len() && bytes[i] != b'\n' {
                i += 1;
            }
            continue;
        }
        if b == b'/' && bytes.get(i + 1) == Some(&b'*') {
            i += 2;
            while i < bytes.len() && !(bytes[i] == b'*' && bytes.get(i + 1) == Some(&b'/')) {
                i += 1;
            }
            i = (i + 2).min(bytes.len());
            continue;
        }
        if b == b'\'' || b == b'"' {
            i = skip_string(bytes, i);
            tokens.push(Token {
                kind: Kind::Literal,
                start,
                end: i,
            });
            continue;
        }
        if b == b'`' {
            i = skip_template(bytes, i);
            tokens.push(Token {
                kind: Kind::Literal,
                start,
                end: i,
            });
            continue;
        }
        if b == b'/' && regex_allowed(src, tokens.last()) {
            i = skip_regex(bytes, i);
            tokens.push(Token {
                kind: Kind::Literal,
                start,
                end: i,
            });
            continue;
        }
        if b.is_ascii_digit() || (b == b'.' && bytes.get(i + 1).is_some_and(u8::is_ascii_digit)) {
            while i < bytes.len() {
                let c = bytes[i];
                let exponent_sign = (c == b'+' || c == b'-')
                    && matches!(bytes[i - 1], b'e' | b'E')
                    && !src[start..i].starts_with("0x");
                if is_ident_byte(c) || c == b'.' || exponent_sign {
                    i += 1;
                } else {
                    break;
                }
            }
            tokens.push(Token {
                kind: Kind::Literal,
                start,
                end: i,
            });
            continue;
        }
        if is_ident_byte(b) {
            while i < bytes.len() && is_ident_byte(bytes[i]) {
                i += 1;
            }
            tokens.push(Token {
                kind: Kind::Ident,
                start,
                end: i,
            });
            continue;
        }
        i += 1;
        tokens.push(Token {
            kind: Kind::Punct,
            start,
            end: i,
        });
    }
    tokens
}

fn regex_allowed(src: &str, previous: Option<&Token>) -> bool {
    match previous {
        None => true,
        Some(t) => match t.kind {
            Kind::Literal => false,
            Kind::Ident => REGEX_AFTER.contains(&&src[t.start..t.end]),
            Kind::Punct => !matches!(&src[t.start..t.end], ")" | "]" | "}"),
        },
    }
}

fn skip_string(bytes: &[u8], open: usize) -> usize {
    let quote = bytes[open];
    let mut i = open + 1;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => i += 2,
            c if c == quote => return i + 1,
            b'\n' => return i, // unterminated: let the engine report it
            _ => i += 1,
        }
    }
    bytes.len()
}

fn skip_template(bytes: &[u8], open: usize) -> usize {
    let mut i = open + 1;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => i += 2,
            b'`' => return i + 1,
            b'$' if bytes.get(i + 1) == Some(&b'{') => {
                // Skip the substitution, minding nested braces, strings and templates.
                i += 2;
                let mut depth = 1;
                while i < bytes.len() && depth > 0 {
                    match bytes[i] {
                        b'{' => {
                            depth += 1;
                            i += 1;
                        }
                        b'}' => {
                            depth -= 1;
                            i += 1;
                        }
                        b'\'' | b'"' => i = skip_string(bytes, i),
                        b'`' => i = skip_template(bytes, i),
                        _ => i += 1,
                    }
                }
            }
            _ => i += 1,
        }
    }
    bytes.len()
}

fn skip_regex(bytes: &[u8], open: usize) -> usize {
    let mut i = open + 1;
    let mut in_class = false;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => i += 2,
            b'[' => {
                in_class = true;
                i += 1;
            }
            b']' => {
                in_class = false;
                i += 1;
            }
            b'/' if !in_class => {
                i += 1;
                while i < bytes.len() && is_ident_byte(bytes[i]) {
                    i += 1;
                }
                return i;
            }
            b'\n' => return i,
            _ => i += 1,
        }
    }
    bytes.len()
}

/// One text edit: replace `start..end` of the original with `text`.
#[derive(Debug)]
struct Edit {
    start: usize,
    end: usize,
    text: &'static str,
    /// Orders edits at the same position (lower first).
    order: u8,
}

/// Rewrites `for each` loops and expression closures; any other text is returned unchanged.
pub fn rewrite(src: &str) -> String {
    let tokens = tokenize(src);
    let text = |t: &Token| &src[t.start..t.end];
    let is = |i: usize, s: &str| tokens.get(i).is_some_and(|t| text(t) == s);
    let mut edits: Vec<Edit> = Vec::new();
    for i in 0..tokens.len() {
        if tokens[i].kind != Kind::Ident {
            continue;
        }
        if is(i, "for") && is(i + 1, "each") && is(i + 2, "(") {
            rewrite_for_each(&tokens, src, i, &mut edits);
        } else if is(i, "function") {
            rewrite_expression_closure(&tokens, src, i, &mut edits);
        }
    }
    if edits.is_empty() {
        return src.to_string();
    }
    edits.sort_by_key(|e| (e.start, e.order));
    let mut out = String::with_capacity(src.len() + edits.len() * 16);
    let mut at = 0;
    for edit in edits {
        if edit.start < at {
            continue; // overlapping edit (cannot happen for well-formed input): keep the first
        }
        out.push_str(&src[at..edit.start]);
        out.push_str(edit.text);
        at = edit.end;
    }
    out.push_str(&src[at..]);
    out
}

/// Index of the token closing the bracket opened at `open`, if any.
fn matching_close(tokens: &[Token], src: &str, open: usize) -> Option<usize> {
    let mut depth = 0usize;
    for (j, t) in tokens.iter().enumerate().skip(open) {
        if t.kind != Kind::Punct {
            continue;
        }
        match &src[t.start..t.end] {
            "(" | "[" | "{" => depth += 1,
            ")" | "]" | "}" => {
                depth = depth.checked_sub(1)?;
                if depth == 0 {
                    return Some(j);
                }
            }
            _ => {}
        }
    }
    None
}

fn rewrite_for_each(tokens: &[Token], src: &str, at: usize, edits: &mut Vec<Edit>) {
    let open = at + 2;
    let Some(close) = matching_close(tokens, src, open) else {
        return;
    };
    // The first `in` at the loop header's own depth.
    let mut depth = 0usize;
    let mut in_token = None;
    for (j, t) in tokens.iter().enumerate().take(close).skip(open + 1) {
        let s = &src[t.start..t.end];
        match (t.kind, s) {
            (Kind::Punct, "(" | "[" | "{") => depth += 1,
            (Kind::Punct, ")" | "]" | "}") => depth = depth.saturating_sub(1),
            (Kind::Ident, "in") if depth == 0 => {
                in_token = Some(j);
                break;
            }
            _ => {}
        }
    }
    let Some(in_token) = in_token else { return };
    let each = tokens[at + 1];
    edits.push(Edit {
        start: each.start,
        end: tokens[open].start,
        text: "",
        order: 0,
    });
    edits.push(Edit {
        start: tokens[in_token].start,
        end: tokens[in_token + 1].start,
        text: "of __sfrtEach(",
        order: 0,
    });
    let close_at = tokens[close].start;
    edits.push(Edit {
        start: close_at,
        end: close_at,
        text: ")",
        order: 0,
    });
}

fn rewrite_expression_closure(tokens: &[Token], src: &str, at: usize, edits: &mut Vec<Edit>) {
    let mut open = at + 1;
    if tokens.get(open).is_some_and(|t| t.kind == Kind::Ident) {
        open += 1; // function name
    }
    if tokens.get(open).is_none_or(|t| &src[t.start..t.end] != "(") {
        return;
    }
    let Some(close) = matching_close(tokens, src, open) else {
        return;
    };
    let Some(body) = tokens.get(close + 1) else {
        return;
    };
    if &src[body.start..body.end] == "{" {
        return;
    }
    // The expression runs to a `,`/`;` at depth 0 or an unmatched closing bracket.
    let mut depth = 0usize;
    let mut last = close + 1;
    for (j, t) in tokens.iter().enumerate().skip(close + 1) {
        if t.kind == Kind::Punct {
            match &src[t.start..t.end] {
                "(" | "[" | "{" => depth += 1,
                ")" | "]" | "}" => {
                    if depth == 0 {
                        break;
                    }
                    depth -= 1;
                }
                "," | ";" if depth == 0 => break,
                _ => {}
            }
        }
        last = j;
    }
    edits.push(Edit {
        start: body.start,
        end: body.start,
        text: "{ return ",
        order: 1,
    });
    let end = tokens[last].end;
    edits.push(Edit {
        start: end,
        end,
        text: " }",
        order: 0,
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn for_each_becomes_for_of_over_values() {
        assert_eq!(
            rewrite("for each (var m in ifinfo) { f(m); }"),
            "for (var m of __sfrtEach(ifinfo)) { f(m); }"
        );
        assert_eq!(
            rewrite("for each (counter in list.filter(x => x in o)) n++;"),
            "for (counter of __sfrtEach(list.filter(x => x in o))) n++;"
        );
    }

    #[test]
    fn expression_closures_get_a_body() {
        assert_eq!(
            rewrite("ports.sort(function(a, b) a.ifindex - b.ifindex );"),
            "ports.sort(function(a, b) { return a.ifindex - b.ifindex } );"
        );
        assert_eq!(
            rewrite("d.map(function(x) Math.sign(x)), y"),
            "d.map(function(x) { return Math.sign(x) }), y"
        );
        assert_eq!(
            rewrite("k.find(function(el) el.key.split(',')[0] === ip && el.v)"),
            "k.find(function(el) { return el.key.split(',')[0] === ip && el.v })"
        );
        assert_eq!(
            rewrite("var f = function named(x) x % 2 === 0 ? 1 : -1;"),
            "var f = function named(x) { return x % 2 === 0 ? 1 : -1 };"
        );
    }

    #[test]
    fn ordinary_code_and_text_in_literals_are_untouched() {
        let src = r#"
            function f(a) { return a; }
            var s = "for each (x in y) function(a) a";
            var r = /function(a) a/g.test(s) ? 1 / 2 : 3;   // for each (z in w)
            /* function(b) b */
            var t = `for each (x in ${ "y" }) ${ f(`function(c) c`) }`;
            for (var k in o) {}
        "#;
        assert_eq!(rewrite(src), src);
    }

    #[test]
    fn line_numbers_are_preserved() {
        let src = "a();\nfor each (let h in hs)\n  x(h);\nz.sort(function(a,b)\n a-b);\n";
        let out = rewrite(src);
        assert_eq!(out.lines().count(), src.lines().count());
        assert!(out.contains("for (let h of __sfrtEach(hs))"));
        assert!(out.contains("function(a,b)\n{ return a-b });") || out.contains("{ return a-b }"));
    }
}
