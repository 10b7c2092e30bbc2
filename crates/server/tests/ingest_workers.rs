//! Several receive/decode workers on one sFlow port (`ingest_workers`, SO_REUSEPORT): datagrams from many
//! agents sent over loopback in bursts are all analysed, each agent's in order (no loss, nothing out of order),
//! and their flows reach the flow tables.

mod common;

use std::net::{Ipv4Addr, UdpSocket};
use std::time::Duration;

use common::{Agent, Api, TcpFlow, eventually, loopback_config, start};
use rtflow_server::ServerConfig;

const AGENTS: u8 = 8;
const DATAGRAMS_PER_AGENT: u64 = 200;
const SAMPLES_PER_DATAGRAM: usize = 4;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_workers_analyse_every_agent_in_order() {
    let server = start(ServerConfig {
        ingest_workers: 2,
        rcvbuf: 8 * 1024 * 1024,
        ..loopback_config()
    })
    .await;
    let sflow = server
        .sflow_addr()
        .unwrap_or_else(|| panic!("no sFlow socket"));
    #[cfg(target_os = "linux")]
    assert_eq!(
        sockets_bound_to(sflow.port()),
        2,
        "one socket per worker on the port"
    );
    let api = Api::new(server.http_addr());
    api.put_ok(
        "/flow/pairs/json",
        r#"{"keys":"agent,ipsource,ipdestination","value":"frames","t":60}"#,
    )
    .await;

    // Each agent sends from its own socket (its own source port), so the kernel spreads them over the workers.
    let senders: Vec<(Agent, UdpSocket)> = (1..=AGENTS)
        .map(|i| {
            let socket =
                UdpSocket::bind("127.0.0.1:0").unwrap_or_else(|e| panic!("sender socket: {e}"));
            (Agent::new(Ipv4Addr::new(10, 0, 1, i), 3, 100), socket)
        })
        .collect();
    let mut senders = senders;
    for round in 0..DATAGRAMS_PER_AGENT {
        for (agent, socket) in &mut senders {
            let flows: Vec<TcpFlow> = (0..SAMPLES_PER_DATAGRAM as u16)
                .map(|f| TcpFlow {
                    src: agent.address,
                    dst: Ipv4Addr::new(192, 168, 0, 1),
                    sport: 10_000 + f,
                    dport: 80,
                })
                .collect();
            let datagram = agent.flow_datagram(1_000 + round as u32, &flows, 1_000);
            socket
                .send_to(&datagram, sflow)
                .unwrap_or_else(|e| panic!("send: {e}"));
        }
        if round % 50 == 49 {
            // Bursts, not a flood: the test checks ordering and completeness, not the receive buffer.
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    let total = u64::from(AGENTS) * DATAGRAMS_PER_AGENT;
    let analyzer = eventually(Duration::from_secs(20), "every datagram ingested", || {
        let api = &api;
        async move {
            let analyzer = api.get("/analyzer/json").await;
            (analyzer["sFlowDatagramsReceived"].as_u64() == Some(total)).then_some(analyzer)
        }
    })
    .await;
    assert_eq!(analyzer["sFlowDatagramsDiscarded"], 0, "{analyzer}");
    assert_eq!(
        analyzer["sFlowFlowSamples"].as_u64(),
        Some(total * SAMPLES_PER_DATAGRAM as u64),
        "{analyzer}"
    );
    let agents = api.get("/agents/json").await;
    for i in 1..=AGENTS {
        let agent = format!("10.0.1.{i}");
        let stats = &agents[&agent];
        assert!(stats.is_object(), "{agent} missing: {agents}");
        for counter in [
            "sFlowDatagramsLost",
            "sFlowDatagramsOutOfOrder",
            "sFlowFlowLostSamples",
        ] {
            assert_eq!(stats[counter], 0, "{agent} {counter}: {stats}");
        }
        assert_eq!(
            stats["sFlowDatagramsReceived"].as_u64(),
            Some(DATAGRAMS_PER_AGENT),
            "{agent}: {stats}"
        );
        let flows = api
            .get(&format!("/activeflows/{agent}/pairs/json?maxFlows=10"))
            .await;
        let keys: Vec<&str> = flows
            .as_array()
            .map(|a| a.iter().filter_map(|f| f["key"].as_str()).collect())
            .unwrap_or_default();
        assert_eq!(keys, [format!("{agent},{agent},192.168.0.1")], "{flows}");
    }
    server.shutdown().await;
}

/// How many UDP sockets (IPv4 and IPv6 tables) are bound to `port`.
#[cfg(target_os = "linux")]
fn sockets_bound_to(port: u16) -> usize {
    ["/proc/net/udp", "/proc/net/udp6"]
        .iter()
        .filter_map(|table| std::fs::read_to_string(table).ok())
        .flat_map(|text| {
            text.lines()
                .skip(1)
                .filter_map(|line| {
                    let local = line.split_whitespace().nth(1)?;
                    u16::from_str_radix(local.rsplit(':').next()?, 16).ok()
                })
                .collect::<Vec<_>>()
        })
        .filter(|bound| *bound == port)
        .count()
}

/// Spoofed agents with random data-source ids over UDP against a 1 MiB budget: the engine's estimate stays
/// within it, agents are evicted, a real agent sending all along is still analysed, and the figures are in
/// `/analyzer/json` and Prometheus.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spoofed_agents_stay_within_the_memory_budget_and_real_agents_are_analysed() {
    let budget: u64 = 1024 * 1024;
    let mut config = ServerConfig {
        rcvbuf: 8 * 1024 * 1024,
        ..loopback_config()
    };
    config.engine.memory_budget_bytes = budget as usize;
    let server = start(config).await;
    let sflow = server
        .sflow_addr()
        .unwrap_or_else(|| panic!("no sFlow socket"));
    let api = Api::new(server.http_addr());
    api.put_ok("/flow/src/json", r#"{"keys":"ipsource","value":"frames"}"#)
        .await;
    let socket = UdpSocket::bind("127.0.0.1:0").unwrap_or_else(|e| panic!("socket: {e}"));
    let mut real = Agent::new(Ipv4Addr::new(192, 0, 2, 1), 1, 100);
    let flow = TcpFlow {
        src: Ipv4Addr::new(10, 1, 1, 1),
        dst: Ipv4Addr::new(10, 2, 2, 2),
        sport: 1234,
        dport: 80,
    };
    let spoofed_total: u32 = 2_000;
    let mut sent = 0u64;
    for n in 0..spoofed_total {
        let address = Ipv4Addr::from(0x0a80_0000 + n);
        let if_index = n.wrapping_mul(2_654_435_761) % 1_000_000 + 1;
        let mut spoofed = Agent::new(address, if_index, 100);
        let datagram = spoofed.flow_datagram(1_000, &[flow], 1_000);
        socket
            .send_to(&datagram, sflow)
            .unwrap_or_else(|e| panic!("send: {e}"));
        sent += 1;
        if n % 20 == 0 {
            let datagram = real.flow_datagram(1_000 + n, &[flow], 1_000);
            socket
                .send_to(&datagram, sflow)
                .unwrap_or_else(|e| panic!("send: {e}"));
            sent += 1;
        }
        if n % 200 == 199 {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
    let analyzer = eventually(Duration::from_secs(20), "every datagram ingested", || {
        let api = &api;
        async move {
            let analyzer = api.get("/analyzer/json").await;
            (analyzer["sFlowDatagramsReceived"].as_u64() == Some(sent)).then_some(analyzer)
        }
    })
    .await;
    let estimated = analyzer["engineMemoryEstimated"]
        .as_u64()
        .unwrap_or(u64::MAX);
    assert!(estimated <= budget, "{analyzer}");
    assert_eq!(analyzer["engineMemoryBudget"].as_u64(), Some(budget));
    assert!(
        analyzer["sFlowAgentsEvicted"].as_u64().unwrap_or(0) > 0,
        "{analyzer}"
    );
    assert!(
        analyzer["sFlowAgents"].as_u64().unwrap_or(u64::MAX) < u64::from(spoofed_total),
        "{analyzer}"
    );
    let agents = api.get("/agents/json?agent=192.0.2.1").await;
    let stats = &agents["192.0.2.1"];
    assert_eq!(
        stats["sFlowDatagramsReceived"].as_u64(),
        Some(u64::from(spoofed_total / 20)),
        "the real agent was analysed all along: {agents}"
    );
    assert_eq!(stats["sFlowDatagramsLost"], 0, "{stats}");
    let prometheus = api.get_text("/prometheus/analyzer/txt").await;
    let gauge = |name: &str| -> Option<u64> {
        prometheus
            .lines()
            .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
    };
    assert_eq!(
        gauge("sflow_analyzer_engine_memory_budget_bytes"),
        Some(budget),
        "{prometheus}"
    );
    assert!(
        gauge("sflow_analyzer_engine_memory_estimated_bytes").is_some_and(|bytes| bytes <= budget),
        "{prometheus}"
    );
    assert!(
        prometheus
            .lines()
            .any(|l| l.starts_with("sflow_analyzer_evicted_agents ")),
        "{prometheus}"
    );
    server.shutdown().await;
}

/// SO_REUSEPORT would let a second server (same user) join the first one's port and silently take half of the
/// agents: it is refused as a busy port, as with one worker.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_server_on_the_same_port_is_refused() {
    let first = start(ServerConfig {
        ingest_workers: 2,
        ..loopback_config()
    })
    .await;
    let port = first
        .sflow_addr()
        .unwrap_or_else(|| panic!("no sFlow socket"))
        .port();
    let second = rtflow_server::Server::start(ServerConfig {
        ingest_workers: 2,
        sflow_port: port,
        ..loopback_config()
    })
    .await;
    match second {
        Ok(_) => panic!("a second server bound the sFlow port {port} in use"),
        Err(err) => assert!(err.to_string().contains(&port.to_string()), "{err}"),
    }
    first.shutdown().await;
}
