//! sflowtool's NetFlow export, `-c HOST -d PORT [-e] [-s] [-S] [-N 5|9]`: the NetFlow packets
//! made by [`NetflowExporter`] go to the collector over UDP, or with `-S` from a raw socket with
//! the sFlow agent's IPv4 address as their source (which needs root or CAP_NET_RAW).
//!
//! `-c` also means COUNT (stop after COUNT datagrams or packets): a number is a count, anything
//! else (an IPv4/IPv6 address or a host name) the NetFlow collector.

use std::io::{self, Write};
use std::net::{IpAddr, SocketAddr, ToSocketAddrs, UdpSocket};
use std::sync::Arc;

use anyhow::{Context, bail};
use rtflow_capture::Timestamp;
use rtflow_sflow::Address;
use rtflow_sflowtool::{
    NetflowExporter, NetflowOptions, NetflowPacket, NetflowVersion, VlanFilter,
};
use socket2::{Domain, Protocol, Socket, Type};

/// One `-c` value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum CountOrHost {
    /// `-c 1000`: stop after 1000 datagrams (packets with -t/-T/-M).
    Count(u64),
    /// `-c 10.0.0.50` or `-c collector.example.net`: the NetFlow collector.
    Host(String),
}

pub(super) fn parse_count_or_host(text: &str) -> Result<CountOrHost, String> {
    if text.is_empty() {
        return Err("expected a COUNT (e.g. 1000) or a NetFlow collector HOST".to_string());
    }
    if text.bytes().all(|b| b.is_ascii_digit()) {
        return text
            .parse()
            .map(CountOrHost::Count)
            .map_err(|_| format!("{text} is too large for a count"));
    }
    Ok(CountOrHost::Host(text.to_string()))
}

pub(super) fn parse_version(text: &str) -> Result<NetflowVersion, String> {
    match text {
        "5" => Ok(NetflowVersion::V5),
        "9" => Ok(NetflowVersion::V9),
        _ => Err(format!("invalid NetFlow version {text:?} (use 5 or 9)")),
    }
}

/// The collector of `HOST` and `-d PORT`.
pub(super) fn collector(host: &str, port: u16) -> anyhow::Result<SocketAddr> {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    if let Ok(ip) = host.parse::<IpAddr>() {
        return Ok(SocketAddr::new(ip, port));
    }
    (host, port)
        .to_socket_addrs()
        .with_context(|| format!("-c {host}: cannot resolve the NetFlow collector"))?
        .next()
        .with_context(|| format!("-c {host}: the NetFlow collector has no address"))
}

/// Sends the NetFlow packets of each datagram.
pub(super) struct NetflowSender {
    exporter: NetflowExporter,
    collector: SocketAddr,
    socket: UdpSocket,
    /// `-S`: a raw IPv4 socket and the frame buffer for the spoofed packets.
    spoof: Option<(Socket, Vec<u8>)>,
    quiet: bool,
    failures_reported: bool,
}

impl NetflowSender {
    pub(super) fn new(
        collector: SocketAddr,
        options: NetflowOptions,
        spoof: bool,
        vlans: Option<Arc<VlanFilter>>,
        quiet: bool,
    ) -> anyhow::Result<Self> {
        let socket = rtflow_net::sender_for(collector)
            .with_context(|| format!("opening a UDP socket to send NetFlow to {collector}"))?;
        let spoof = match (spoof, collector) {
            (false, _) => None,
            (true, SocketAddr::V6(_)) => {
                bail!("-S: spoofing the source of NetFlow packets works for IPv4 collectors only")
            }
            (true, SocketAddr::V4(_)) => {
                let raw = Socket::new(Domain::IPV4, Type::RAW, Some(Protocol::UDP)).context(
                    "-S: opening a raw socket to send NetFlow with the agents' addresses \
                     (needs root or CAP_NET_RAW)",
                )?;
                raw.set_header_included_v4(true)
                    .context("-S: configuring the raw socket")?;
                Some((raw, Vec::with_capacity(256)))
            }
        };
        let mut exporter = NetflowExporter::new(options);
        if let Some(vlans) = vlans {
            exporter = exporter.with_vlan_filter(vlans);
        }
        Ok(NetflowSender {
            exporter,
            collector,
            socket,
            spoof,
            quiet,
            failures_reported: false,
        })
    }

    /// Exports the flow samples of one sFlow datagram.
    pub(super) fn export(&mut self, payload: &[u8], time: Timestamp) {
        let (collector, socket, spoof) = (self.collector, &self.socket, &mut self.spoof);
        let mut failure = None;
        self.exporter.export(payload, time, |packet| {
            if let Err(err) = send(collector, socket, spoof, packet) {
                failure.get_or_insert(err);
            }
        });
        if let Some(err) = failure
            && !self.quiet
            && !self.failures_reported
        {
            // Once: a collector that is down would otherwise flood stderr.
            self.failures_reported = true;
            let _ = writeln!(
                io::stderr().lock(),
                "rtflow decode: sending NetFlow to {collector} failed: {err} (further failures \
                 are not reported)"
            );
        }
    }
}

fn send(
    collector: SocketAddr,
    socket: &UdpSocket,
    spoof: &mut Option<(Socket, Vec<u8>)>,
    packet: NetflowPacket<'_>,
) -> io::Result<()> {
    if let (Some((raw, frame)), Address::V4(agent), SocketAddr::V4(to)) =
        (spoof, packet.agent, collector)
    {
        // Source port = destination port, as sflowtool sends them.
        let from = SocketAddr::new(IpAddr::V4(agent), to.port());
        rtflow_capture::build_udp_frame_into(frame, from, collector, packet.bytes)
            .map_err(io::Error::other)?;
        // The kernel fills in the IP identification of a raw IP header that leaves it 0.
        let ip_packet = frame.get(14..).unwrap_or_default();
        raw.send_to(ip_packet, &collector.into())?;
        return Ok(());
    }
    socket.send_to(packet.bytes, collector).map(drop)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_counts_and_anything_else_a_collector() {
        assert_eq!(parse_count_or_host("1000"), Ok(CountOrHost::Count(1000)));
        assert_eq!(
            parse_count_or_host("10.0.0.50"),
            Ok(CountOrHost::Host("10.0.0.50".into()))
        );
        assert_eq!(
            parse_count_or_host("::1"),
            Ok(CountOrHost::Host("::1".into()))
        );
        assert_eq!(
            parse_count_or_host("collector"),
            Ok(CountOrHost::Host("collector".into()))
        );
        assert!(parse_count_or_host("99999999999999999999999").is_err());
        assert!(parse_count_or_host("").is_err());
        assert_eq!(parse_version("9"), Ok(NetflowVersion::V9));
        assert!(parse_version("7").is_err());
    }
}
