//! Batch receive on the sFlow socket: up to [`BATCH`] datagrams per system call (`recvmmsg` with
//! `MSG_WAITFORONE` on Linux: it waits for the first datagram, up to the socket's read timeout, then takes what
//! else is queued without waiting), one datagram per call elsewhere.

use std::io;
use std::net::{SocketAddr, UdpSocket};

use crate::ingest::BATCH;

/// Largest UDP payload (IPv6 jumbograms aside).
const MAX_DATAGRAM: usize = 65_536;

/// Receive buffers for one batch and what the last receive put in them.
#[derive(Debug)]
pub(crate) struct BatchReceiver {
    buffers: Vec<Box<[u8]>>,
    /// (buffer index, source, length) per datagram received by the last call.
    received: Vec<(usize, SocketAddr, usize)>,
}

impl BatchReceiver {
    pub(crate) fn new() -> Self {
        Self {
            buffers: (0..BATCH)
                .map(|_| vec![0u8; MAX_DATAGRAM].into_boxed_slice())
                .collect(),
            received: Vec::with_capacity(BATCH),
        }
    }

    /// The datagrams of the last [`receive`](Self::receive), in arrival order, with their sources (IPv4-mapped
    /// IPv6 sources shown as IPv4).
    pub(crate) fn datagrams(&self) -> impl Iterator<Item = (SocketAddr, &[u8])> {
        self.received.iter().filter_map(|&(index, source, len)| {
            let source = SocketAddr::new(source.ip().to_canonical(), source.port());
            Some((source, self.buffers.get(index)?.get(..len)?))
        })
    }

    /// Waits for at least one datagram (up to the socket's read timeout) and takes up to [`BATCH`].
    #[cfg(target_os = "linux")]
    pub(crate) fn receive(&mut self, socket: &UdpSocket) -> io::Result<()> {
        use std::os::fd::AsRawFd;
        self.received.clear();
        let mut iovecs: [libc::iovec; BATCH] = std::array::from_fn(|_| libc::iovec {
            iov_base: std::ptr::null_mut(),
            iov_len: 0,
        });
        for (iovec, buffer) in iovecs.iter_mut().zip(self.buffers.iter_mut()) {
            iovec.iov_base = buffer.as_mut_ptr().cast();
            iovec.iov_len = buffer.len();
        }
        // SAFETY: these are plain C structs for which all-zero bytes are valid (null pointers, zero lengths).
        let (mut addresses, mut headers): (
            [libc::sockaddr_storage; BATCH],
            [libc::mmsghdr; BATCH],
        ) = unsafe { (std::mem::zeroed(), std::mem::zeroed()) };
        for ((header, iovec), address) in headers
            .iter_mut()
            .zip(iovecs.iter_mut())
            .zip(addresses.iter_mut())
        {
            header.msg_hdr.msg_name = (address as *mut libc::sockaddr_storage).cast();
            header.msg_hdr.msg_namelen = size_of::<libc::sockaddr_storage>() as libc::socklen_t;
            header.msg_hdr.msg_iov = iovec;
            header.msg_hdr.msg_iovlen = 1;
        }
        // SAFETY: the descriptor is owned by `socket` and open; each header points at a live iovec describing a
        // live buffer of `iov_len` bytes and at a live sockaddr_storage of `msg_namelen` bytes, all of which
        // outlive the call; at most `BATCH` headers are passed.
        let count = unsafe {
            libc::recvmmsg(
                socket.as_raw_fd(),
                headers.as_mut_ptr(),
                BATCH as libc::c_uint,
                libc::MSG_WAITFORONE,
                std::ptr::null_mut(),
            )
        };
        let Ok(count) = usize::try_from(count) else {
            return Err(io::Error::last_os_error());
        };
        for (index, (header, address)) in headers.iter().zip(&addresses).enumerate().take(count) {
            if let Some(source) = socket_addr(address) {
                self.received.push((index, source, header.msg_len as usize));
            }
        }
        Ok(())
    }

    /// Waits for one datagram (up to the socket's read timeout).
    #[cfg(not(target_os = "linux"))]
    pub(crate) fn receive(&mut self, socket: &UdpSocket) -> io::Result<()> {
        self.received.clear();
        let Some(buffer) = self.buffers.first_mut() else {
            return Ok(());
        };
        let (len, source) = socket.recv_from(buffer)?;
        self.received.push((0, source, len));
        Ok(())
    }
}

/// The address the kernel wrote into `storage` (IPv4 or IPv6).
#[cfg(target_os = "linux")]
fn socket_addr(storage: &libc::sockaddr_storage) -> Option<SocketAddr> {
    use std::net::{Ipv4Addr, Ipv6Addr, SocketAddrV6};
    let storage: *const libc::sockaddr_storage = storage;
    match libc::c_int::from(
        // SAFETY: `storage` is a live reference; ss_family is its first field.
        unsafe { (*storage).ss_family },
    ) {
        libc::AF_INET => {
            // SAFETY: the kernel wrote a sockaddr_in (family AF_INET); sockaddr_storage is large enough and
            // aligned for any socket address.
            let addr = unsafe { &*storage.cast::<libc::sockaddr_in>() };
            Some(SocketAddr::new(
                Ipv4Addr::from(u32::from_be(addr.sin_addr.s_addr)).into(),
                u16::from_be(addr.sin_port),
            ))
        }
        libc::AF_INET6 => {
            // SAFETY: as above, for a sockaddr_in6 (family AF_INET6).
            let addr = unsafe { &*storage.cast::<libc::sockaddr_in6>() };
            Some(SocketAddr::V6(SocketAddrV6::new(
                Ipv6Addr::from(addr.sin6_addr.s6_addr),
                u16::from_be(addr.sin6_port),
                addr.sin6_flowinfo,
                addr.sin6_scope_id,
            )))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;
    use std::time::Duration;

    #[test]
    fn a_batch_holds_every_queued_datagram_in_order_with_its_source() {
        let receiver_socket =
            UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).unwrap_or_else(|e| panic!("{e}"));
        receiver_socket
            .set_read_timeout(Some(Duration::from_secs(5)))
            .unwrap_or_else(|e| panic!("{e}"));
        let target = receiver_socket
            .local_addr()
            .unwrap_or_else(|e| panic!("{e}"));
        let sender = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).unwrap_or_else(|e| panic!("{e}"));
        let sent: Vec<Vec<u8>> = (0..BATCH + 3).map(|i| vec![i as u8; 100 + i]).collect();
        for datagram in &sent {
            sender
                .send_to(datagram, target)
                .unwrap_or_else(|e| panic!("{e}"));
        }
        let mut receiver = BatchReceiver::new();
        let mut got: Vec<(SocketAddr, Vec<u8>)> = Vec::new();
        while got.len() < sent.len() {
            receiver
                .receive(&receiver_socket)
                .unwrap_or_else(|e| panic!("{e}"));
            let batch: Vec<_> = receiver.datagrams().map(|(s, d)| (s, d.to_vec())).collect();
            assert!(
                !batch.is_empty() && batch.len() <= BATCH,
                "{} datagrams",
                batch.len()
            );
            got.extend(batch);
        }
        let from = sender.local_addr().unwrap_or_else(|e| panic!("{e}"));
        assert!(got.iter().all(|(source, _)| *source == from));
        let payloads: Vec<Vec<u8>> = got.into_iter().map(|(_, d)| d).collect();
        assert_eq!(payloads, sent);
    }
}
