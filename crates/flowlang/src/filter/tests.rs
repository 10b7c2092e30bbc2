use super::*;
use crate::MapAttributeSource;
use crate::groups::LookupMap;

fn sample() -> MapAttributeSource {
    MapAttributeSource::new()
        .with("ipsource", "10.0.0.1")
        .with("ipdestination", "10.0.0.2")
        .with("ipprotocol", "6")
        .with("ethernetprotocol", "2048")
        .with("tcpflags", "000000010")
        .with("tcpdestinationport", "443")
        .with("dnsqname", "mail.google.com.")
        .with("stack", "eth.ip.tcp")
        .with("httpurl", "/a b/c,d")
        .with("macsource", "000c29aabbcc")
}

fn lookups() -> Lookups {
    let mut lookups = Lookups::new();
    lookups.set_map(
        "ix_member",
        LookupMap::from_labels([("member1", vec!["000c29aabbcc"])]),
    );
    lookups
}

fn check(filter: &str) -> bool {
    let compiled = Filter::parse(filter).unwrap_or_else(|e| panic!("{filter}: {e}"));
    let mut scratch = String::from("keep");
    let result = compiled.matches(&sample(), &lookups(), &mut scratch);
    assert_eq!(scratch, "keep", "{filter} must restore the scratch buffer");
    result
}

fn err(filter: &str) -> String {
    Filter::parse(filter).unwrap_err().to_string()
}

#[test]
fn equality_and_alternatives() {
    assert!(check("ipprotocol=6"));
    assert!(!check("ipprotocol=17"));
    assert!(check("ipprotocol=6,17"));
    assert!(check("ipprotocol=17,6"));
    assert!(!check("ipprotocol!=6,17"));
    assert!(!check("ethernetprotocol!=2048,2054,34525"));
    assert!(check("ipsource=10.0.0.1"));
    assert!(!check("ipsource=10.0.0"), "exact, not prefix");
}

#[test]
fn missing_keys_and_null() {
    assert!(check("vxlanvni=null"));
    assert!(!check("vxlanvni!=null"));
    assert!(check("ipsource!=null"));
    assert!(!check("ipsource=null"));
    assert!(!check("vxlanvni=5"), "missing equals only null");
    assert!(check("vxlanvni!=5"), "!= negates =");
    assert!(check("vxlanvni=5,null"));
    assert!(!check("vxlanvni~.*"));
    assert!(check("vxlanvni!~.*"));
    assert!(check("vxlanvni~null"));
    assert!(!check("vxlanvni='null'"), "quoted null is the text");
    assert!(check("map:macsource:ix_member!=null"));
    assert!(check("map:ipsource:ix_member=null"));
}

#[test]
fn regex_matches_whole_value() {
    assert!(check("tcpflags~.......1."));
    assert!(!check("tcpflags~........1"));
    assert!(!check("dnsqname~google"), "anchored: no substring match");
    assert!(check("dnsqname~.*google.*"));
    assert!(
        check("dnsqname~.*(google|bing).*"),
        "| inside parentheses belongs to the regex"
    );
    assert!(check("dnsqname!~.*(yahoo|bing).*"));
    assert!(check("dnsqname~.*yahoo.*,.*google.*"));
    assert!(check("dnsqname~'.*google\\.com\\.'"));
    assert!(check(r"dnsqname~.*google\.com\."));
    assert!(
        !check("dnsqname~'mail|x'"),
        "alternation stays inside the anchors"
    );
    assert!(check("dnsqname~'x|mail.*'"));
}

#[test]
fn precedence_and_parentheses() {
    // & binds tighter than |: true | (false & false) = true.
    assert!(check("ipprotocol=6|ipprotocol=17&ipsource=1.1.1.1"));
    // (true | false) & false = false.
    assert!(!check("(ipprotocol=6|ipprotocol=17)&ipsource=1.1.1.1"));
    // false & false | true = true.
    assert!(check(
        "ipprotocol=17&ipsource=1.1.1.1|tcpdestinationport=443"
    ));
    assert!(!check(
        "ipprotocol=17&(ipsource=1.1.1.1|tcpdestinationport=443)"
    ));
    assert!(check("((ipprotocol=6))"));
    assert!(check(
        " ( ipprotocol = 6 ) & ( ipsource = 10.0.0.1 | ipsource = 10.0.0.9 ) "
    ));
    assert!(check(
        "ipprotocol=6&ipsource=10.0.0.1&tcpdestinationport=443"
    ));
}

#[test]
fn quoting() {
    assert!(check("'ipprotocol'='6'"));
    assert!(check("\"ipprotocol\"=\"6\""));
    assert!(check("'httpurl'='/a b/c,d'"));
    assert!(!check("httpurl='/a b/c','d'"));
    assert!(check(r"httpurl=/a\ b/c\,d"));
    assert!(check("'first:stack:.:ip:ip6'='ip'"));
    assert_eq!(err("'x\\'y'='x'"), "invalid flow key 'x'y' at position 0");
}

#[test]
fn key_functions_on_the_left() {
    assert!(check("first:stack:.:ip:ip6=ip"));
    assert!(check("prefix:stack:.:1=eth"));
    assert!(check("suffix:stack:.:1=tcp"));
    assert!(check("mask:ipsource:24=10.0.0.0/24"));
    assert!(check("[range:tcpdestinationport:1:1023]=true"));
    assert!(check("eq:ipsource:ipdestination=false"));
}

#[test]
fn errors_name_position_and_problem() {
    assert_eq!(err(""), "empty filter at position 0");
    assert_eq!(err("   "), "empty filter at position 3");
    assert_eq!(
        err("'ip sorce'=1"),
        "invalid flow key 'ip sorce' at position 0"
    );
    assert_eq!(
        err("ipprotocol=6&'ip sorce'=1"),
        "invalid flow key 'ip sorce' at position 13"
    );
    // Unknown key names are accepted and always missing.
    assert!(!check("ipsorce=1"));
    assert!(check("ipsorce=null"));
    assert!(check("ipsorce!=1"));
    assert_eq!(
        err("country:ipsource=US"),
        "unsupported key function 'country' (needs a GeoIP country database) at position 0"
    );
    assert_eq!(
        err("ipprotocol"),
        "expected '=', '!=', '~' or '!~' after the key at position 10"
    );
    assert_eq!(
        err("ipprotocol<6"),
        "expected '=', '!=', '~' or '!~' after the key at position 10"
    );
    assert_eq!(err("ipprotocol="), "expected a value at position 11");
    assert_eq!(err("ipprotocol=6,"), "expected a value at position 13");
    assert_eq!(err("=6"), "expected a key at position 0");
    assert_eq!(err("ipprotocol=6&"), "expected a key at position 13");
    assert_eq!(err("ipprotocol=6|"), "expected a key at position 13");
    assert_eq!(err("(ipprotocol=6"), "missing ')' at position 0");
    assert_eq!(err("ipprotocol=6)"), "unexpected ')' at position 12");
    assert_eq!(err("ipprotocol=6 x"), "unexpected 'x' at position 13");
    assert_eq!(err("ipprotocol='6"), "unterminated quote at position 11");
    assert_eq!(err("'ipprotocol=6"), "unterminated quote at position 0");
    assert!(
        err("dnsqname~a(b").starts_with("invalid regex: 'a(b': "),
        "{}",
        err("dnsqname~a(b")
    );
    assert!(err("dnsqname~'*'").starts_with("invalid regex: '*': "));
    let deep = format!("{}ipprotocol=6{}", "(".repeat(40), ")".repeat(40));
    assert_eq!(
        err(&deep),
        format!("parentheses nested deeper than {MAX_FILTER_DEPTH} levels at position 32")
    );
    let long = format!("ipprotocol={}", "6".repeat(MAX_FILTER_LEN));
    assert_eq!(
        err(&long),
        format!("filter longer than {MAX_FILTER_LEN} bytes at position {MAX_FILTER_LEN}")
    );
}

mod props {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn parse_never_panics(text in "\\PC{0,80}") {
            let _ = Filter::parse(&text);
        }

        #[test]
        fn filter_shaped_input_never_panics(text in "[a-z0-9=!~&|(),'\"\\\\:.*\\[\\] ]{0,60}") {
            if let Ok(filter) = Filter::parse(&text) {
                let mut scratch = String::new();
                let _ = filter.matches(&sample(), &lookups(), &mut scratch);
                prop_assert!(scratch.is_empty());
            }
        }
    }
}

#[test]
fn a_doubled_equals_sign_is_refused_as_sflow_rt_refuses_it() {
    assert_eq!(err("ipsource=="), "unexpected '=' at position 9");
    assert_eq!(err("ipsource==10.0.0.1"), "unexpected '=' at position 9");
    // A value that really starts with '=' can be quoted.
    assert!(!check("ipsource='=x'"));
}
