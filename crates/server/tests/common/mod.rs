//! Shared helpers of the server integration tests: an in-process server on loopback with ephemeral ports,
//! synthetic sFlow datagrams, and a small HTTP client.

#![allow(dead_code)]

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

use rtflow_server::{Server, ServerConfig};
use rtflow_sflow::{
    Address, CounterRecord, CounterSampleInfo, DataSource, DatagramBuilder, DatagramHeader,
    FlowRecord, FlowSampleInfo, GenericInterfaceCounters, Interface, SampledHeader,
};
use serde_json::Value;

pub(crate) const LOOPBACK: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);

/// A config listening on loopback with ephemeral ports.
pub(crate) fn loopback_config() -> ServerConfig {
    ServerConfig {
        sflow_port: 0,
        sflow_bind: Some(LOOPBACK),
        http_port: 0,
        http_bind: Some(LOOPBACK),
        rcvbuf: 1024 * 1024,
        ..ServerConfig::default()
    }
}

pub(crate) async fn start(config: ServerConfig) -> Server {
    match Server::start(config).await {
        Ok(server) => server,
        Err(err) => panic!("server did not start: {err}"),
    }
}

/// A TCP/IPv4 flow of the synthetic traffic.
#[derive(Clone, Copy, Debug)]
pub(crate) struct TcpFlow {
    pub src: Ipv4Addr,
    pub dst: Ipv4Addr,
    pub sport: u16,
    pub dport: u16,
}

impl TcpFlow {
    pub(crate) fn key(&self) -> String {
        format!("{},{}", self.src, self.dst)
    }
}

/// The first 54 bytes (Ethernet + IPv4 + TCP) of a frame of `frame_length` bytes (FCS included, 4 stripped).
pub(crate) fn tcp_header(flow: &TcpFlow, frame_length: u32) -> Vec<u8> {
    let ip_total = (frame_length - 14 - 4) as u16;
    let mut h = Vec::with_capacity(54);
    h.extend_from_slice(&[0x02, 0, 0, 0, 0, 2, 0x02, 0, 0, 0, 0, 1, 0x08, 0x00]);
    h.extend_from_slice(&[0x45, 0]);
    h.extend_from_slice(&ip_total.to_be_bytes());
    h.extend_from_slice(&[0, 1, 0x40, 0, 64, 6, 0, 0]);
    h.extend_from_slice(&flow.src.octets());
    h.extend_from_slice(&flow.dst.octets());
    h.extend_from_slice(&flow.sport.to_be_bytes());
    h.extend_from_slice(&flow.dport.to_be_bytes());
    h.extend_from_slice(&[0, 0, 0, 1, 0, 0, 0, 0, 0x50, 0x18, 0xff, 0xff, 0, 0, 0, 0]);
    h
}

/// Builds the datagrams of one agent, keeping the datagram and per-source sample sequence numbers.
pub(crate) struct Agent {
    pub address: Ipv4Addr,
    pub if_index: u32,
    pub sampling_rate: u32,
    datagram_seq: u32,
    flow_seq: u32,
    counter_seq: u32,
    pool: u32,
}

impl Agent {
    pub(crate) fn new(address: Ipv4Addr, if_index: u32, sampling_rate: u32) -> Self {
        Self {
            address,
            if_index,
            sampling_rate,
            datagram_seq: 0,
            flow_seq: 0,
            counter_seq: 0,
            pool: 0,
        }
    }

    fn builder(&mut self, uptime_ms: u32) -> DatagramBuilder {
        self.datagram_seq += 1;
        DatagramBuilder::new(DatagramHeader {
            agent: Address::V4(self.address),
            sub_agent_id: 0,
            sequence_number: self.datagram_seq,
            uptime_ms,
        })
    }

    /// One datagram with a flow sample of `frame_length` bytes for every entry of `flows`.
    pub(crate) fn flow_datagram(
        &mut self,
        uptime_ms: u32,
        flows: &[TcpFlow],
        frame_length: u32,
    ) -> Vec<u8> {
        let mut builder = self.builder(uptime_ms);
        for flow in flows {
            self.flow_seq += 1;
            self.pool = self.pool.wrapping_add(self.sampling_rate);
            let header = tcp_header(flow, frame_length);
            builder.flow_sample(
                &FlowSampleInfo {
                    sequence_number: self.flow_seq,
                    source_id: DataSource {
                        class: 0,
                        index: self.if_index,
                    },
                    sampling_rate: self.sampling_rate,
                    sample_pool: self.pool,
                    input: Interface::index(self.if_index),
                    output: Interface::index(self.if_index + 1),
                    ..Default::default()
                },
                &[FlowRecord::SampledHeader(SampledHeader {
                    protocol: 1,
                    frame_length,
                    stripped: 4,
                    header: &header,
                })],
            );
        }
        builder.finish()
    }

    /// One datagram with a generic-interface counter sample.
    pub(crate) fn counter_datagram(
        &mut self,
        uptime_ms: u32,
        in_octets: u64,
        out_octets: u64,
    ) -> Vec<u8> {
        let mut builder = self.builder(uptime_ms);
        self.counter_seq += 1;
        builder.counter_sample(
            &CounterSampleInfo {
                sequence_number: self.counter_seq,
                source_id: DataSource {
                    class: 0,
                    index: self.if_index,
                },
                expanded: false,
            },
            &[CounterRecord::GenericInterface(GenericInterfaceCounters {
                if_index: self.if_index,
                if_type: 6,
                if_speed: 1_000_000_000,
                if_direction: 1,
                if_status: 3,
                if_in_octets: in_octets,
                if_out_octets: out_octets,
                ..Default::default()
            })],
        );
        builder.finish()
    }
}

/// Minimal HTTP client bound to one server.
pub(crate) struct Api {
    pub base: String,
    pub client: reqwest::Client,
}

impl Api {
    pub(crate) fn new(addr: SocketAddr) -> Self {
        Self {
            base: format!("http://{addr}"),
            client: reqwest::Client::builder()
                .timeout(Duration::from_secs(30))
                .build()
                .unwrap_or_else(|e| panic!("client: {e}")),
        }
    }

    pub(crate) async fn request(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<&str>,
    ) -> (u16, String) {
        let mut request = self.client.request(method, format!("{}{path}", self.base));
        if let Some(body) = body {
            request = request.body(body.to_string());
        }
        let response = request
            .send()
            .await
            .unwrap_or_else(|e| panic!("request {path}: {e}"));
        let status = response.status().as_u16();
        let text = response
            .text()
            .await
            .unwrap_or_else(|e| panic!("body of {path}: {e}"));
        (status, text)
    }

    pub(crate) async fn get_text(&self, path: &str) -> String {
        let (status, text) = self.request(reqwest::Method::GET, path, None).await;
        assert_eq!(status, 200, "GET {path}: {text}");
        text
    }

    pub(crate) async fn get(&self, path: &str) -> Value {
        let text = self.get_text(path).await;
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("GET {path}: {e}: {text}"))
    }

    pub(crate) async fn put(&self, path: &str, body: &str) -> (u16, String) {
        self.request(reqwest::Method::PUT, path, Some(body)).await
    }

    pub(crate) async fn put_ok(&self, path: &str, body: &str) {
        let (status, text) = self.put(path, body).await;
        assert_eq!(status, 204, "PUT {path}: {text}");
    }

    pub(crate) async fn delete(&self, path: &str) -> (u16, String) {
        self.request(reqwest::Method::DELETE, path, None).await
    }
}

/// `|actual / expected - 1| <= tolerance`.
pub(crate) fn assert_close(actual: f64, expected: f64, tolerance: f64, what: &str) {
    let error = (actual / expected - 1.0).abs();
    assert!(
        error <= tolerance,
        "{what}: {actual} is {:.2}% from {expected}",
        error * 100.0
    );
}

/// Polls `check` every 50 ms until it returns `Some`, or panics after `timeout`.
pub(crate) async fn eventually<T, F, Fut>(timeout: Duration, what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Sends `datagram` to the server's sFlow socket `sflow` and waits until `/analyzer/json` has received
/// `received` datagrams in all (so a test can move a manual engine clock only once the server has it).
pub(crate) async fn send_and_await(api: &Api, sflow: SocketAddr, datagram: &[u8], received: u64) {
    let sender = std::net::UdpSocket::bind("127.0.0.1:0").unwrap_or_else(|e| panic!("sender: {e}"));
    sender
        .send_to(datagram, sflow)
        .unwrap_or_else(|e| panic!("send: {e}"));
    eventually(Duration::from_secs(5), "the datagram ingested", || async {
        (api.get("/analyzer/json").await["sFlowDatagramsReceived"] == received).then_some(())
    })
    .await;
}

/// Writes a pcap of `(offset ms, source, sFlow datagram)` frames sent to 127.0.0.1:6343, the capture's
/// clock starting at 1,700,000,000 s.
pub(crate) fn write_capture(path: &std::path::Path, datagrams: &[(u64, SocketAddr, Vec<u8>)]) {
    use rtflow_capture::{LinkType, PcapWriter, Timestamp, build_udp_frame};
    let file = std::fs::File::create(path).unwrap_or_else(|e| panic!("create pcap: {e}"));
    let mut writer = PcapWriter::new(std::io::BufWriter::new(file), LinkType(1), 0)
        .unwrap_or_else(|e| panic!("pcap header: {e}"));
    let collector = SocketAddr::new(LOOPBACK, 6343);
    for (offset, source, datagram) in datagrams {
        let frame =
            build_udp_frame(*source, collector, datagram).unwrap_or_else(|e| panic!("frame: {e}"));
        let ts = Timestamp::new(
            1_700_000_000 + offset / 1000,
            (offset % 1000) as u32 * 1_000_000,
        );
        writer
            .write_packet(ts, frame.len() as u32, &frame)
            .unwrap_or_else(|e| panic!("write: {e}"));
    }
    writer.flush().unwrap_or_else(|e| panic!("flush: {e}"));
}
