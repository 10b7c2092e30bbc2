//! Live input: a dual-stack UDP listener (IPv6 socket accepting IPv4-mapped peers) with a large
//! receive buffer, or IPv4-only / IPv6-only with `-4` / `-6`.

use std::io::{self, Write};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::process::ExitCode;

use anyhow::Context;
use rtflow_capture::Timestamp;
use rtflow_net::{Family, ListenOptions, Listener, SOCKET_BUFFER, bind_listener};
use rtflow_sflowtool::DatagramInfo;

use super::DecodeArgs;
use super::output::{Decoder, Input, Progress};

pub(super) fn listen(
    args: &DecodeArgs,
    mut decoder: Decoder<impl Write>,
) -> anyhow::Result<ExitCode> {
    let Listener {
        socket,
        local_addr: local,
        ..
    } = bind(args)?;
    let _ = writeln!(
        io::stderr().lock(),
        "rtflow decode: listening on {local} (UDP)"
    );
    let mut buf = vec![0u8; 65_536];
    let mut index = 0u64;
    loop {
        let (len, peer) = match socket.recv_from(&mut buf) {
            Ok(received) => received,
            Err(err) if err.kind() == io::ErrorKind::Interrupted => continue,
            Err(err) => return Err(err).context("receiving UDP"),
        };
        index += 1;
        let now = Timestamp::now();
        let source = unmap(peer.ip());
        // The socket listens on the unspecified address: -M frames name it in the peer's family.
        let to = match source {
            IpAddr::V4(_) => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            IpAddr::V6(_) => IpAddr::V6(Ipv6Addr::UNSPECIFIED),
        };
        let input = Input {
            payload: buf.get(..len).unwrap_or_default(),
            info: DatagramInfo {
                source: Some(source),
                received: Some(now),
                pcap_timestamp: None,
            },
            timestamp: now,
            src: SocketAddr::new(source, peer.port()),
            dst: SocketAddr::new(to, local.port()),
        };
        let origin = format_args!("datagram #{index} from {peer}");
        let progress = decoder
            .handle(&input, origin)
            .and_then(|progress| decoder.flush().map(|()| progress));
        match progress {
            Ok(Progress::Continue) => {}
            Ok(Progress::Done) => return Ok(ExitCode::SUCCESS),
            Err(err) if err.kind() == io::ErrorKind::BrokenPipe => return Ok(ExitCode::SUCCESS),
            Err(err) => return Err(err).context("writing output"),
        }
    }
}

/// IPv4 peers of a dual-stack socket appear as `::ffff:a.b.c.d`; report them as IPv4.
fn unmap(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

fn bind(args: &DecodeArgs) -> anyhow::Result<Listener> {
    if let Some(address) = args.bind {
        let wrong_family =
            (address.is_ipv6() && args.ipv4_only) || (address.is_ipv4() && args.ipv6_only);
        if wrong_family {
            anyhow::bail!("-b {address} is not an address of the family asked for with -4/-6");
        }
    }
    // Without -b: dual-stack `[::]` (IPv4 peers appear IPv4-mapped), falling back to IPv4 on
    // hosts without IPv6 unless -6 asks for IPv6 only.
    let family = match (args.ipv4_only, args.ipv6_only) {
        (true, _) => Family::Ipv4Only,
        (false, true) => Family::Ipv6Only,
        (false, false) => Family::Any,
    };
    let options = ListenOptions {
        family,
        recv_buffer: SOCKET_BUFFER,
    };
    Ok(bind_listener(args.bind, args.port, options)?)
}
