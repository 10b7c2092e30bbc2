//! `link:`, `oui:` and `host:` driven end to end: real sFlow datagrams through `Engine::ingest_sflow`, a
//! topology PUT, an OUI table and host sFlow counter samples, asserting the active flow keys.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use rtflow_sflow::{
    Adapter, AdapterList, Address, CounterRecord, CounterSampleInfo, DataSource, DatagramBuilder,
    DatagramHeader, FlowRecord, FlowSampleInfo, HostAdapters, HostDescription, Interface, MacAddr,
    MacList, PortName, SampledHeader,
};

use crate::{ActiveFlowQuery, AgentSelector, Engine, Topology};
use rtflow_flowlang::{FlowDefinition, OuiTable};

const T0: u64 = 1_700_000_000_000;
const HOST_MAC: [u8; 6] = [0x02, 0x00, 0x00, 0x00, 0x00, 0x01];
const OTHER_MAC: [u8; 6] = [0xD8, 0xD3, 0x85, 0xB2, 0xDD, 0x2B];

fn v4(last: u8) -> Ipv4Addr {
    Ipv4Addr::new(10, 0, 0, last)
}

/// Builds one agent's datagrams with running sequence numbers.
struct Agent {
    address: Ipv4Addr,
    datagrams: u32,
    samples: u32,
}

impl Agent {
    fn new(address: Ipv4Addr) -> Self {
        Self {
            address,
            datagrams: 0,
            samples: 0,
        }
    }

    fn builder(&mut self) -> DatagramBuilder {
        self.datagrams += 1;
        DatagramBuilder::new(DatagramHeader {
            agent: Address::V4(self.address),
            sub_agent_id: 0,
            sequence_number: self.datagrams,
            uptime_ms: self.datagrams * 1000,
        })
    }

    /// A flow sample at data source `ifindex` of a frame from `src_mac` to `dst_mac`, received on `ifindex`.
    fn flow(&mut self, ifindex: u32, src_mac: [u8; 6], dst_mac: [u8; 6]) -> Vec<u8> {
        self.samples += 1;
        let mut header = Vec::with_capacity(34);
        header.extend_from_slice(&dst_mac);
        header.extend_from_slice(&src_mac);
        header.extend_from_slice(&[0x08, 0x00, 0x45, 0, 0, 20, 0, 1, 0x40, 0, 64, 17, 0, 0]);
        header.extend_from_slice(&[192, 168, 1, 1, 192, 168, 1, 2]);
        let mut builder = self.builder();
        builder.flow_sample(
            &FlowSampleInfo {
                sequence_number: self.samples,
                source_id: DataSource {
                    class: 0,
                    index: ifindex,
                },
                sampling_rate: 100,
                sample_pool: self.samples * 100,
                input: Interface::index(ifindex),
                output: Interface::index(1000),
                ..Default::default()
            },
            &[FlowRecord::SampledHeader(SampledHeader {
                protocol: 1,
                frame_length: 1000,
                stripped: 4,
                header: &header,
            })],
        );
        builder.finish()
    }

    /// A counter sample at `source` carrying `records`.
    fn counters(&mut self, source: DataSource, records: &[CounterRecord<'_>]) -> Vec<u8> {
        self.samples += 1;
        let mut builder = self.builder();
        builder.counter_sample(
            &CounterSampleInfo {
                sequence_number: self.samples,
                source_id: source,
                expanded: false,
            },
            records,
        );
        builder.finish()
    }
}

fn ingest(engine: &mut Engine, now: u64, datagram: &[u8]) {
    let from = SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 6343);
    if let Err(err) = engine.ingest_sflow(now, from, datagram) {
        panic!("ingest: {err}");
    }
}

fn define(engine: &mut Engine, name: &str, keys: &str, filter: Option<&str>) {
    let mut definition = FlowDefinition::new(keys, "frames");
    definition.filter = filter.map(str::to_string);
    if let Err(err) = engine.set_flow(T0, name, definition) {
        panic!("{name}: {err}");
    }
}

/// The active flow keys of `name`, sorted.
fn keys(engine: &Engine, now: u64, name: &str) -> Vec<String> {
    let flows = engine
        .active_flows(now, &AgentSelector::All, name, &ActiveFlowQuery::default())
        .unwrap_or_else(|e| panic!("{name}: {e}"));
    let mut keys: Vec<String> = flows.into_iter().map(|f| f.key).collect();
    keys.sort();
    keys
}

fn host_descr(hostname: &[u8]) -> CounterRecord<'_> {
    CounterRecord::HostDescription(HostDescription {
        hostname,
        uuid: [0x8a; 16],
        machine_type: 3,
        os_name: 2,
        os_release: b"6.1.0",
    })
}

#[test]
fn link_names_ports_from_nodes_and_from_learned_names() {
    let mut engine = Engine::default();
    // spine1 is placed by `nodes`; leaf1 only by the host_name and ifname its agent reports.
    let topology: Topology = serde_json::from_str(
        r#"{"nodes": {"spine1": {"agent": "10.0.0.2", "ports": {"swp2": {"ifindex": "52"}}}},
            "links": {"L1": {"node1": "leaf1", "port1": "swp1", "node2": "spine1", "port2": "swp2"}}}"#,
    )
    .unwrap_or_else(|e| panic!("{e}"));
    if let Err(err) = engine.set_topology(T0, topology) {
        panic!("{err}");
    }
    define(
        &mut engine,
        "links",
        "link:inputifindex",
        Some("link:inputifindex!=null"),
    );
    define(
        &mut engine,
        "edges",
        "null:[link:inputifindex]:edge,agent",
        None,
    );
    let (mut leaf, mut spine) = (Agent::new(v4(1)), Agent::new(v4(2)));

    // Before leaf1 has named itself and its port, only the spine's end of L1 is known.
    ingest(&mut engine, T0, &leaf.flow(3, HOST_MAC, OTHER_MAC));
    ingest(&mut engine, T0, &spine.flow(52, HOST_MAC, OTHER_MAC));
    assert_eq!(keys(&engine, T0, "links"), ["L1"]);
    assert_eq!(keys(&engine, T0, "edges"), ["L1,10.0.0.2", "edge,10.0.0.1"]);

    let now = T0 + 1000;
    ingest(
        &mut engine,
        now,
        &leaf.counters(DataSource { class: 2, index: 1 }, &[host_descr(b"leaf1")]),
    );
    ingest(
        &mut engine,
        now,
        &leaf.counters(
            DataSource { class: 0, index: 3 },
            &[CounterRecord::PortName(PortName { name: b"swp1" })],
        ),
    );
    engine.tick(now);
    ingest(&mut engine, now, &leaf.flow(3, HOST_MAC, OTHER_MAC));
    ingest(&mut engine, now, &leaf.flow(4, HOST_MAC, OTHER_MAC));
    assert_eq!(
        keys(&engine, now, "edges"),
        ["L1,10.0.0.1", "L1,10.0.0.2", "edge,10.0.0.1"],
        "leaf port 3 is now on L1; port 4 is on no link"
    );

    // A new topology without links: the link table is rebuilt at once.
    if let Err(err) = engine.set_topology(now, Topology::default()) {
        panic!("{err}");
    }
    define(&mut engine, "links", "link:inputifindex", None);
    ingest(&mut engine, now, &leaf.flow(3, HOST_MAC, OTHER_MAC));
    ingest(&mut engine, now, &spine.flow(52, HOST_MAC, OTHER_MAC));
    assert!(keys(&engine, now, "links").is_empty());
}

#[test]
fn oui_numbers_and_names_from_the_installed_table() {
    let mut engine = Engine::default();
    define(
        &mut engine,
        "vendors",
        "null:[oui:macsource]:unknown,oui:macsource:number",
        None,
    );
    define(&mut engine, "named", "oui:macdestination:name", None);
    let mut agent = Agent::new(v4(1));
    // No table yet: names are missing, numbers are not.
    ingest(&mut engine, T0, &agent.flow(1, HOST_MAC, OTHER_MAC));
    assert_eq!(keys(&engine, T0, "vendors"), ["unknown,020000"]);
    assert!(keys(&engine, T0, "named").is_empty());

    engine.set_oui_table(OuiTable::from_entries([
        (0xD8D385, "Hewlett Packard Enterprise"),
        (0x020000, "Example Local"),
    ]));
    ingest(&mut engine, T0, &agent.flow(1, OTHER_MAC, HOST_MAC));
    assert_eq!(
        keys(&engine, T0, "vendors"),
        ["Hewlett Packard Enterprise,D8D385", "unknown,020000"]
    );
    assert_eq!(keys(&engine, T0, "named"), ["Example Local"]);
}

#[test]
fn host_attributes_learned_from_host_counter_samples() {
    let mut engine = Engine::default();
    define(
        &mut engine,
        "hosts",
        "host:macsource:host_name,host:macsource:os_name,host:macsource:machine_type,null:[host:macdestination:host_name]:unknown",
        None,
    );
    define(
        &mut engine,
        "uuids",
        "host:macsource:uuid,host:macsource:os_release",
        None,
    );
    let (mut host, mut switch) = (Agent::new(v4(9)), Agent::new(v4(1)));

    // Unknown MAC: the sample is dropped.
    ingest(&mut engine, T0, &switch.flow(1, HOST_MAC, OTHER_MAC));
    assert!(keys(&engine, T0, "hosts").is_empty());

    let macs = MacList::to_raw(&[MacAddr(HOST_MAC)]);
    let adapters = AdapterList::to_raw(&[Adapter {
        if_index: 2,
        macs: MacList::from_raw(&macs),
    }]);
    let Some(adapters) = AdapterList::from_raw(1, &adapters) else {
        panic!("adapter list does not round-trip");
    };
    let records = [
        host_descr(b"web1"),
        CounterRecord::HostAdapters(HostAdapters { adapters }),
    ];
    ingest(
        &mut engine,
        T0,
        &host.counters(DataSource { class: 2, index: 1 }, &records),
    );
    ingest(&mut engine, T0, &switch.flow(1, HOST_MAC, OTHER_MAC));
    assert_eq!(keys(&engine, T0, "hosts"), ["web1,linux,x86_64,unknown"]);
    assert_eq!(
        keys(&engine, T0, "uuids"),
        ["8a8a8a8a-8a8a-8a8a-8a8a-8a8a8a8a8a8a,6.1.0"]
    );

    // Not refreshed for longer than host_mac_timeout_ms: forgotten.
    let later = T0 + engine.config().host_mac_timeout_ms + 1;
    engine.tick(later);
    define(&mut engine, "hosts", "host:macsource:host_name", None);
    ingest(&mut engine, later, &switch.flow(1, HOST_MAC, OTHER_MAC));
    assert!(keys(&engine, later, "hosts").is_empty());
}
