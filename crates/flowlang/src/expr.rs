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
//!
//! The syntax tree is in `syntax.rs`, the parser in `parse.rs`, the evaluator in `eval.rs`; the `uri:`
//! function's URI splitting in the crate's `uri.rs`.

mod eval;
mod parse;
mod syntax;

pub(crate) use parse::ExprError;
pub(crate) use syntax::{KeyExpr, UriPart};

#[cfg(test)]
mod tests;
