use super::*;
use crate::MapAttributeSource;
use crate::groups::AddressGroup;
use crate::keyname::{FlowKey, KeyName};
use crate::value::{ValueAggregation, ValueSource};
use serde_json::json;

fn parse(json: Value) -> Result<FlowDefinition, String> {
    FlowDefinition::from_json_value(&json).map_err(|e| e.to_string())
}

fn compile(json: Value) -> Result<CompiledFlow, String> {
    CompiledFlow::from_json_value(&json).map_err(|e| e.to_string())
}

#[test]
fn defaults_are_materialized_on_output() {
    let definition = parse(json!({"keys": "ipsource,ipdestination"})).unwrap();
    assert_eq!(
        definition.to_json(),
        json!({
            "keys": "ipsource,ipdestination", "value": "bytes", "n": 5, "t": 2.0, "fs": ",",
            "log": false, "flowStart": false, "activeTimeout": 60, "dropped": false,
        })
    );
    assert_eq!(parse(json!({})).unwrap(), FlowDefinition::default());
}

#[test]
fn full_definition_round_trips() {
    let input = json!({
        "keys": ["ipsource", "mask:ipdestination:24", "null:[map:tcpdestinationport:svc]:other"],
        "value": "frames",
        "values": "count:ipsource,avg:ipbytes",
        "filter": "ipprotocol=6",
        "n": 10, "t": 15, "fs": "_SEP_", "log": true, "flowStart": true, "activeTimeout": 30,
        "dropped": true, "aggMode": "AGENT", "ipfixCollectors": ["10.0.0.50"],
    });
    let definition = parse(input).unwrap();
    let output = definition.to_json();
    assert_eq!(
        output,
        json!({
            "keys": "ipsource,mask:ipdestination:24,null:[map:tcpdestinationport:svc]:other",
            "value": "frames",
            "values": ["count:ipsource", "avg:ipbytes"],
            "filter": "ipprotocol=6",
            "n": 10, "t": 15.0, "fs": "_SEP_", "log": true, "flowStart": true, "activeTimeout": 30,
            "dropped": true, "aggMode": "AGENT", "ipfixCollectors": ["10.0.0.50"],
        })
    );
    // GET output fed back to PUT yields the same definition.
    assert_eq!(parse(output).unwrap(), definition);
    assert_eq!(definition.agg_mode(), Some(AggMode::Agent));
    let via_serde: FlowDefinition = serde_json::from_value(definition.to_json()).unwrap();
    assert_eq!(via_serde, definition);
}

#[test]
fn keys_string_and_array_forms() {
    let from_string = parse(json!({"keys": " ipsource , ipdestination "})).unwrap();
    let from_array = parse(json!({"keys": ["ipsource", "ipdestination"]})).unwrap();
    assert_eq!(from_string.keys, vec!["ipsource", "ipdestination"]);
    assert_eq!(from_string, from_array);
    assert!(parse(json!({"keys": ""})).unwrap().keys.is_empty());
    assert!(parse(json!({"keys": []})).unwrap().keys.is_empty());
    // Commas inside [ ] or escaped do not split.
    assert_eq!(
        parse(json!({"keys": r"concat:\,:ipsource:ipdestination,[concat:,:vlan:priority]"}))
            .unwrap()
            .keys,
        vec![
            r"concat:\,:ipsource:ipdestination",
            "[concat:,:vlan:priority]"
        ]
    );
}

#[test]
fn comma_inside_array_key_is_escaped_on_output() {
    let definition = parse(json!({"keys": ["concat:,:ipsource:ipdestination", "vlan"]})).unwrap();
    let keys = definition.to_json()["keys"].clone();
    assert_eq!(keys, json!(r"concat:\,:ipsource:ipdestination,vlan"));
    let reparsed = parse(json!({"keys": keys})).unwrap();
    assert_eq!(reparsed.keys.len(), 2);
    // Both spellings compile to the same expression.
    assert_eq!(
        CompiledFlow::compile(&reparsed).unwrap().keys(),
        CompiledFlow::compile(&definition).unwrap().keys()
    );
}

#[test]
fn clamping() {
    let clamp = |field: &str, value: Value| {
        parse(json!({ field: value })).unwrap().to_json()[field].clone()
    };
    assert_eq!(clamp("n", json!(1)), json!(5));
    assert_eq!(clamp("n", json!(100)), json!(20));
    assert_eq!(clamp("n", json!(-3)), json!(5));
    assert_eq!(clamp("n", json!(12.0)), json!(12));
    assert_eq!(clamp("n", json!(u64::MAX)), json!(20));
    assert_eq!(clamp("t", json!(0.01)), json!(0.2));
    assert_eq!(clamp("t", json!(10000)), json!(600.0));
    assert_eq!(clamp("t", json!(1)), json!(1.0));
    assert_eq!(clamp("activeTimeout", json!(0)), json!(1));
    assert_eq!(
        clamp("activeTimeout", json!(10_000_000)),
        json!(MAX_ACTIVE_TIMEOUT)
    );
}

#[test]
fn errors_name_the_field() {
    let cases = [
        (
            json!({"keys": "ip source"}),
            "keys: invalid flow key 'ip source'",
        ),
        (json!({"keys": "ipsource,,vlan"}), "keys: empty key"),
        (
            json!({"keys": 5}),
            "keys: must be a string or an array of strings",
        ),
        (
            json!({"keys": ["ipsource", 5]}),
            "keys: must be a string or an array of strings",
        ),
        (
            json!({"keys": "country:ipsource"}),
            "keys: unsupported key function 'country' (needs a GeoIP country database)",
        ),
        (json!({"t": "slow"}), "t: must be a number"),
        (json!({"n": "five"}), "n: must be an integer"),
        (json!({"n": 5.5}), "n: must be an integer"),
        (
            json!({"activeTimeout": true}),
            "activeTimeout: must be an integer",
        ),
        (json!({"log": "yes"}), "log: must be true or false"),
        (json!({"fs": ""}), "fs: must not be empty"),
        (json!({"fs": 1}), "fs: must be a string"),
        (
            json!({"value": "bps"}),
            "value: unknown numeric flow key 'bps'",
        ),
        (json!({"value": ""}), "value: empty value"),
        (
            json!({"values": ["avg:tcprtt", "median:tcprtt"]}),
            "values: unknown value prefix 'median' (expected rate, avg, count, min or max)",
        ),
        (
            json!({"filter": "ipprotocol=6&"}),
            "filter: expected a key at position 13",
        ),
        (
            json!({"aggMode": "median"}),
            "aggMode: unknown mode 'median' (expected max, sum, avg, edge, core or agent)",
        ),
        (
            json!({"ipfixCollectors": "10.0.0.1"}),
            "ipfixCollectors: must be an array of strings",
        ),
        (
            json!({"filter": "ipsource=="}),
            "filter: unexpected '=' at position 9",
        ),
        (json!(["ipsource"]), "flow definition must be a JSON object"),
    ];
    for (input, expected) in cases {
        assert_eq!(compile(input.clone()).unwrap_err(), expected, "{input}");
    }
    assert!(
        FlowDefinition::from_json_str("{")
            .unwrap_err()
            .to_string()
            .starts_with("invalid JSON: ")
    );
    let err = serde_json::from_str::<FlowDefinition>(r#"{"keys":7}"#).unwrap_err();
    assert!(err.to_string().contains("keys: must be"), "{err}");
}

#[test]
fn lenient_like_sflow_rt() {
    // Numbers as strings, booleans as strings, unknown fields ignored (and reported for a warning).
    let input = json!({"keys": "ipsource", "t": "5", "n": "10", "activeTimeout": "30", "log": "true",
                       "colour": "red", "Keys": "x"});
    let definition = parse(input.clone()).unwrap();
    assert_eq!(definition.t, 5.0);
    assert_eq!(definition.n, 10);
    assert_eq!(definition.active_timeout, 30);
    assert!(definition.log);
    assert_eq!(definition.keys, vec!["ipsource"]);
    let mut ignored = FlowDefinition::ignored_fields(&input);
    ignored.sort();
    assert_eq!(ignored, vec!["Keys", "colour"]);
    // Unknown key names are accepted and never match; they are listed for a warning.
    let compiled = CompiledFlow::compile(
        &parse(
            json!({"keys": "ipsorce,ipdestination", "values": ["count:tcpcwndsnd"],
                      "filter": "ipprotocol=6&ip6fragx=yes"}),
        )
        .unwrap(),
    )
    .unwrap();
    assert_eq!(
        compiled.unknown_keys(),
        vec!["ip6fragx", "ipsorce", "tcpcwndsnd"]
    );
}

#[test]
fn limits() {
    let keys: Vec<String> = (0..=MAX_KEYS).map(|_| "ipsource".to_owned()).collect();
    assert_eq!(
        compile(json!({"keys": keys})).unwrap_err(),
        format!("keys: too many keys (33, at most {MAX_KEYS})")
    );
    assert!(compile(json!({"keys": keys[..MAX_KEYS]})).is_ok());
    let values: Vec<&str> = (0..=MAX_VALUES).map(|_| "bytes").collect();
    assert_eq!(
        compile(json!({"values": values})).unwrap_err(),
        "values: too many values (9, at most 8)"
    );
}

#[test]
fn null_fields_mean_absent() {
    let definition =
        parse(json!({"keys": "ipsource", "filter": null, "aggMode": null, "t": null})).unwrap();
    assert_eq!(definition.filter, None);
    assert_eq!(definition.t, DEFAULT_T);
    assert_eq!(parse(json!({"filter": "  "})).unwrap().filter, None);
}

#[test]
fn compiled_parts() {
    let flow =
        compile(json!({"keys": "ipsource.1", "value": "avg:tcprtt", "values": ["count:ipsource"]}))
            .unwrap();
    assert_eq!(
        flow.keys(),
        &[KeyExpr::Attr(FlowKey {
            name: KeyName::IpSource,
            layer: 1
        })]
    );
    assert_eq!(flow.value_spec().aggregation, ValueAggregation::Avg);
    assert_eq!(
        flow.value_spec().source,
        ValueSource::Numeric(FlowKey {
            name: KeyName::TcpRtt,
            layer: 0
        })
    );
    assert_eq!(flow.value_specs().len(), 1);
    assert_eq!(flow.definition().keys, vec!["ipsource.1"]);
}

fn tcp_sample() -> MapAttributeSource {
    MapAttributeSource::new()
        .with("ipsource", "10.0.0.1")
        .with("ipdestination", "10.0.0.2")
        .with("ipprotocol", "6")
        .with("tcpsourceport", "34567")
        .with("tcpdestinationport", "443")
        .with("bytes", "1514")
        .with("frames", "1")
        .with("ipbytes", "1500")
}

#[test]
fn evaluate_joins_keys_with_fs_and_returns_raw_values() {
    let lookups = Lookups::new();
    let mut key = String::from("stale");
    let flow = compile(json!({"keys": "ipsource,ipdestination,tcpdestinationport"})).unwrap();
    let values = flow.evaluate(&tcp_sample(), &lookups, &mut key).unwrap();
    assert_eq!(key, "10.0.0.1,10.0.0.2,443");
    assert_eq!(values.value, SampleValue::Number(1514.0));
    assert!(values.values().is_empty());

    let flow = compile(
        json!({"keys": "ipsource,tcpdestinationport", "fs": "_SEP_", "value": "frames",
        "values": ["max:ipbytes", "avg:tcprtt", "count:ipdestination"]}),
    )
    .unwrap();
    let values = flow.evaluate(&tcp_sample(), &lookups, &mut key).unwrap();
    assert_eq!(key, "10.0.0.1_SEP_443");
    assert_eq!(values.value, SampleValue::Number(1.0));
    let extra = values.values();
    assert_eq!(extra.len(), 3);
    assert_eq!(extra[0], SampleValue::Number(1500.0));
    assert_eq!(extra[1], SampleValue::Missing);
    assert!(matches!(extra[2], SampleValue::Distinct(_)));
}

#[test]
fn distinct_hashes_follow_values() {
    let lookups = Lookups::new();
    let flow = compile(json!({"value": "count:ipdestination"})).unwrap();
    let mut key = String::new();
    let hash_of = |dst: &str, key: &mut String| {
        let sample = tcp_sample().with("ipdestination", dst);
        flow.evaluate(&sample, &lookups, key).unwrap().value
    };
    let a = hash_of("10.0.0.2", &mut key);
    assert_eq!(key, "", "no keys → empty flow key");
    assert_eq!(a, hash_of("10.0.0.2", &mut key));
    assert_ne!(a, hash_of("10.0.0.3", &mut key));
}

#[test]
fn evaluate_rejects_filtered_and_missing() {
    let lookups = Lookups::new();
    let mut key = String::new();
    let udp_only = compile(json!({"keys": "ipsource", "filter": "ipprotocol=17"})).unwrap();
    assert_eq!(udp_only.evaluate(&tcp_sample(), &lookups, &mut key), None);
    assert_eq!(key, "");

    let needs_vni = compile(json!({"keys": "ipsource,vxlanvni"})).unwrap();
    assert_eq!(needs_vni.evaluate(&tcp_sample(), &lookups, &mut key), None);
    assert_eq!(key, "", "partial key is not left behind");

    let defaulted = compile(json!({"keys": "ipsource,null:vxlanvni:none"})).unwrap();
    assert!(
        defaulted
            .evaluate(&tcp_sample(), &lookups, &mut key)
            .is_some()
    );
    assert_eq!(key, "10.0.0.1,none");

    let missing_value = compile(json!({"keys": "ipsource", "value": "tcprtt"})).unwrap();
    assert_eq!(
        missing_value.evaluate(&tcp_sample(), &lookups, &mut key),
        None
    );
}

#[test]
fn evaluate_uses_live_lookups() {
    let flow = compile(json!({"keys": "group:ipsource:site,ipdestination", "filter": "group:ipdestination:site!=null"}))
        .unwrap();
    let mut lookups = Lookups::new();
    let mut key = String::new();
    assert_eq!(
        flow.evaluate(&tcp_sample(), &lookups, &mut key),
        None,
        "no group yet"
    );
    lookups.set_group(
        "site",
        AddressGroup::from_labels([("lan", vec!["10.0.0.0/24"])]).unwrap(),
    );
    assert!(flow.evaluate(&tcp_sample(), &lookups, &mut key).is_some());
    assert_eq!(key, "lan,10.0.0.2");
}

mod props {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn definition_parsing_never_panics(keys in "\\PC{0,40}", value in "\\PC{0,12}", filter in "\\PC{0,40}",
                                           t in proptest::num::f64::ANY, n in proptest::num::i64::ANY) {
            let json = json!({"keys": keys, "value": value, "filter": filter, "n": n, "t": t});
            if let Ok(flow) = CompiledFlow::from_json_value(&json) {
                let mut key = String::new();
                let _ = flow.evaluate(&tcp_sample(), &Lookups::new(), &mut key);
                let d = flow.definition();
                prop_assert!((MIN_N..=MAX_N).contains(&d.n));
                prop_assert!((MIN_T..=MAX_T).contains(&d.t));
            }
        }

        #[test]
        fn split_join_round_trip(entries in proptest::collection::vec("[a-z:,\\[\\]]{1,10}", 0..5)) {
            // Only balanced, non-empty, trimmed entries are meaningful keys.
            let balanced = entries.iter().all(|e| {
                let mut depth = 0i32;
                e.chars().all(|c| { depth += match c { '[' => 1, ']' => -1, _ => 0 }; depth >= 0 }) && depth == 0
            });
            prop_assume!(balanced);
            // Top-level commas come back escaped (`\,`, which the expression parser reads as `,`).
            let split = split_list(&join_list(&entries));
            let unescaped: Vec<String> = split.iter().map(|e| e.replace("\\,", ",")).collect();
            prop_assert_eq!(unescaped, entries);
        }
    }
}
