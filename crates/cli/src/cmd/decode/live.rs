//! Live input: a dual-stack UDP listener (IPv6 socket accepting IPv4-mapped peers) with a large
//! receive buffer, or IPv4-only / IPv6-only with `-4` / `-6`.

use std::io::{self, Write};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, UdpSocket};
use std::process::ExitCode;

use anyhow::Context;
use rtflow_capture::Timestamp;
use rtflow_sflowtool::DatagramInfo;
use socket2::{Domain, Protocol, Socket, Type};

use super::DecodeArgs;
use super::output::{Decoder, Input, Progress};

/// Requested kernel receive buffer, so bursts survive while stdout catches up.
const RECEIVE_BUFFER: usize = 8 << 20;

pub(super) fn listen(
    args: &DecodeArgs,
    mut decoder: Decoder<impl Write>,
) -> anyhow::Result<ExitCode> {
    let socket = bind(args)?;
    let local = socket.local_addr().context("reading the bound address")?;
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

fn bind(args: &DecodeArgs) -> anyhow::Result<UdpSocket> {
    if let Some(address) = args.bind {
        let wrong_family =
            (address.is_ipv6() && args.ipv4_only) || (address.is_ipv4() && args.ipv6_only);
        if wrong_family {
            anyhow::bail!("-b {address} is not an address of the family asked for with -4/-6");
        }
        // An IPv6 address accepts IPv4-mapped peers too unless -6 says otherwise (only the
        // unspecified address `::` can receive them).
        return open(SocketAddr::new(address, args.port), args.ipv6_only);
    }
    if args.ipv4_only {
        return open(
            SocketAddr::new(Ipv4Addr::UNSPECIFIED.into(), args.port),
            false,
        );
    }
    let v6 = SocketAddr::new(Ipv6Addr::UNSPECIFIED.into(), args.port);
    match open(v6, args.ipv6_only) {
        Ok(socket) => Ok(socket),
        // No IPv6 on this host: fall back to IPv4 unless IPv6 was asked for.
        Err(_) if !args.ipv6_only => open(
            SocketAddr::new(Ipv4Addr::UNSPECIFIED.into(), args.port),
            false,
        ),
        Err(err) => Err(err),
    }
}

fn open(addr: SocketAddr, v6_only: bool) -> anyhow::Result<UdpSocket> {
    let socket = Socket::new(Domain::for_address(addr), Type::DGRAM, Some(Protocol::UDP))
        .with_context(|| format!("creating a UDP socket for {addr}"))?;
    if addr.is_ipv6() {
        socket
            .set_only_v6(v6_only)
            .context("configuring the IPv6 socket")?;
    }
    // The kernel may grant less than asked (net.core.rmem_max); that is not an error.
    let _ = socket.set_recv_buffer_size(RECEIVE_BUFFER);
    socket
        .bind(&addr.into())
        .with_context(|| format!("binding UDP {addr}"))?;
    Ok(socket.into())
}
