//! The flow-language hot path (`CompiledFlow::evaluate`, and `FlowProgram::evaluate` for all definitions
//! together) must not allocate once the key buffer and memo have grown: counted with a per-thread counting
//! allocator.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use std::sync::Arc;

use rtflow_flowlang::{
    AddressGroup, CompiledFlow, FlowDefinition, FlowProgram, HostIdentity, LinkTable, LookupMap,
    Lookups, MapAttributeSource, OuiTable, SampleMemo,
};
use serde_json::json;

struct CountingAllocator;

thread_local! {
    static ALLOCATIONS: Cell<usize> = const { Cell::new(0) };
}

fn count_one() {
    let _ = ALLOCATIONS.try_with(|count| count.set(count.get() + 1));
}

// SAFETY: every call is forwarded unchanged to the system allocator; the
// counter is a const-initialized thread-local that never allocates.
unsafe impl GlobalAlloc for CountingAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count_one();
        // SAFETY: same contract as the caller's.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: same contract as the caller's.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count_one();
        // SAFETY: same contract as the caller's.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: CountingAllocator = CountingAllocator;

fn allocations() -> usize {
    ALLOCATIONS.with(Cell::get)
}

#[test]
fn evaluate_does_not_allocate_after_warm_up() {
    let sample = MapAttributeSource::new()
        .with("ipsource", "10.1.2.3")
        .with("ipdestination", "192.168.7.9")
        .with("ip6source", "2001:db8::1")
        .with("ipprotocol", "6")
        .with("tcpdestinationport", "443")
        .with("tcpflags", "000000010")
        .with("stack", "eth.ip.tcp")
        .with("dnsqname", "www.example.com.")
        .with("httpurl", "http://example.com/a/b/c.html?q=1")
        .with("ip6flowlabel", "12345")
        .with("bytes", "1514")
        .with("frames", "1")
        .with("agent", "10.0.0.254")
        .with("inputifindex", "7")
        .with("macsource", "D8D385B2DD2B");
    let mut lookups = Lookups::new();
    lookups.set_group(
        "site",
        AddressGroup::from_labels([("lan", vec!["10.0.0.0/8"])]).expect("valid group"),
    );
    lookups.set_map("svc", LookupMap::from_labels([("https", vec!["443"])]));
    lookups.set_links(LinkTable::from_ports([(
        ("10.0.0.254".parse().expect("ip"), 7),
        "L7",
    )]));
    lookups.set_oui_table(Arc::new(OuiTable::from_entries([(0xD8D385, "HPE")])));
    let host = HostIdentity {
        host_name: Some("web1".into()),
        ..HostIdentity::default()
    };
    lookups
        .hosts_mut()
        .learn(0, &[[0xD8, 0xD3, 0x85, 0xB2, 0xDD, 0x2B]], host, 10);

    let definitions = [
        json!({"keys": "ipsource,ipdestination"}),
        json!({"keys": "mask:ipsource:24,group:ipsource:site,null:[map:tcpdestinationport:svc]:other",
               "filter": "ipprotocol=6,17&(tcpflags~.......1.|tcpflags!=null)", "values": ["count:ipsource", "avg:bytes"]}),
        json!({"keys": "suffix:dnsqname:.:3,prefix:stack:.:2,concat:-:ipsource:tcpdestinationport,eq:ipsource:ipsource",
               "value": "frames"}),
        json!({"keys": "if:[first:stack:.:ip:ip6]:ip:[mask:ipsource:16]:[mask:ip6source:48],range:bytes:1000,bits:ip6flowlabel:0xff,uri:httpurl:file,or:vxlanvni:ipsource"}),
        json!({"keys": "link:inputifindex,oui:macsource,oui:macsource:number,host:macsource:host_name,null:[link:outputifindex]:none",
               "filter": "link:inputifindex!=null"}),
    ];
    let mut compiled = Vec::new();
    for json in definitions {
        let definition = FlowDefinition::from_json_value(&json).expect("valid definition");
        let flow = CompiledFlow::compile(&definition).expect("compiles");
        compiled.push(flow.clone());
        let mut key = String::with_capacity(256);
        // Warm-up: lets the regex engine set up its per-thread cache.
        assert!(
            flow.evaluate(&sample, &lookups, &mut key).is_some(),
            "{json}"
        );
        let before = allocations();
        for _ in 0..100 {
            assert!(flow.evaluate(&sample, &lookups, &mut key).is_some());
        }
        assert_eq!(
            allocations() - before,
            0,
            "{json} allocated while evaluating (key {key})"
        );
    }

    // All five evaluated together, sharing their expressions and filters.
    let program = FlowProgram::build(compiled.iter().enumerate());
    let mut memo = SampleMemo::default();
    let evaluate = |memo: &mut SampleMemo| {
        let mut emitted = 0;
        program.evaluate(&sample, false, &lookups, memo, |_, _, _| emitted += 1);
        emitted
    };
    assert_eq!(evaluate(&mut memo), compiled.len());
    let before = allocations();
    for _ in 0..100 {
        assert_eq!(evaluate(&mut memo), compiled.len());
    }
    assert_eq!(
        allocations() - before,
        0,
        "the program allocated while evaluating"
    );
}
