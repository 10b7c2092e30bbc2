use std::sync::Arc;

use std::net::IpAddr;

use super::parse::MAX_EXPR_DEPTH;
use super::*;
use crate::Lookups;
use crate::MapAttributeSource;
use crate::groups::{AddressGroup, LookupMap};
use crate::hosts::HostIdentity;
use crate::keyname::FlowKey;
use crate::keyname::KeyName;
use crate::links::LinkTable;
use crate::oui::OuiTable;

fn sample() -> MapAttributeSource {
    MapAttributeSource::new()
        .with("ipsource", "10.1.2.3")
        .with("ipdestination", "192.168.7.9")
        .with("ip6source", "2001:db8:abcd:12::1")
        .with("ipsource.1", "172.16.5.4")
        .with("stack", "eth.ip.udp.vxlan.eth.ip6.tcp")
        .with("dnsqname", "www.example.com.")
        .with(
            "httpurl",
            "https://user@www.example.com:8443/a/b/index.html?x=1&y=2#top",
        )
        .with("uripath", "/api/v1/flows.json")
        .with("tcpdestinationport", "443")
        .with("bytes", "1500")
        .with("ip6flowlabel", "261885")
        .with("macsource", "000c29aabbcc")
        .with("macdestination", "D8D385B2DD2B")
        .with("arpmacsender", "02:00:00:00:00:01")
        .with("agent", "10.0.0.1")
        .with("inputifindex", "3")
        .with("outputifindex", "9")
}

/// The MAC of `macdestination`, known as host `web1`.
const WEB1_MAC: [u8; 6] = [0xD8, 0xD3, 0x85, 0xB2, 0xDD, 0x2B];

fn lookups() -> Lookups {
    let mut lookups = Lookups::new();
    lookups.set_group(
        "site",
        AddressGroup::from_labels([
            ("private", vec!["10.0.0.0/8", "192.168.0.0/16"]),
            ("lab", vec!["10.1.0.0/16"]),
        ])
        .unwrap(),
    );
    lookups.set_group(
        "world",
        AddressGroup::from_labels([("internet", vec!["0.0.0.0/0"])]).unwrap(),
    );
    lookups.set_map(
        "services",
        LookupMap::from_labels([("web", vec!["80", "443"]), ("dns", vec!["53"])]),
    );
    let agent: IpAddr = "10.0.0.1".parse().unwrap();
    lookups.set_links(LinkTable::from_ports([
        ((agent, 3), "leaf1-spine1"),
        (("10.0.0.2".parse().unwrap(), 9), "other-agent"),
    ]));
    lookups.set_oui_table(Arc::new(OuiTable::from_entries([
        (0xD8D385, "Hewlett Packard Enterprise"),
        (0x020000, "Example Local"),
    ])));
    let web1 = HostIdentity {
        host_name: Some("web1".into()),
        os_name: Some("linux".into()),
        machine_type: Some("x86_64".into()),
        uuid: Some("8a9f2a5e-0000-4000-8000-000000000001".into()),
        os_release: None,
    };
    lookups.hosts_mut().learn(0, &[WEB1_MAC], web1, 10);
    lookups
}

/// Evaluates `text` after a prefix already in the buffer, checking the prefix survives.
fn eval(text: &str) -> Option<String> {
    let expr = KeyExpr::parse(text).unwrap_or_else(|e| panic!("{text}: {e}"));
    let mut out = String::from("PRE|");
    let present = expr.eval(&sample(), &lookups(), &mut out);
    assert!(
        out.starts_with("PRE|"),
        "{text} clobbered the buffer: {out}"
    );
    if !present {
        assert_eq!(
            out, "PRE|",
            "{text}: missing value must leave the buffer unchanged"
        );
        return None;
    }
    Some(out.split_off(4))
}

fn err(text: &str) -> String {
    KeyExpr::parse(text).unwrap_err().to_string()
}

#[test]
fn plain_keys() {
    assert_eq!(
        KeyExpr::parse("ipsource").unwrap(),
        KeyExpr::Attr(FlowKey {
            name: KeyName::IpSource,
            layer: 0
        })
    );
    assert_eq!(eval("ipsource").as_deref(), Some("10.1.2.3"));
    assert_eq!(eval("ipsource.1").as_deref(), Some("172.16.5.4"));
    assert_eq!(eval("ipdestination.1"), None);
    assert_eq!(eval("[ipsource]").as_deref(), Some("10.1.2.3"));
}

#[test]
fn mask() {
    // sFlow-RT writes the network with its length: `mask:ipsource:24` → `10.4.1.0/24`.
    assert_eq!(eval("mask:ipsource:24").as_deref(), Some("10.1.2.0/24"));
    assert_eq!(eval("mask:ipsource:8").as_deref(), Some("10.0.0.0/8"));
    assert_eq!(eval("mask:ipsource:0").as_deref(), Some("0.0.0.0/0"));
    assert_eq!(eval("mask:ipsource:32").as_deref(), Some("10.1.2.3/32"));
    assert_eq!(
        eval("mask:ipsource:64").as_deref(),
        Some("10.1.2.3/32"),
        "clamped to 32 for IPv4"
    );
    assert_eq!(
        eval("mask:ip6source:48").as_deref(),
        Some("2001:db8:abcd::/48")
    );
    assert_eq!(
        eval("mask:ip6source:128").as_deref(),
        eval("ip6source").map(|a| format!("{a}/128")).as_deref()
    );
    // A masked value still reads as an address.
    assert_eq!(
        eval("mask:[mask:ipsource:24]:8").as_deref(),
        Some("10.0.0.0/8")
    );
    assert_eq!(
        eval("group:[mask:ipsource:24]:site"),
        eval("group:ipsource:site")
    );
    assert_eq!(eval("mask:dnsqname:24"), None, "not an address");
    assert_eq!(eval("mask:ipdestination.1:24"), None);
}

#[test]
fn group_longest_prefix_and_first_groupset() {
    assert_eq!(eval("group:ipsource:site").as_deref(), Some("lab"));
    assert_eq!(eval("group:ipdestination:site").as_deref(), Some("private"));
    assert_eq!(eval("group:ipsource.1:site"), None);
    assert_eq!(
        eval("group:ipsource.1:site:world").as_deref(),
        Some("internet")
    );
    assert_eq!(eval("group:ipsource:nosuchgroup"), None);
    assert_eq!(
        eval("group:ipsource:nosuchgroup:world").as_deref(),
        Some("internet")
    );
}

#[test]
fn null_and_or() {
    assert_eq!(eval("null:vxlanvni:none").as_deref(), Some("none"));
    assert_eq!(eval("null:vxlanvni").as_deref(), Some("null"));
    assert_eq!(eval("null:[range:queuedepth:0]").as_deref(), Some("null"));
    assert_eq!(eval("null:ipsource:none").as_deref(), Some("10.1.2.3"));
    assert_eq!(
        eval("null:[group:ipsource.1:site]:[mask:ipsource.1:16]").as_deref(),
        Some("172.16.0.0/16")
    );
    assert_eq!(
        eval("or:ipdestination.1:ipsource.1:ipsource").as_deref(),
        Some("172.16.5.4")
    );
    assert_eq!(eval("or:vxlanvni:ip6destination"), None);
}

#[test]
fn prefix_and_suffix() {
    assert_eq!(eval("prefix:stack:.:1").as_deref(), Some("eth"));
    assert_eq!(eval("prefix:stack:.:3").as_deref(), Some("eth.ip.udp"));
    assert_eq!(
        eval("prefix:stack:.:100").as_deref(),
        Some("eth.ip.udp.vxlan.eth.ip6.tcp")
    );
    assert_eq!(eval("suffix:stack:.:1").as_deref(), Some("tcp"));
    assert_eq!(eval("suffix:stack:.:2").as_deref(), Some("ip6.tcp"));
    // The trailing dot of a DNS name is an empty last token.
    assert_eq!(eval("suffix:dnsqname:.:3").as_deref(), Some("example.com."));
    assert_eq!(
        eval("suffix:dnsqname:.:9").as_deref(),
        Some("www.example.com.")
    );
    assert_eq!(
        eval("prefix:[uri:httpurl:path]:/:3").as_deref(),
        Some("/a/b")
    );
    assert_eq!(
        eval("suffix:stack:ip.:1").as_deref(),
        Some("udp.vxlan.eth.ip6.tcp"),
        "multi-char delimiter"
    );
}

#[test]
fn range_and_eq() {
    assert_eq!(eval("range:bytes:1500:1500").as_deref(), Some("true"));
    assert_eq!(eval("range:bytes:64:64").as_deref(), Some("false"));
    assert_eq!(eval("range:bytes:1519").as_deref(), Some("false"));
    assert_eq!(eval("range:bytes:1000").as_deref(), Some("true"));
    assert_eq!(eval("range:bytes:-5.5:1e4").as_deref(), Some("true"));
    assert_eq!(
        eval("range:ipsource:1"),
        None,
        "non-numeric value is missing"
    );
    assert_eq!(eval("range:vxlanvni:1"), None);
    assert_eq!(eval("eq:ipsource:ipsource").as_deref(), Some("true"));
    assert_eq!(eval("eq:ipsource:ipdestination").as_deref(), Some("false"));
    assert_eq!(
        eval("eq:[mask:ipsource:8]:[mask:ipsource:8]").as_deref(),
        Some("true")
    );
    assert_eq!(eval("eq:ipsource:vxlanvni"), None);
}

#[test]
fn concat_with_escaped_separator() {
    assert_eq!(
        eval("concat:-:ipsource:ipdestination").as_deref(),
        Some("10.1.2.3-192.168.7.9")
    );
    assert_eq!(
        eval(r"concat:\::ipsource:tcpdestinationport").as_deref(),
        Some("10.1.2.3:443")
    );
    assert_eq!(
        eval("concat::ipsource:tcpdestinationport").as_deref(),
        Some("10.1.2.3443")
    );
    assert_eq!(eval("concat:-:ipsource:vxlanvni"), None);
}

#[test]
fn if_then_else() {
    assert_eq!(
        eval("if:[first:stack:.:ip:ip6]:ip:ipsource:ip6source").as_deref(),
        Some("10.1.2.3")
    );
    assert_eq!(
        eval("if:[first:stack:.:ip:ip6]:ip6:ipsource:ip6source").as_deref(),
        Some("2001:db8:abcd:12::1")
    );
    assert_eq!(
        eval("if:tcpdestinationport:443:https:other").as_deref(),
        Some("https")
    );
    assert_eq!(
        eval("if:tcpdestinationport:80:https:other").as_deref(),
        Some("other")
    );
    assert_eq!(
        eval("if:vxlanvni:1:yes:no").as_deref(),
        Some("no"),
        "missing condition takes else"
    );
    assert_eq!(
        eval("if:vxlanvni:1:yes:vlan"),
        None,
        "else names a missing key"
    );
    assert_eq!(
        eval("if:bytes:1500:[mask:ipsource:16]:x").as_deref(),
        Some("10.1.0.0/16")
    );
}

#[test]
fn first_scans_key_order() {
    assert_eq!(eval("first:stack:.:ip:ip6").as_deref(), Some("ip"));
    assert_eq!(
        eval("first:stack:.:ip6:ip").as_deref(),
        Some("ip"),
        "key order, not list order"
    );
    assert_eq!(eval("first:stack:.:tcp:udp").as_deref(), Some("udp"));
    assert_eq!(eval("first:stack:.:ibbt"), None);
}

#[test]
fn map_lookup() {
    assert_eq!(
        eval("map:tcpdestinationport:services").as_deref(),
        Some("web")
    );
    assert_eq!(eval("map:bytes:services"), None);
    assert_eq!(eval("map:tcpdestinationport:nosuchmap"), None);
    assert_eq!(
        eval("null:[map:bytes:services]:other").as_deref(),
        Some("other")
    );
}

#[test]
fn bits() {
    // 261885 = 0b11_1111_1110_1111_1101; mask 261884 clears bit 0.
    assert_eq!(eval("bits:ip6flowlabel:261884").as_deref(), Some("261884"));
    assert_eq!(eval("bits:ip6flowlabel:0xff").as_deref(), Some("253"));
    assert_eq!(eval("bits:bytes:0x0f").as_deref(), Some("12"));
    assert_eq!(eval("bits:ipsource:1"), None);
}

#[test]
fn uri_parts() {
    let cases = [
        ("scheme", Some("https")),
        ("user", Some("user")),
        ("host", Some("www.example.com")),
        ("port", Some("8443")),
        ("path", Some("/a/b/index.html")),
        ("query", Some("x=1&y=2")),
        ("fragment", Some("top")),
        ("file", Some("index.html")),
        ("extension", Some("html")),
    ];
    for (part, expected) in cases {
        assert_eq!(
            eval(&format!("uri:httpurl:{part}")).as_deref(),
            expected,
            "{part}"
        );
    }
    assert_eq!(
        eval("uri:uripath:path").as_deref(),
        Some("/api/v1/flows.json")
    );
    assert_eq!(eval("uri:uripath:extension").as_deref(), Some("json"));
    assert_eq!(eval("uri:uripath:host"), None);
    assert_eq!(eval("uri:uripath:query"), None);
}

#[test]
fn link_names_the_topology_link_of_the_agent_port() {
    assert_eq!(eval("link:inputifindex").as_deref(), Some("leaf1-spine1"));
    // Port 9 is on a link, but of another agent; macsource is no ifIndex; ipdestination.1 is absent.
    assert_eq!(eval("link:outputifindex"), None);
    assert_eq!(eval("link:macsource"), None);
    assert_eq!(eval("link:ipdestination.1"), None);
    assert_eq!(
        eval("null:[link:outputifindex]:edge").as_deref(),
        Some("edge")
    );
    assert_eq!(
        eval("concat:/:[link:inputifindex]:agent").as_deref(),
        Some("leaf1-spine1/10.0.0.1")
    );
    // Without an agent the port cannot be placed.
    let no_agent = MapAttributeSource::new().with("inputifindex", "3");
    let mut out = String::new();
    let expr = KeyExpr::parse("link:inputifindex").unwrap();
    assert!(!expr.eval(&no_agent, &lookups(), &mut out));
    assert_eq!(out, "");
}

#[test]
fn oui_number_and_name() {
    assert_eq!(
        eval("oui:macdestination").as_deref(),
        Some("Hewlett Packard Enterprise")
    );
    assert_eq!(
        eval("oui:macdestination:name").as_deref(),
        Some("Hewlett Packard Enterprise")
    );
    assert_eq!(eval("oui:macdestination:number").as_deref(), Some("D8D385"));
    // Lower-case and separated MAC text is accepted; the number is upper case.
    assert_eq!(eval("oui:macsource:number").as_deref(), Some("000C29"));
    assert_eq!(eval("oui:arpmacsender").as_deref(), Some("Example Local"));
    // Not in the table, not a MAC, absent.
    assert_eq!(eval("oui:macsource"), None);
    assert_eq!(eval("oui:ipsource:number"), None);
    assert_eq!(eval("oui:arpmactarget:number"), None);
    assert_eq!(
        eval("null:[oui:macsource]:unknown").as_deref(),
        Some("unknown")
    );
    assert_eq!(
        eval("[oui:[or:macsource.1:macdestination]:number]").as_deref(),
        Some("D8D385")
    );
}

#[test]
fn host_attributes_of_a_learned_mac() {
    assert_eq!(
        eval("host:macdestination:host_name").as_deref(),
        Some("web1")
    );
    assert_eq!(
        eval("host:macdestination:os_name").as_deref(),
        Some("linux")
    );
    assert_eq!(
        eval("host:macdestination:machine_type").as_deref(),
        Some("x86_64")
    );
    assert_eq!(
        eval("host:macdestination:uuid").as_deref(),
        Some("8a9f2a5e-0000-4000-8000-000000000001")
    );
    // An attribute host_descr did not carry, an unknown MAC, a non-MAC value.
    assert_eq!(eval("host:macdestination:os_release"), None);
    assert_eq!(eval("host:macsource:host_name"), None);
    assert_eq!(eval("host:ipsource:host_name"), None);
    assert_eq!(
        eval("null:[host:macsource:host_name]:[oui:macsource:number]").as_deref(),
        Some("000C29")
    );
}

#[test]
fn link_oui_host_argument_errors_name_the_function() {
    assert_eq!(
        err("link:inputifindex:x"),
        "link: expected 1 arguments, got 2"
    );
    assert_eq!(err("link:input ifindx"), "invalid flow key 'input ifindx'");
    assert_eq!(err("oui:macsource:vendor"), "oui: invalid form 'vendor'");
    assert_eq!(
        err("oui:macsource:name:x"),
        "oui: expected 1 or 2 arguments, got 3"
    );
    assert_eq!(
        err("oui:macsource:[macsource]"),
        "oui: form must be a literal, not a [ ] expression"
    );
    assert_eq!(err("host:macsource"), "host: expected 2 arguments, got 1");
    assert_eq!(
        err("host:macsource:hostname"),
        "host: invalid attribute 'hostname'"
    );
    assert_eq!(
        err("null:[host:macsource:cpu]:x"),
        "host: invalid attribute 'cpu'"
    );
}

#[test]
fn parse_errors_are_exact() {
    assert_eq!(err(""), "empty key");
    assert_eq!(err("ip sorce"), "invalid flow key 'ip sorce'");
    // Unknown names are accepted (as sFlow-RT accepts them) and never present.
    for unknown in ["ipsorce", "ipsource.5", "tcpcwndsnd"] {
        assert_eq!(
            KeyExpr::parse(unknown),
            Ok(KeyExpr::Unknown(unknown.into())),
            "{unknown}"
        );
    }
    assert_eq!(
        err("country:ipsource"),
        "unsupported key function 'country' (needs a GeoIP country database)"
    );
    assert_eq!(
        err("null:[asn:ipsource]:x"),
        "unsupported key function 'asn' (needs a GeoIP ASN database)"
    );
    assert_eq!(
        err("dns:ipsource"),
        "unsupported key function 'dns' (needs reverse DNS lookups)"
    );
    assert_eq!(
        err("frobnicate:ipsource"),
        "unknown key function 'frobnicate'"
    );
    assert_eq!(err("mask:ipsource"), "mask: expected 2 arguments, got 1");
    assert_eq!(err("mask:ipsource:129"), "mask: invalid bits '129'");
    assert_eq!(err("mask:ipsource:x"), "mask: invalid bits 'x'");
    assert_eq!(
        err("mask:ipsource:[bytes]"),
        "mask: bits must be a literal, not a [ ] expression"
    );
    assert_eq!(err("prefix:stack:.:0"), "prefix: invalid token count '0'");
    assert_eq!(err("suffix:stack::1"), "suffix: invalid delimiter ''");
    assert_eq!(err("range:bytes:10:5"), "range: invalid upper bound '5'");
    assert_eq!(err("range:bytes:a"), "range: invalid lower bound 'a'");
    assert_eq!(
        err("range:bytes:1:2:3"),
        "range: expected 2 or 3 arguments, got 4"
    );
    assert_eq!(
        err("or:ipsource"),
        "or: expected at least 2 arguments, got 1"
    );
    assert_eq!(err("if:a:b:c"), "if: expected 4 arguments, got 3");
    assert_eq!(err("uri:httpurl:hostname"), "uri: invalid part 'hostname'");
    assert_eq!(err("bits:ip6flowlabel:1.5"), "bits: invalid mask '1.5'");
    assert_eq!(err("mask:ip sorce:24"), "invalid flow key 'ip sorce'");
    assert_eq!(err("mask:[ipsource:24"), "unclosed '[' at position 5");
    assert_eq!(err("mask:ipsource]:24"), "unexpected ']' at position 13");
    assert_eq!(
        err("mask:ip[source]:24"),
        "'[' at position 7 must start an argument"
    );
    assert_eq!(
        err("mask:[ipsource]x:24"),
        "unexpected text after ']' at position 15"
    );
    assert_eq!(err("ipsource\\"), "trailing '\\' at end of expression");
}

#[test]
fn nesting_depth_is_bounded() {
    let nest = |levels: usize| {
        format!(
            "{}ipsource{}",
            "[null:".repeat(levels),
            ":x]".repeat(levels)
        )
    };
    assert!(KeyExpr::parse(&nest(MAX_EXPR_DEPTH)).is_ok());
    assert_eq!(
        KeyExpr::parse(&nest(MAX_EXPR_DEPTH + 1)).unwrap_err(),
        ExprError::TooDeep
    );
    let brackets = format!("{}ipsource{}", "[".repeat(100), "]".repeat(100));
    assert_eq!(KeyExpr::parse(&brackets).unwrap_err(), ExprError::TooDeep);
}

#[test]
fn escapes_in_literals() {
    let map = LookupMap::from_labels([("x:y", vec!["443"])]);
    let mut lookups = Lookups::new();
    lookups.set_map("a:b", map);
    let expr = KeyExpr::parse(r"null:[map:tcpdestinationport:a\:b]:n\[o\]").unwrap();
    let mut out = String::new();
    assert!(expr.eval(&sample(), &lookups, &mut out));
    assert_eq!(out, "x:y");
    out.clear();
    assert!(expr.eval(&MapAttributeSource::new(), &lookups, &mut out));
    assert_eq!(out, "n[o]");
}

mod props {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn parse_never_panics(text in "\\PC{0,64}") {
            let _ = KeyExpr::parse(&text);
        }

        #[test]
        fn structured_input_never_panics(text in "[a-z0-9:\\[\\]\\\\.,/]{0,48}") {
            if let Ok(expr) = KeyExpr::parse(&text) {
                let mut out = String::new();
                let _ = expr.eval(&sample(), &lookups(), &mut out);
            }
        }
    }
}
