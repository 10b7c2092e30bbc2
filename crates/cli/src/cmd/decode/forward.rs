//! `-f HOST/PORT`: every received datagram is sent on unchanged to each target over UDP, as
//! sflowtool's forwarding does (send errors are reported and do not stop decoding).

use std::io::{self, Write};
use std::net::{SocketAddr, ToSocketAddrs, UdpSocket};

use anyhow::Context;

/// Parses `HOST/PORT` (`HOST` a name, an IPv4 address or an IPv6 address, brackets optional).
pub(super) fn parse_target(text: &str) -> Result<SocketAddr, String> {
    let (host, port) = text
        .rsplit_once('/')
        .ok_or_else(|| format!("expected HOST/PORT (e.g. 10.0.0.50/6343), found {text:?}"))?;
    let port: u16 = port
        .parse()
        .ok()
        .filter(|&port| port != 0)
        .ok_or_else(|| format!("{port:?} is not a UDP port (1-65535)"))?;
    let host = host.trim_start_matches('[').trim_end_matches(']');
    if host.is_empty() {
        return Err(format!("no host in {text:?}"));
    }
    (host, port)
        .to_socket_addrs()
        .map_err(|err| format!("cannot resolve {host:?}: {err}"))?
        .next()
        .ok_or_else(|| format!("{host:?} has no address"))
}

pub(super) struct Forwarder {
    targets: Vec<(SocketAddr, UdpSocket)>,
}

impl Forwarder {
    /// Opens one unconnected UDP socket per target.
    pub(super) fn new(targets: &[SocketAddr]) -> anyhow::Result<Self> {
        let targets = targets
            .iter()
            .map(|&target| {
                let socket = rtflow_net::sender_for(target)
                    .with_context(|| format!("opening a UDP socket to forward to {target}"))?;
                Ok((target, socket))
            })
            .collect::<anyhow::Result<_>>()?;
        Ok(Forwarder { targets })
    }

    pub(super) fn send(&self, payload: &[u8], quiet: bool) {
        for (target, socket) in &self.targets {
            if let Err(err) = socket.send_to(payload, target)
                && !quiet
            {
                let _ = writeln!(
                    io::stderr().lock(),
                    "rtflow decode: forwarding to {target} failed: {err}"
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_parse_and_bad_ones_say_why() {
        assert_eq!(
            parse_target("127.0.0.1/6343"),
            Ok("127.0.0.1:6343".parse().unwrap())
        );
        assert_eq!(parse_target("::1/9"), Ok("[::1]:9".parse().unwrap()));
        assert_eq!(parse_target("[::1]/9"), Ok("[::1]:9".parse().unwrap()));
        let err = |text| parse_target(text).unwrap_err();
        assert!(err("127.0.0.1:6343").contains("expected HOST/PORT"));
        assert!(err("127.0.0.1/0").contains("not a UDP port"));
        assert!(err("127.0.0.1/70000").contains("not a UDP port"));
        assert!(err("/6343").contains("no host"));
    }
}
