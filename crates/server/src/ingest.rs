//! sFlow input: the UDP socket (large `SO_RCVBUF`, dual-stack), the receive thread, forwarding of raw
//! datagrams to the `/forwarding` targets of their agent, and sending the engine's per-tenant datagrams to
//! `/tenant` collectors.

use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, UdpSocket};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use rtflow_engine::{IngestError, IngestWorker, Millis, TenantDatagram};

use crate::error::ServerError;
use crate::procstats;
use crate::receive::BatchReceiver;
use crate::state::{RuntimeStats, Shared};

/// Most datagrams taken by one receive call (`recvmmsg`) and ingested under one engine lock.
pub(crate) const BATCH: usize = 16;
/// How often the receive loop checks for shutdown when idle.
const RECV_TIMEOUT: Duration = Duration::from_millis(200);

/// A bound sFlow socket and what the kernel granted.
#[derive(Debug)]
pub(crate) struct SflowSocket {
    pub socket: UdpSocket,
    pub local_addr: SocketAddr,
    /// `SO_RCVBUF` as reported by the kernel (Linux reports twice the usable size).
    pub granted_rcvbuf: usize,
}

/// Binds `count` (at least one) sFlow UDP sockets to one address and port: to `bind` if given, else `[::]`
/// dual-stack, falling back to `0.0.0.0`. With more than one (Linux), all share the port through `SO_REUSEPORT`,
/// and a BPF program spreads datagrams over them by the sFlow agent address inside each
/// ([`rtflow_net::steer_by_sflow_agent`]), so each agent's datagrams stay in order on one socket whichever port
/// they come from (without it, the kernel's hash of the sender's address and port would put every agent behind
/// one relay or replay on one socket).
pub(crate) fn bind_sflow_sockets(
    bind: Option<IpAddr>,
    port: u16,
    rcvbuf: usize,
    count: usize,
) -> Result<Vec<SflowSocket>, ServerError> {
    let options = rtflow_net::ListenOptions {
        family: rtflow_net::Family::Any,
        recv_buffer: rcvbuf,
    };
    let listeners = rtflow_net::bind_listeners(bind, port, options, count.max(1))
        .map_err(|rtflow_net::BindError { addr, source }| ServerError::BindUdp { addr, source })?;
    if let Err(err) = rtflow_net::steer_by_sflow_agent(&listeners) {
        tracing::warn!(
            "cannot spread sFlow datagrams over the {} sockets by agent ({err}): the kernel spreads them by \
             sender address and port",
            listeners.len()
        );
    }
    let mut sockets = Vec::with_capacity(listeners.len());
    for listener in listeners {
        if let Some(err) = &listener.fallback_from {
            tracing::info!(
                "dual-stack bind to {} failed ({}), using {}",
                err.addr,
                err.source,
                listener.local_addr
            );
        }
        let local_addr = listener.local_addr;
        listener
            .socket
            .set_read_timeout(Some(RECV_TIMEOUT))
            .map_err(|source| ServerError::BindUdp {
                addr: local_addr,
                source,
            })?;
        sockets.push(SflowSocket {
            socket: listener.socket,
            local_addr,
            granted_rcvbuf: listener.granted_recv_buffer,
        });
    }
    if let Some(first) = sockets.first() {
        report_rcvbuf(rcvbuf, first.granted_rcvbuf);
    }
    Ok(sockets)
}

fn report_rcvbuf(requested: usize, granted: usize) {
    // Linux doubles the requested size for bookkeeping and caps the request at net.core.rmem_max.
    if requested > 0 && granted < requested {
        let limit = procstats::rmem_max()
            .map(|m| format!(" (net.core.rmem_max = {m})"))
            .unwrap_or_default();
        tracing::warn!(
            "SO_RCVBUF: requested {requested} bytes, kernel granted {granted}{limit}; raise \
             net.core.rmem_max to avoid drops under load"
        );
    } else {
        tracing::info!("SO_RCVBUF: requested {requested} bytes, kernel granted {granted}");
    }
}

/// Sends datagrams to `/forwarding` and `/tenant` collectors, from one unbound socket per address family.
#[derive(Debug, Default)]
pub(crate) struct Forwarder {
    v4: Option<UdpSocket>,
    v6: Option<UdpSocket>,
    /// The engine's per-tenant datagrams of the current datagram; kept to reuse its allocation.
    tenant_datagrams: Vec<TenantDatagram>,
    /// One per datagram of a batch: decode buffers and evaluated flows, reused.
    workers: Vec<IngestWorker>,
    /// Per datagram of the current batch, and the forwarding targets they name.
    outcomes: Vec<Outcome>,
    targets: Vec<SocketAddr>,
}

impl Forwarder {
    /// Relays a received datagram unchanged to a `/forwarding` target.
    pub(crate) fn send(&mut self, stats: &RuntimeStats, datagram: &[u8], target: SocketAddr) {
        if self.send_to(datagram, target) {
            RuntimeStats::add(&stats.forwarded, 1);
        } else {
            RuntimeStats::add(&stats.forward_errors, 1);
        }
    }

    /// Sends (and empties) the engine's per-tenant datagrams.
    fn send_tenant_datagrams(&mut self, shared: &Shared) {
        let stats = &shared.stats;
        let mut datagrams = std::mem::take(&mut self.tenant_datagrams);
        if !datagrams.is_empty() {
            let mut recent = shared.recent_datagrams.lock();
            for datagram in &datagrams {
                recent.remember(&datagram.bytes);
            }
        }
        for datagram in datagrams.drain(..) {
            if self.send_to(&datagram.bytes, datagram.target) {
                RuntimeStats::add(&stats.tenant_forwarded, 1);
            } else {
                RuntimeStats::add(&stats.tenant_forward_errors, 1);
            }
        }
        self.tenant_datagrams = datagrams;
    }

    /// One UDP send; false when no socket could be opened or the send failed.
    fn send_to(&mut self, datagram: &[u8], target: SocketAddr) -> bool {
        let slot = if target.is_ipv4() {
            &mut self.v4
        } else {
            &mut self.v6
        };
        if slot.is_none() {
            let local: SocketAddr = if target.is_ipv4() {
                (Ipv4Addr::UNSPECIFIED, 0).into()
            } else {
                (Ipv6Addr::UNSPECIFIED, 0).into()
            };
            *slot = UdpSocket::bind(local).ok();
        }
        matches!(
            slot.as_ref().map(|s| s.send_to(datagram, target)),
            Some(Ok(_))
        )
    }
}

/// Feeds one datagram to the engine at `now` (see [`ingest_batch`]).
pub(crate) fn ingest_datagram(
    shared: &Shared,
    forwarder: &mut Forwarder,
    now: Millis,
    source: SocketAddr,
    datagram: &[u8],
) {
    ingest_batch(shared, forwarder, now, &[(source, datagram)]);
}

/// What became of one datagram of a batch under the engine lock.
#[derive(Clone, Copy, Debug)]
enum Outcome {
    /// Seen again byte for byte while sending on: dropped.
    Looped,
    /// Ingested; its forwarding targets are this range of [`Forwarder::targets`].
    Ingested(usize, usize),
}

/// Feeds datagrams received together to the engine at `now`, in two stages: each is decoded outside the engine
/// lock (one [`IngestWorker`] per datagram), then the engine is held for reading once for the whole batch to
/// update its state, each datagram under its agent's shard lock (the flow definitions are evaluated there,
/// with the shard unlocked, only on datagrams whose agent is analysed: see `rtflow_engine::IngestWorker`). After the lock is released, each
/// datagram is forwarded to its agent's forwarding targets, the samples selected for each tenant are sent to
/// that tenant's collector, and the datagram is handed to the datagram subscribers (history export). While
/// datagrams are sent on, one that comes back byte for byte (a loop through another collector) is counted as
/// looped and dropped.
pub(crate) fn ingest_batch(
    shared: &Shared,
    forwarder: &mut Forwarder,
    now: Millis,
    batch: &[(SocketAddr, &[u8])],
) {
    if forwarder.workers.len() < batch.len() {
        let engine = shared.engine.read();
        while forwarder.workers.len() < batch.len() {
            forwarder.workers.push(IngestWorker::new(&engine));
        }
    }
    for (worker, (source, datagram)) in forwarder.workers.iter_mut().zip(batch) {
        worker.prepare(*source, datagram);
    }
    forwarder.outcomes.clear();
    forwarder.targets.clear();
    {
        // Shared: other ingest workers apply their batches at the same time, each datagram under its agent's
        // shard lock only.
        let engine = shared.engine.read();
        let guard_loops = engine.sends_datagrams();
        let Forwarder {
            workers,
            outcomes,
            targets,
            tenant_datagrams,
            ..
        } = forwarder;
        for (worker, (_, datagram)) in workers.iter_mut().zip(batch) {
            if guard_loops && shared.recent_datagrams.lock().repeated(datagram) {
                outcomes.push(Outcome::Looped);
                continue;
            }
            let agent = match worker.apply_shared(&engine, now, datagram, tenant_datagrams) {
                Ok(summary) => summary.agent,
                Err(err) => {
                    tracing::debug!("{err}");
                    match err {
                        IngestError::Decode { agent, .. } => agent,
                        IngestError::UnknownAgentAddress { .. } => None,
                    }
                }
            };
            let first = targets.len();
            if let Some(agent) = agent {
                targets.extend(engine.forwarding_targets(agent));
            }
            outcomes.push(Outcome::Ingested(first, targets.len()));
        }
    }
    let outcomes = std::mem::take(&mut forwarder.outcomes);
    let targets = std::mem::take(&mut forwarder.targets);
    for (outcome, (source, datagram)) in outcomes.iter().zip(batch) {
        match *outcome {
            Outcome::Looped => {
                RuntimeStats::add(&shared.stats.looped, 1);
                tracing::debug!(
                    "datagram from {source} seen again: dropped (forwarding loop guard)"
                );
            }
            Outcome::Ingested(first, end) => {
                for target in targets.get(first..end).unwrap_or_default() {
                    forwarder.send(&shared.stats, datagram, *target);
                }
                for subscriber in &shared.subscribers {
                    subscriber.datagram(now, *source, datagram);
                }
            }
        }
    }
    forwarder.send_tenant_datagrams(shared);
    forwarder.outcomes = outcomes;
    forwarder.targets = targets;
}

/// Starts one receive thread per socket (the sockets share one port, see [`bind_sflow_sockets`]).
pub(crate) fn spawn_udp_ingest_workers(
    sockets: Vec<UdpSocket>,
    shared: &Arc<Shared>,
) -> Result<Vec<JoinHandle<()>>, ServerError> {
    let count = sockets.len();
    sockets
        .into_iter()
        .enumerate()
        .map(|(index, socket)| {
            let shared = Arc::clone(shared);
            let name = if count == 1 {
                "sflow-udp".to_string()
            } else {
                format!("sflow-udp-{index}")
            };
            std::thread::Builder::new()
                .name(name)
                .spawn(move || receive_loop(&socket, &shared))
                .map_err(ServerError::Thread)
        })
        .collect()
}

/// Receives up to [`BATCH`] datagrams at a time and ingests them as one batch.
fn receive_loop(socket: &UdpSocket, shared: &Shared) {
    let mut receiver = BatchReceiver::new();
    let mut forwarder = Forwarder::default();
    while !shared.is_shutting_down() {
        match receiver.receive(socket) {
            Ok(()) => {
                let now = shared.clock.now();
                let batch: Vec<(SocketAddr, &[u8])> = receiver.datagrams().collect();
                ingest_batch(shared, &mut forwarder, now, &batch);
            }
            Err(err)
                if matches!(
                    err.kind(),
                    io::ErrorKind::WouldBlock
                        | io::ErrorKind::TimedOut
                        | io::ErrorKind::Interrupted
                ) => {}
            Err(err) => {
                tracing::warn!("sFlow socket receive error: {err}");
                std::thread::sleep(Duration::from_millis(50));
            }
        }
    }
}
