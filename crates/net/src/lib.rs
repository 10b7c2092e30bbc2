//! rtflow-net: the two pieces of I/O plumbing every rtflow front end needs, written once.
//!
//! * [`udp`]: binding UDP sockets the way a collector should: dual-stack `[::]` by default
//!   (falling back to `0.0.0.0` on hosts without IPv6), IPv4-only or IPv6-only on request, and a
//!   large kernel receive buffer so bursts of sFlow survive while the reader catches up
//!   ([`bind_listener`]; [`bind_listeners`] binds several sharing one port through `SO_REUSEPORT`,
//!   one per receive thread, spread by sFlow agent with [`steer_by_sflow_agent`]); senders bound to
//!   the unspecified address of their target's family ([`sender_for`]).
//! * [`pace`]: when each datagram of a recording is due on replay: at the recorded pace (sped
//!   up or slowed down), as fast as possible, or at a fixed rate ([`Pacer`]).

pub mod pace;
pub mod udp;

pub use pace::{Pace, PaceClock, Pacer, RealTime, saturating_secs};
pub use udp::{
    BindError, Family, ListenOptions, Listener, SOCKET_BUFFER, bind_listener, bind_listeners,
    bind_udp, request_recv_buffer, sender_for, steer_by_sflow_agent,
};
