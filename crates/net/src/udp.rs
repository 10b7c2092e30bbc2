//! UDP sockets as rtflow binds them. A listener asks the kernel for a large receive buffer
//! ([`SOCKET_BUFFER`] by default; a collector that reads more slowly than a burst arrives drops
//! datagrams otherwise) and, without an address, binds `[::]` dual-stack so IPv4 agents are
//! heard too, falling back to `0.0.0.0` on hosts without IPv6.

use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, UdpSocket};

use socket2::{Domain, Protocol, Socket, Type};

/// Kernel socket buffer rtflow asks for by default (8 MiB). The kernel may grant less
/// (`net.core.rmem_max` / `wmem_max`); that is not an error.
pub const SOCKET_BUFFER: usize = 8 << 20;

/// Which address families a listener without an address accepts.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Family {
    /// `[::]` dual-stack, or `0.0.0.0` where the host has no IPv6.
    #[default]
    Any,
    /// `0.0.0.0` only.
    Ipv4Only,
    /// `[::]` without IPv4-mapped peers, and no fallback.
    Ipv6Only,
}

/// How a listener is bound.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ListenOptions {
    /// Families accepted (with an explicit IPv6 address, [`Family::Ipv6Only`] also refuses
    /// IPv4-mapped peers on `::`).
    pub family: Family,
    /// Receive buffer to ask for, in bytes; 0 keeps the kernel's default.
    pub recv_buffer: usize,
}

impl Default for ListenOptions {
    fn default() -> Self {
        ListenOptions {
            family: Family::Any,
            recv_buffer: SOCKET_BUFFER,
        }
    }
}

/// A bound listening socket and what the kernel granted.
#[derive(Debug)]
pub struct Listener {
    /// The socket (blocking, no read timeout).
    pub socket: UdpSocket,
    /// The address it is bound to (with the port the kernel chose for port 0).
    pub local_addr: SocketAddr,
    /// `SO_RCVBUF` as the kernel reports it (Linux reports twice the usable size).
    pub granted_recv_buffer: usize,
    /// Why the dual-stack `[::]` bind failed, when the listener fell back to `0.0.0.0`.
    pub fallback_from: Option<BindError>,
}

/// A UDP socket could not be created, configured or bound to `addr`.
#[derive(Debug, thiserror::Error)]
#[error("binding UDP {addr}")]
pub struct BindError {
    /// The address asked for.
    pub addr: SocketAddr,
    /// The system's reason.
    #[source]
    pub source: io::Error,
}

/// Binds a listener to `bind` (any address of `options.family` when `None`) and `port` (0: any
/// free port).
pub fn bind_listener(
    bind: Option<IpAddr>,
    port: u16,
    options: ListenOptions,
) -> Result<Listener, BindError> {
    bind_first(bind, port, options, Share::Exclusive)
}

/// Binds `count` listeners (at least one) to one address and port, chosen as [`bind_listener`]
/// chooses it. With more than one, all set `SO_REUSEPORT` and the kernel spreads datagrams over
/// them by their source address and port, so each peer's datagrams stay in order on one socket.
/// Before the group binds a fixed port, a plain bind proves the port is free: with `SO_REUSEPORT`
/// alone it would also succeed next to another process's reuse-port sockets (another rtflow of the
/// same user) and silently split the traffic. Where `SO_REUSEPORT` does not exist (not Linux),
/// one listener is bound.
pub fn bind_listeners(
    bind: Option<IpAddr>,
    port: u16,
    options: ListenOptions,
    count: usize,
) -> Result<Vec<Listener>, BindError> {
    let reuse_port = cfg!(target_os = "linux") && count > 1;
    if !reuse_port {
        return Ok(vec![bind_listener(bind, port, options)?]);
    }
    let first = bind_first(bind, port, options, Share::FirstOfGroup)?;
    let shared = first.local_addr;
    let v6_only = options.family == Family::Ipv6Only;
    let mut listeners = Vec::with_capacity(count);
    listeners.push(first);
    while listeners.len() < count {
        let socket = bind_socket(
            shared,
            v6_only,
            Buffer::Receive(options.recv_buffer),
            Share::Group,
        )?;
        listeners.push(listener(socket, shared, None)?);
    }
    Ok(listeners)
}

/// How a socket shares its port.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Share {
    /// Alone.
    Exclusive,
    /// The first of a `SO_REUSEPORT` group: the port must be free.
    FirstOfGroup,
    /// A further member of a `SO_REUSEPORT` group.
    Group,
}

/// The address choice of [`bind_listener`]: `bind`, or dual-stack `[::]` falling back to `0.0.0.0`.
fn bind_first(
    bind: Option<IpAddr>,
    port: u16,
    options: ListenOptions,
    share: Share,
) -> Result<Listener, BindError> {
    let v6_only = options.family == Family::Ipv6Only;
    let buffer = Buffer::Receive(options.recv_buffer);
    let any_v4 = SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), port);
    let (socket, fallback_from) = match (bind, options.family) {
        (Some(ip), _) => (
            bind_socket(SocketAddr::new(ip, port), v6_only, buffer, share)?,
            None,
        ),
        (None, Family::Ipv4Only) => (bind_socket(any_v4, false, buffer, share)?, None),
        (None, family) => {
            let any_v6 = SocketAddr::new(IpAddr::V6(Ipv6Addr::UNSPECIFIED), port);
            match bind_socket(any_v6, v6_only, buffer, share) {
                Ok(socket) => (socket, None),
                // No IPv6 on this host: IPv4 will do unless IPv6 was asked for.
                Err(v6_err) if family == Family::Any => {
                    (bind_socket(any_v4, false, buffer, share)?, Some(v6_err))
                }
                Err(err) => return Err(err),
            }
        }
    };
    listener(
        socket,
        SocketAddr::new(bind.unwrap_or(any_v4.ip()), port),
        fallback_from,
    )
}

/// A [`Listener`] around a bound socket; `asked` names the address in an error.
fn listener(
    socket: UdpSocket,
    asked: SocketAddr,
    fallback_from: Option<BindError>,
) -> Result<Listener, BindError> {
    let local_addr = socket.local_addr().map_err(|source| BindError {
        addr: asked,
        source,
    })?;
    let granted_recv_buffer = socket2::SockRef::from(&socket)
        .recv_buffer_size()
        .unwrap_or(0);
    Ok(Listener {
        socket,
        local_addr,
        granted_recv_buffer,
        fallback_from,
    })
}

/// A socket ready to send to `target`: bound to the unspecified address of its family on any
/// port, with a [`SOCKET_BUFFER`] send buffer asked for.
pub fn sender_for(target: SocketAddr) -> Result<UdpSocket, BindError> {
    let local = match target {
        SocketAddr::V4(_) => SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), 0),
        SocketAddr::V6(_) => SocketAddr::new(IpAddr::V6(Ipv6Addr::UNSPECIFIED), 0),
    };
    bind_udp(local, false, Buffer::Send(SOCKET_BUFFER))
}

/// The kernel buffer a socket asks for (0: the kernel's default).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Buffer {
    /// `SO_RCVBUF`, raised with `SO_RCVBUFFORCE` where `net.core.rmem_max` caps it and the
    /// process may (root or `CAP_NET_ADMIN`).
    Receive(usize),
    /// `SO_SNDBUF`.
    Send(usize),
}

/// Binds one UDP socket to `addr`. An IPv6 socket accepts IPv4-mapped peers unless `v6_only`
/// (which only matters for `::`). The buffer request is best effort.
pub fn bind_udp(addr: SocketAddr, v6_only: bool, buffer: Buffer) -> Result<UdpSocket, BindError> {
    bind_socket(addr, v6_only, buffer, Share::Exclusive)
}

fn bind_socket(
    addr: SocketAddr,
    v6_only: bool,
    buffer: Buffer,
    share: Share,
) -> Result<UdpSocket, BindError> {
    let fail = |source| BindError { addr, source };
    let new_socket = || -> io::Result<Socket> {
        let socket = Socket::new(Domain::for_address(addr), Type::DGRAM, Some(Protocol::UDP))?;
        if addr.is_ipv6() {
            socket.set_only_v6(v6_only)?;
        }
        Ok(socket)
    };
    if share == Share::FirstOfGroup && addr.port() != 0 {
        // Dropped at once: it only proves the port is free.
        new_socket()
            .and_then(|probe| probe.bind(&addr.into()))
            .map_err(fail)?;
    }
    let socket = new_socket().map_err(fail)?;
    #[cfg(target_os = "linux")]
    if share != Share::Exclusive {
        socket.set_reuse_port(true).map_err(fail)?;
    }
    match buffer {
        Buffer::Receive(0) | Buffer::Send(0) => {}
        Buffer::Receive(size) => {
            let _ = request_recv_buffer(&socket, size);
        }
        Buffer::Send(size) => {
            let _ = socket.set_send_buffer_size(size);
        }
    }
    socket.bind(&addr.into()).map_err(fail)?;
    Ok(socket.into())
}

/// Asks for `size` bytes of receive buffer; when `net.core.rmem_max` caps it, tries
/// `SO_RCVBUFFORCE`, which succeeds for root / `CAP_NET_ADMIN`. What was granted can be read
/// back with `recv_buffer_size`. Returns the error of the plain `SO_RCVBUF` request, if any (the
/// forced one is tried regardless; less than asked for is not an error).
pub fn request_recv_buffer(socket: &Socket, size: usize) -> io::Result<()> {
    let requested = socket.set_recv_buffer_size(size);
    #[cfg(target_os = "linux")]
    if socket.recv_buffer_size().unwrap_or(0) < size {
        let _ = force_recv_buffer_size(socket, size);
    }
    requested
}

#[cfg(target_os = "linux")]
fn force_recv_buffer_size(socket: &Socket, size: usize) -> io::Result<()> {
    let value = libc::c_int::try_from(size).unwrap_or(libc::c_int::MAX);
    set_socket_option(socket, libc::SO_RCVBUFFORCE, &value)
}

/// `setsockopt(fd, SOL_SOCKET, name, value)`, for the options socket2 does not offer.
#[cfg(target_os = "linux")]
fn set_socket_option<T>(
    socket: &impl std::os::fd::AsRawFd,
    name: libc::c_int,
    value: &T,
) -> io::Result<()> {
    let len = libc::socklen_t::try_from(std::mem::size_of::<T>())
        .map_err(|_| io::Error::other("socket option too large"))?;
    // SAFETY: the descriptor is open, owned by the borrowed `socket`; the pointer and length describe
    // `value`, a live `T` (with any pointers in it valid for the call), which the kernel only reads.
    let rc = unsafe {
        libc::setsockopt(
            socket.as_raw_fd(),
            libc::SOL_SOCKET,
            name,
            std::ptr::from_ref(value).cast(),
            len,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// Makes a [`bind_listeners`] group spread sFlow datagrams over its sockets by the agent address inside
/// each datagram (a classic BPF program, `SO_ATTACH_REUSEPORT_CBPF`) instead of the kernel's hash of the
/// sender's address and port. Each agent's datagrams still stay in order on one socket, and the load
/// is spread however many agents share one sending socket: a relay, `rtflow replay`, or one spoofing
/// sender all arrive from one port and would otherwise land on one socket. A datagram too short to hold
/// an agent address goes to the first socket. Linux only; elsewhere, or for a group of one, it does
/// nothing.
pub fn steer_by_sflow_agent(group: &[Listener]) -> io::Result<()> {
    match group {
        [first, _, ..] => attach_agent_steering(&first.socket, group.len()),
        _ => Ok(()),
    }
}

#[cfg(target_os = "linux")]
fn attach_agent_steering(socket: &UdpSocket, members: usize) -> io::Result<()> {
    /// `SO_ATTACH_REUSEPORT_CBPF` (asm-generic/socket.h; not exported by libc for every target).
    const SO_ATTACH_REUSEPORT_CBPF: libc::c_int = 51;
    let members = u32::try_from(members).map_err(|_| io::Error::other("too many sockets"))?;
    let op = |code: u32, k: u32| libc::sock_filter {
        code: code as u16,
        jt: 0,
        jf: 0,
        k,
    };
    // The program sees the UDP payload: the sFlow v5 header is version, address type (1 IPv4, 2
    // IPv6), agent address. An IPv6 agent is steered by its address's last 32 bits.
    let mut program = [
        op(libc::BPF_LD | libc::BPF_W | libc::BPF_ABS, 4),
        libc::sock_filter {
            code: (libc::BPF_JMP | libc::BPF_JEQ | libc::BPF_K) as u16,
            jt: 2,
            jf: 0,
            k: 2,
        },
        op(libc::BPF_LD | libc::BPF_W | libc::BPF_ABS, 8),
        op(libc::BPF_JMP | libc::BPF_JA, 1),
        op(libc::BPF_LD | libc::BPF_W | libc::BPF_ABS, 20),
        // Fibonacci hashing: neighbouring addresses land on different sockets.
        op(libc::BPF_ALU | libc::BPF_MUL | libc::BPF_K, 0x9E37_79B1),
        op(libc::BPF_ALU | libc::BPF_RSH | libc::BPF_K, 16),
        op(libc::BPF_ALU | libc::BPF_MOD | libc::BPF_K, members),
        op(libc::BPF_RET | libc::BPF_A, 0),
    ];
    let fprog = libc::sock_fprog {
        len: program.len() as libc::c_ushort,
        filter: program.as_mut_ptr(),
    };
    // `fprog` points at `program`, alive for the call; the kernel copies the program.
    set_socket_option(socket, SO_ATTACH_REUSEPORT_CBPF, &fprog)
}

#[cfg(not(target_os = "linux"))]
fn attach_agent_steering(_socket: &UdpSocket, _members: usize) -> io::Result<()> {
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn loopback_listener(family: Family, ip: Option<IpAddr>) -> Listener {
        bind_listener(
            ip,
            0,
            ListenOptions {
                family,
                recv_buffer: 1 << 20,
            },
        )
        .unwrap_or_else(|e| panic!("bind: {e}: {:?}", e.source))
    }

    fn round_trip(listener: &Listener, to: SocketAddr) {
        let sender = sender_for(to).unwrap_or_else(|e| panic!("{e}"));
        sender
            .send_to(b"sflow", to)
            .unwrap_or_else(|e| panic!("send: {e}"));
        let mut buf = [0u8; 16];
        let (len, _) = listener
            .socket
            .recv_from(&mut buf)
            .unwrap_or_else(|e| panic!("recv: {e}"));
        assert_eq!(&buf[..len], b"sflow");
    }

    #[test]
    fn default_listener_hears_ipv4_and_grants_a_buffer() {
        let listener = loopback_listener(Family::Any, None);
        assert!(listener.local_addr.ip().is_unspecified());
        assert!(listener.granted_recv_buffer > 0);
        let port = listener.local_addr.port();
        round_trip(&listener, SocketAddr::from((Ipv4Addr::LOCALHOST, port)));
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn a_reuse_port_group_shares_one_port_that_must_be_free() {
        let options = ListenOptions {
            family: Family::Ipv4Only,
            recv_buffer: 1 << 20,
        };
        let group = bind_listeners(Some(Ipv4Addr::LOCALHOST.into()), 0, options, 3)
            .unwrap_or_else(|e| panic!("bind group: {e}: {:?}", e.source));
        assert_eq!(group.len(), 3);
        let shared = group[0].local_addr;
        assert_ne!(shared.port(), 0);
        assert!(group.iter().all(|listener| listener.local_addr == shared));
        assert!(
            group
                .iter()
                .all(|listener| listener.granted_recv_buffer > 0)
        );
        // A second group on the same fixed port is refused by the plain probe bind, although its own
        // sockets would set SO_REUSEPORT too.
        let err = bind_listeners(Some(shared.ip()), shared.port(), options, 2)
            .err()
            .unwrap_or_else(|| panic!("a second group bound {shared}"));
        assert_eq!(err.addr, shared);
        // A datagram to the port reaches exactly one member of the group.
        let sender = sender_for(shared).unwrap_or_else(|e| panic!("{e}"));
        sender
            .send_to(b"sflow", shared)
            .unwrap_or_else(|e| panic!("send: {e}"));
        let received: usize = group
            .iter()
            .map(|listener| {
                listener
                    .socket
                    .set_read_timeout(Some(std::time::Duration::from_millis(200)))
                    .unwrap_or_else(|e| panic!("timeout: {e}"));
                let mut buf = [0u8; 16];
                usize::from(listener.socket.recv_from(&mut buf).is_ok())
            })
            .sum();
        assert_eq!(received, 1);
    }

    #[test]
    fn ipv4_only_and_explicit_addresses() {
        let v4 = loopback_listener(Family::Ipv4Only, None);
        assert_eq!(v4.local_addr.ip(), IpAddr::V4(Ipv4Addr::UNSPECIFIED));
        let loopback = loopback_listener(Family::Any, Some(Ipv4Addr::LOCALHOST.into()));
        assert_eq!(loopback.local_addr.ip(), IpAddr::V4(Ipv4Addr::LOCALHOST));
        round_trip(&loopback, loopback.local_addr);
        // The port is taken on 127.0.0.1: binding it again there fails, naming the address.
        let err = bind_listener(
            Some(Ipv4Addr::LOCALHOST.into()),
            loopback.local_addr.port(),
            ListenOptions::default(),
        )
        .err()
        .unwrap_or_else(|| panic!("second bind of {} succeeded", loopback.local_addr));
        assert_eq!(err.addr, loopback.local_addr);
        assert_eq!(
            err.to_string(),
            format!("binding UDP {}", loopback.local_addr)
        );
    }

    #[test]
    fn ipv6_only_refuses_ipv4_mapped_peers() {
        let Ok(listener) = bind_listener(
            None,
            0,
            ListenOptions {
                family: Family::Ipv6Only,
                recv_buffer: 0,
            },
        ) else {
            eprintln!("no IPv6 on this host: skipped");
            return;
        };
        assert!(listener.local_addr.is_ipv6());
        let socket = socket2::SockRef::from(&listener.socket);
        assert!(socket.only_v6().unwrap_or_else(|e| panic!("{e}")));
    }

    /// One sending socket, many agents: the steering program puts each agent on the socket its address
    /// hashes to (the kernel's own hash would put them all on one), IPv6 agents by their last 32 bits.
    #[cfg(target_os = "linux")]
    #[test]
    fn a_steered_group_spreads_one_senders_agents_by_address() {
        let options = ListenOptions {
            family: Family::Ipv4Only,
            recv_buffer: 1 << 20,
        };
        let group = bind_listeners(Some(Ipv4Addr::LOCALHOST.into()), 0, options, 2)
            .unwrap_or_else(|e| panic!("bind group: {e}: {:?}", e.source));
        steer_by_sflow_agent(&group).unwrap_or_else(|e| panic!("steer: {e}"));
        let shared = group[0].local_addr;
        let sender = sender_for(shared).unwrap_or_else(|e| panic!("{e}"));
        let header = |agent: &[u8]| {
            let kind: u32 = if agent.len() == 4 { 1 } else { 2 };
            [&5u32.to_be_bytes()[..], &kind.to_be_bytes(), agent, &[0; 8]].concat()
        };
        let mut expected: Vec<Vec<Vec<u8>>> = vec![Vec::new(), Vec::new()];
        let member = |last_word: u32| ((last_word.wrapping_mul(0x9E37_79B1) >> 16) % 2) as usize;
        for n in 1..=40u32 {
            let v4 = 0x0a00_0000 | n;
            let v6 = [&[0x20, 0x01, 0x0d, 0xb8][..], &[0; 8], &n.to_be_bytes()].concat();
            for datagram in [header(&v4.to_be_bytes()), header(&v6)] {
                sender
                    .send_to(&datagram, shared)
                    .unwrap_or_else(|e| panic!("send: {e}"));
                expected[member(n)].push(datagram);
            }
        }
        // Too short to name an agent: the first socket.
        sender
            .send_to(&[0, 0, 0, 5], shared)
            .unwrap_or_else(|e| panic!("send: {e}"));
        expected[0].push(vec![0, 0, 0, 5]);
        assert!(
            expected.iter().all(|d| d.len() > 10),
            "both sockets have agents"
        );
        for (listener, expected) in group.iter().zip(expected) {
            listener
                .socket
                .set_read_timeout(Some(std::time::Duration::from_secs(5)))
                .unwrap_or_else(|e| panic!("timeout: {e}"));
            let mut buf = [0u8; 64];
            for datagram in expected {
                let (len, _) = listener
                    .socket
                    .recv_from(&mut buf)
                    .unwrap_or_else(|e| panic!("recv: {e}"));
                assert_eq!(&buf[..len], &datagram[..]);
            }
        }
    }
}
