//! Forwarding loop guard. A `/forwarding` or `/tenant` target that is this server's own sFlow socket is refused
//! ([`own_socket_problem`]), and a datagram that arrives again byte for byte while datagrams are being sent on
//! ([`RecentDatagrams`]) is counted and dropped, so a loop through another collector ends after one round.

use std::collections::VecDeque;
use std::hash::BuildHasher;
use std::net::{IpAddr, SocketAddr};

use foldhash::HashSet;

/// How many datagram fingerprints are remembered: about 1.5 MiB, several hundred milliseconds of forwarding
/// at 100,000 datagrams/s, far longer than a loop through a collector takes to come back.
pub(crate) const RECENT_DATAGRAMS: usize = 1 << 16;

/// Why sending to `target` would loop back into this server's sFlow socket `own`, or `None`. `local_ips` are
/// the addresses of this host's interfaces (a wildcard bind receives on all of them).
pub(crate) fn own_socket_problem(
    own: SocketAddr,
    target: SocketAddr,
    local_ips: &[IpAddr],
) -> Option<String> {
    if target.port() != own.port() {
        return None;
    }
    let ip = target.ip().to_canonical();
    let bound = own.ip();
    let reaches = if ip.is_unspecified() {
        // "This host": always delivered locally.
        true
    } else if bound.is_unspecified() {
        // A dual-stack [::] socket receives IPv4 too; a 0.0.0.0 socket only IPv4.
        let family_ok = bound.is_ipv6() || ip.is_ipv4();
        family_ok && (ip.is_loopback() || local_ips.iter().any(|l| l.to_canonical() == ip))
    } else {
        ip == bound.to_canonical()
    };
    reaches.then(|| {
        format!(
            "{target} is this server's own sFlow socket (udp {own}): sending there would loop every datagram"
        )
    })
}

/// The addresses of this host's network interfaces (empty when they cannot be listed).
pub(crate) fn local_addresses() -> Vec<IpAddr> {
    #[cfg(unix)]
    {
        interface_addresses().unwrap_or_else(|err| {
            tracing::warn!("cannot list the interface addresses: {err}");
            Vec::new()
        })
    }
    #[cfg(not(unix))]
    {
        Vec::new()
    }
}

#[cfg(unix)]
fn interface_addresses() -> std::io::Result<Vec<IpAddr>> {
    use std::net::{Ipv4Addr, Ipv6Addr};
    let mut head: *mut libc::ifaddrs = std::ptr::null_mut();
    // SAFETY: getifaddrs writes a list it allocated into `head`; it is freed below with freeifaddrs.
    if unsafe { libc::getifaddrs(&raw mut head) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    let mut out = Vec::new();
    let mut entry = head;
    while !entry.is_null() {
        // SAFETY: `entry` is a node of the list getifaddrs returned, which stays valid until freeifaddrs.
        let node = unsafe { &*entry };
        let addr = node.ifa_addr;
        if !addr.is_null() {
            // SAFETY: `ifa_addr` points to a sockaddr whose family field tells its real type and size.
            let family = i32::from(unsafe { (*addr).sa_family });
            if family == libc::AF_INET {
                // SAFETY: an AF_INET address is a sockaddr_in.
                let v4 = unsafe { &*addr.cast::<libc::sockaddr_in>() };
                out.push(IpAddr::V4(Ipv4Addr::from(u32::from_be(v4.sin_addr.s_addr))));
            } else if family == libc::AF_INET6 {
                // SAFETY: an AF_INET6 address is a sockaddr_in6.
                let v6 = unsafe { &*addr.cast::<libc::sockaddr_in6>() };
                out.push(IpAddr::V6(Ipv6Addr::from(v6.sin6_addr.s6_addr)));
            }
        }
        entry = node.ifa_next;
    }
    // SAFETY: `head` came from a successful getifaddrs and is freed once; no reference into it outlives this.
    unsafe { libc::freeifaddrs(head) };
    Ok(out)
}

/// Fingerprints of the datagrams recently received or sent on, first in first out, bounded by `capacity`.
#[derive(Debug)]
pub(crate) struct RecentDatagrams {
    hasher: foldhash::quality::RandomState,
    order: VecDeque<u64>,
    seen: HashSet<u64>,
    capacity: usize,
}

impl Default for RecentDatagrams {
    fn default() -> Self {
        Self::with_capacity(RECENT_DATAGRAMS)
    }
}

impl RecentDatagrams {
    pub(crate) fn with_capacity(capacity: usize) -> Self {
        Self {
            // Seeded per process so that nobody can craft a datagram that collides with another's.
            hasher: foldhash::quality::RandomState::default(),
            order: VecDeque::with_capacity(capacity),
            seen: HashSet::default(),
            capacity: capacity.max(1),
        }
    }

    /// Remembers `datagram`; true when it was already remembered (it has come back).
    pub(crate) fn repeated(&mut self, datagram: &[u8]) -> bool {
        let fingerprint = self.hasher.hash_one(datagram);
        if self.seen.contains(&fingerprint) {
            return true;
        }
        self.remember_fingerprint(fingerprint);
        false
    }

    /// Remembers a datagram this server sends (a tenant's re-encoded datagram), so it is known if it comes back.
    pub(crate) fn remember(&mut self, datagram: &[u8]) {
        let fingerprint = self.hasher.hash_one(datagram);
        if !self.seen.contains(&fingerprint) {
            self.remember_fingerprint(fingerprint);
        }
    }

    fn remember_fingerprint(&mut self, fingerprint: u64) {
        if self.order.len() >= self.capacity
            && let Some(oldest) = self.order.pop_front()
        {
            self.seen.remove(&oldest);
        }
        self.order.push_back(fingerprint);
        self.seen.insert(fingerprint);
    }

    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.order.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(text: &str) -> SocketAddr {
        text.parse()
            .unwrap_or_else(|e| panic!("address {text:?}: {e}"))
    }

    #[test]
    fn own_socket_is_recognised_through_every_address_that_reaches_it() {
        let lan: IpAddr = [192, 0, 2, 10].into();
        let lan6: IpAddr = "2001:db8::10".parse().unwrap_or(IpAddr::from([0; 16]));
        let locals = [lan, lan6];
        let dual = addr("[::]:6343");
        for target in [
            "127.0.0.1:6343",
            "127.0.0.2:6343",
            "[::1]:6343",
            "[::ffff:127.0.0.1]:6343",
            "0.0.0.0:6343",
            "[::]:6343",
            "192.0.2.10:6343",
            "[2001:db8::10]:6343",
        ] {
            assert!(
                own_socket_problem(dual, addr(target), &locals).is_some(),
                "{target} reaches [::]:6343"
            );
        }
        for target in ["127.0.0.1:6344", "192.0.2.11:6343", "[2001:db8::11]:6343"] {
            assert_eq!(own_socket_problem(dual, addr(target), &locals), None);
        }
        // An IPv4 wildcard socket cannot be reached over IPv6.
        let v4_any = addr("0.0.0.0:6343");
        assert!(own_socket_problem(v4_any, addr("192.0.2.10:6343"), &locals).is_some());
        assert_eq!(
            own_socket_problem(v4_any, addr("[2001:db8::10]:6343"), &locals),
            None
        );
        // A socket bound to one address is reached through that address only.
        let loopback = addr("127.0.0.1:6343");
        assert!(own_socket_problem(loopback, addr("127.0.0.1:6343"), &locals).is_some());
        assert_eq!(
            own_socket_problem(loopback, addr("192.0.2.10:6343"), &locals),
            None
        );
        let message = own_socket_problem(dual, addr("127.0.0.1:6343"), &locals).unwrap_or_default();
        assert!(message.contains("own sFlow socket"), "{message}");
    }

    #[test]
    fn loopback_is_among_the_interface_addresses() {
        let locals = local_addresses();
        assert!(
            locals.iter().any(IpAddr::is_loopback),
            "no loopback address in {locals:?}"
        );
    }

    #[test]
    fn a_datagram_seen_again_is_repeated_until_it_ages_out() {
        let mut recent = RecentDatagrams::with_capacity(3);
        assert!(!recent.repeated(b"a"));
        assert!(recent.repeated(b"a"));
        recent.remember(b"sent");
        assert!(recent.repeated(b"sent"));
        assert!(!recent.repeated(b"b"));
        assert!(!recent.repeated(b"c"));
        assert_eq!(recent.len(), 3, "bounded");
        // "a" was the oldest and has been forgotten.
        assert!(!recent.repeated(b"a"));
        assert!(recent.repeated(b"c"));
    }
}
