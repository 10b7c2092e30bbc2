//! The field writer shared by the text and JSON formats: sflowtool's `sf_logf` plus its JSON
//! helpers (`json_start`/`json_end`), writing straight into the output buffer.

use std::marker::PhantomData;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::ops::Range;

use rtflow_sflow::{Address, MacAddr, Tag};

use crate::time::write_utc_iso8601;
use crate::values::{
    c_string, push_address, push_hex_lower, push_ipv4, push_ipv6, push_u32, push_u64,
    write_json_string,
};

/// The output style of an [`Out`], as a type: each style is a zero-sized marker whose constants
/// the compiler folds, so every record writer is compiled once per style without per-field
/// style checks.
pub(crate) trait StyleKind {
    /// `-j` / `-J`: `"key":"value"` members inside objects and arrays.
    const JSON: bool = false;
    /// `-J`: indented JSON.
    const PRETTY: bool = false;
    /// `-g`: text lines, each prefixed with the [`GrepContext`] at the time it is written.
    const GREP: bool = false;
    /// `-L`: `key value` lines without markers, each field also recorded as a [`FieldSpan`].
    const FIELDS: bool = false;
}

/// sflowtool's default `key value` lines with start/end markers.
pub(crate) struct Text;
/// `-j`.
pub(crate) struct Json;
/// `-J`.
pub(crate) struct JsonPretty;
/// `-g`.
pub(crate) struct Grep;
/// `-L`.
pub(crate) struct Fields;

impl StyleKind for Text {}

impl StyleKind for Json {
    const JSON: bool = true;
}

impl StyleKind for JsonPretty {
    const JSON: bool = true;
    const PRETTY: bool = true;
}

impl StyleKind for Grep {
    const GREP: bool = true;
}

impl StyleKind for Fields {
    const FIELDS: bool = true;
}

/// sflowtool's `-g` line prefix: what is known about the datagram and sample when a line is
/// written (fields not reached yet are zero / `-`, as in sflowtool).
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct GrepContext {
    pub(crate) timestamp_secs: u64,
    pub(crate) agent: Address,
    pub(crate) sub_agent: u32,
    pub(crate) sequence: u32,
    pub(crate) source_class: u32,
    pub(crate) source_index: u32,
    pub(crate) sample_tag: Tag,
    pub(crate) element_tag: Tag,
}

impl GrepContext {
    fn write(&self, b: &mut Vec<u8>) {
        write_utc_iso8601(b, self.timestamp_secs);
        b.push(b' ');
        push_address(b, &self.agent);
        for v in [self.sub_agent, self.sequence] {
            b.push(b' ');
            push_u32(b, v);
        }
        b.push(b' ');
        push_u32(b, self.source_class);
        b.push(b':');
        push_u32(b, self.source_index);
        for tag in [self.sample_tag, self.element_tag] {
            b.push(b' ');
            push_u32(b, tag.enterprise);
            b.push(b':');
            push_u32(b, tag.format);
        }
        b.push(b' ');
    }
}

/// Where one field landed in the buffer ([`Fields`]): its full name (prefixes included),
/// its value, and the sample it belongs to (0 = the datagram header, n = the n-th sample).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct FieldSpan {
    pub(crate) key: Range<usize>,
    pub(crate) value: Range<usize>,
    pub(crate) sample: u32,
}

/// The longest field name [`Out::open`] writes in one copy.
const KEY_MAX: usize = 27;

/// Writes `key value` lines (text) or `"key":"value"` members (JSON) into `buf`.
pub(crate) struct Out<'b, S: StyleKind> {
    pub(crate) buf: &'b mut Vec<u8>,
    style: PhantomData<S>,
    /// JSON: the next member or element is the first of its object/array (no comma).
    list_start: bool,
    depth: usize,
    /// Prepended to every field name (sflowtool's field prefix, e.g. `discarded_`).
    pub(crate) prefix: &'static str,
    /// A second prefix level (tunnel records inside discard samples).
    pub(crate) prefix2: &'static str,
    /// The `-g` line prefix, kept up to date by the writers whatever the style.
    pub(crate) grep: GrepContext,
    /// [`Fields`]: the fields written so far, and the sample they belong to.
    pub(crate) spans: Vec<FieldSpan>,
    pub(crate) sample: u32,
    /// [`Fields`]: where the key of the field being written is.
    key: Range<usize>,
}

impl<'b, S: StyleKind> Out<'b, S> {
    pub(crate) fn new(buf: &'b mut Vec<u8>) -> Self {
        Out {
            buf,
            style: PhantomData,
            list_start: true,
            depth: 0,
            prefix: "",
            prefix2: "",
            grep: GrepContext::default(),
            spans: Vec::new(),
            sample: 0,
            key: 0..0,
        }
    }

    pub(crate) fn is_json(&self) -> bool {
        S::JSON
    }

    pub(crate) fn is_pretty_json(&self) -> bool {
        S::PRETTY
    }

    fn indent(&mut self) {
        if S::PRETTY {
            self.buf.push(b'\n');
            self.buf.extend(std::iter::repeat_n(b' ', self.depth));
        }
    }

    /// Starts a field: writes the key and the separator; the caller writes the value, then calls
    /// [`Out::close`]. Always inlined (like the field writers below) so that the constant field
    /// names are copied with a known length instead of a `memcpy` call per key.
    #[inline(always)]
    fn open(&mut self, name: &str) {
        if S::JSON {
            let first = self.list_start;
            self.list_start = false;
            if S::PRETTY {
                if !first {
                    self.buf.push(b',');
                }
                self.indent();
                self.buf.push(b'"');
            } else if self.prefix.is_empty() && self.prefix2.is_empty() && name.len() <= KEY_MAX {
                // `,"name":"` assembled on the stack and copied in one go: with the constant
                // name of an inlined call this is one constant-length copy.
                let mut key = [0u8; KEY_MAX + 5];
                let len = name.len() + 5;
                if let Some(slot) = key.get_mut(..2) {
                    slot.copy_from_slice(b",\"");
                }
                if let Some(slot) = key.get_mut(2..len - 3) {
                    slot.copy_from_slice(name.as_bytes());
                }
                if let Some(slot) = key.get_mut(len - 3..len) {
                    slot.copy_from_slice(b"\":\"");
                }
                let key = if first {
                    key.get(1..len)
                } else {
                    key.get(..len)
                };
                self.buf.extend_from_slice(key.unwrap_or_default());
                return;
            } else if first {
                self.buf.push(b'"');
            } else {
                self.buf.extend_from_slice(b",\"");
            }
            self.push_key(name);
            self.buf.extend_from_slice(b"\":\"");
        } else {
            if S::GREP {
                self.grep.write(self.buf);
            }
            let start = self.buf.len();
            self.push_key(name);
            if S::FIELDS {
                self.key = start..self.buf.len();
            }
            self.buf.push(b' ');
        }
    }

    /// Prefixes and name; the prefixes are usually empty, so skip them cheaply.
    #[inline(always)]
    fn push_key(&mut self, name: &str) {
        if !self.prefix.is_empty() {
            self.buf.extend_from_slice(self.prefix.as_bytes());
        }
        if !self.prefix2.is_empty() {
            self.buf.extend_from_slice(self.prefix2.as_bytes());
        }
        self.buf.extend_from_slice(name.as_bytes());
    }

    #[inline(always)]
    fn close(&mut self) {
        if S::JSON {
            self.buf.push(b'"');
        } else {
            if S::FIELDS {
                self.spans.push(FieldSpan {
                    key: self.key.clone(),
                    value: self.key.end + 1..self.buf.len(),
                    sample: self.sample,
                });
            }
            self.buf.push(b'\n');
        }
    }

    /// A field whose value the closure writes (ASCII without `"` or `\`).
    #[inline(always)]
    pub(crate) fn with(&mut self, name: &str, value: impl FnOnce(&mut Vec<u8>)) {
        self.open(name);
        value(self.buf);
        self.close();
    }

    /// A field named `name.index` (QinQ depth, SFP lanes).
    pub(crate) fn with_suffix(&mut self, name: &str, index: u32, value: impl FnOnce(&mut Vec<u8>)) {
        let mut key = [0u8; 96];
        let mut len = 0;
        for part in [
            name.as_bytes(),
            b".",
            itoa::Buffer::new().format(index).as_bytes(),
        ] {
            for &b in part {
                if let Some(slot) = key.get_mut(len) {
                    *slot = b;
                    len += 1;
                }
            }
        }
        let key = std::str::from_utf8(key.get(..len).unwrap_or_default()).unwrap_or(name);
        self.with(key, value);
    }

    #[inline(always)]
    pub(crate) fn u32(&mut self, name: &str, v: u32) {
        self.with(name, |b| push_u32(b, v));
    }

    #[inline(always)]
    pub(crate) fn u64(&mut self, name: &str, v: u64) {
        self.with(name, |b| push_u64(b, v));
    }

    /// A trusted constant value (ASCII, no quotes).
    #[inline(always)]
    pub(crate) fn text(&mut self, name: &str, v: &str) {
        self.with(name, |b| b.extend_from_slice(v.as_bytes()));
    }

    /// A string from the datagram: cut at the first NUL like sflowtool's C strings, escaped
    /// for JSON, raw in text.
    pub(crate) fn bytes(&mut self, name: &str, v: &[u8]) {
        let v = c_string(v);
        let json = self.is_json();
        self.with(name, |b| {
            if json {
                write_json_string(b, v);
            } else {
                b.extend_from_slice(v);
            }
        });
    }

    /// A string field printed only when non-empty on the wire (sflowtool's `getString(..) > 0`).
    pub(crate) fn bytes_if_any(&mut self, name: &str, v: &[u8]) {
        if !v.is_empty() {
            self.bytes(name, v);
        }
    }

    #[inline(always)]
    pub(crate) fn address(&mut self, name: &str, v: &Address) {
        self.with(name, |b| push_address(b, v));
    }

    #[inline(always)]
    pub(crate) fn ipv4(&mut self, name: &str, v: Ipv4Addr) {
        self.with(name, |b| push_ipv4(b, v));
    }

    pub(crate) fn ipv6(&mut self, name: &str, v: Ipv6Addr) {
        self.with(name, |b| push_ipv6(b, v));
    }

    pub(crate) fn mac(&mut self, name: &str, v: &MacAddr) {
        self.with(name, |b| push_hex_lower(b, &v.0));
    }

    #[inline(always)]
    pub(crate) fn tag(&mut self, name: &str, tag: Tag) {
        self.with(name, |b| {
            push_u32(b, tag.enterprise);
            b.push(b':');
            push_u32(b, tag.format);
        });
    }

    /// A text-only line outside the key/value scheme (markers, `skipping ...` notes).
    pub(crate) fn text_line(&mut self, line: impl FnOnce(&mut Vec<u8>)) {
        if S::JSON || S::FIELDS {
            return;
        }
        if S::GREP {
            self.grep.write(self.buf);
        }
        line(self.buf);
        self.buf.push(b'\n');
    }

    /// JSON: opens an object (`name` for a member, `None` for an array element).
    pub(crate) fn begin_object(&mut self, name: Option<&str>) {
        self.begin(name, b'{');
    }

    pub(crate) fn begin_array(&mut self, name: &str) {
        self.begin(Some(name), b'[');
    }

    fn begin(&mut self, name: Option<&str>, bracket: u8) {
        if !self.is_json() {
            return;
        }
        if self.list_start {
            // First member/element: no comma, and (like sflowtool) no indent either.
        } else {
            self.buf.push(b',');
            self.indent();
        }
        if let Some(name) = name {
            self.buf.push(b'"');
            self.buf.extend_from_slice(name.as_bytes());
            self.buf.extend_from_slice(b"\":");
        }
        self.buf.push(bracket);
        self.depth += 1;
        self.list_start = true;
    }

    pub(crate) fn end_object(&mut self) {
        self.end(b'}');
    }

    pub(crate) fn end_array(&mut self) {
        self.end(b']');
    }

    fn end(&mut self, bracket: u8) {
        if !self.is_json() {
            return;
        }
        self.depth = self.depth.saturating_sub(1);
        self.indent();
        self.buf.push(bracket);
        self.list_start = false;
    }

    /// JSON: a bare string element of an array (adaptor MAC lists).
    pub(crate) fn element(&mut self, value: impl FnOnce(&mut Vec<u8>)) {
        if self.list_start {
            self.list_start = false;
        } else {
            self.buf.push(b',');
        }
        self.indent();
        self.buf.push(b'"');
        value(self.buf);
        self.buf.push(b'"');
    }
}
