//! The cache of agents' names and the background workers that fill and refresh it. [`SnmpPoller::agent`]
//! never blocks: it answers from the cache and queues a poll for an agent it does not know yet or whose names
//! are due for a refresh. Agents nobody asks about for a while are forgotten.

use std::collections::{HashMap, HashSet};
use std::net::IpAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, RecvTimeoutError, Sender};
use parking_lot::{Mutex, RwLock};
use serde::Serialize;

use crate::config::SnmpConfig;
use crate::poll::{AgentNames, PollError, poll_agent};

struct Entry {
    names: Option<Arc<AgentNames>>,
    /// When the agent is due for a (re)poll.
    next_poll: Instant,
    /// Milliseconds since the poller started, at the last lookup.
    last_used: AtomicU64,
    last_error: Option<String>,
}

#[derive(Default)]
struct Counters {
    polls: AtomicU64,
    poll_errors: AtomicU64,
    no_answer: AtomicU64,
    auth_failures: AtomicU64,
    queue_full: AtomicU64,
}

struct Inner {
    config: SnmpConfig,
    started: Instant,
    cache: RwLock<HashMap<IpAddr, Entry>>,
    /// Agents queued or being polled.
    pending: Mutex<HashSet<IpAddr>>,
    queue: Sender<IpAddr>,
    stopping: AtomicBool,
    counters: Counters,
}

/// What the poller did (`/analyzer/json`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SnmpStats {
    /// Agents in the cache.
    pub agents: u64,
    /// Agents in the cache whose names were polled successfully.
    pub agents_named: u64,
    /// Interfaces with names in the cache, over all agents.
    pub interfaces: u64,
    /// Polls of an agent started (first poll and each refresh).
    pub polls: u64,
    /// Polls that failed for any reason.
    pub poll_errors: u64,
    /// Polls without an answer (unreachable or wrong community).
    pub no_answer: u64,
    /// SNMPv3 authentication failures.
    pub auth_failures: u64,
    /// Polls not queued because the queue was full (retried on a later lookup).
    pub queue_full: u64,
}

/// The SNMP poller: cache plus workers.
pub struct SnmpPoller {
    inner: Arc<Inner>,
    threads: Mutex<Vec<JoinHandle<()>>>,
}

impl std::fmt::Debug for SnmpPoller {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SnmpPoller")
            .field("workers", &self.inner.config.workers)
            .finish_non_exhaustive()
    }
}

/// How often idle workers look at the stop flag and evict idle agents.
const IDLE_POLL: Duration = Duration::from_millis(200);

impl SnmpPoller {
    /// Starts `config.workers` polling threads.
    pub fn start(config: SnmpConfig) -> std::io::Result<SnmpPoller> {
        let (queue, receiver) = crossbeam_channel::bounded(config.max_agents.max(1));
        let workers = config.workers.max(1);
        let inner = Arc::new(Inner {
            config,
            started: Instant::now(),
            cache: RwLock::new(HashMap::new()),
            pending: Mutex::new(HashSet::new()),
            queue,
            stopping: AtomicBool::new(false),
            counters: Counters::default(),
        });
        let poller = SnmpPoller {
            inner,
            threads: Mutex::new(Vec::new()),
        };
        for n in 0..workers {
            let inner = poller.inner.clone();
            let receiver = receiver.clone();
            let thread = std::thread::Builder::new()
                .name(format!("snmp-poll-{n}"))
                .spawn(move || worker(&inner, &receiver, n == 0));
            match thread {
                Ok(thread) => poller.threads.lock().push(thread),
                Err(err) => {
                    poller.shutdown();
                    return Err(err);
                }
            }
        }
        Ok(poller)
    }

    /// The names of `agent` if known. Never blocks; queues a poll when the agent is new or due.
    pub fn agent(&self, agent: IpAddr) -> Option<Arc<AgentNames>> {
        let inner = &self.inner;
        let now = Instant::now();
        let used = inner.elapsed_ms(now);
        {
            let cache = inner.cache.read();
            if let Some(entry) = cache.get(&agent) {
                entry.last_used.store(used, Ordering::Relaxed);
                let names = entry.names.clone();
                let due = now >= entry.next_poll;
                drop(cache);
                if due {
                    inner.schedule(agent);
                }
                return names;
            }
        }
        {
            let mut cache = inner.cache.write();
            if cache.len() >= inner.config.max_agents {
                return None;
            }
            cache.entry(agent).or_insert_with(|| Entry {
                names: None,
                next_poll: now,
                last_used: AtomicU64::new(used),
                last_error: None,
            });
        }
        inner.schedule(agent);
        None
    }

    /// Every agent with names (for filling the real-time engine).
    pub fn named_agents(&self) -> Vec<(IpAddr, Arc<AgentNames>)> {
        self.inner
            .cache
            .read()
            .iter()
            .filter_map(|(ip, e)| e.names.clone().map(|n| (*ip, n)))
            .collect()
    }

    /// The last poll error of `agent`, if its last poll failed.
    pub fn last_error(&self, agent: IpAddr) -> Option<String> {
        self.inner
            .cache
            .read()
            .get(&agent)
            .and_then(|e| e.last_error.clone())
    }

    /// A snapshot of the poller's counters and cache sizes.
    pub fn stats(&self) -> SnmpStats {
        let cache = self.inner.cache.read();
        let c = &self.inner.counters;
        let get = |a: &AtomicU64| a.load(Ordering::Relaxed);
        SnmpStats {
            agents: cache.len() as u64,
            agents_named: cache.values().filter(|e| e.names.is_some()).count() as u64,
            interfaces: cache
                .values()
                .filter_map(|e| e.names.as_ref())
                .map(|n| n.interfaces.len() as u64)
                .sum(),
            polls: get(&c.polls),
            poll_errors: get(&c.poll_errors),
            no_answer: get(&c.no_answer),
            auth_failures: get(&c.auth_failures),
            queue_full: get(&c.queue_full),
        }
    }

    /// Stops the workers (a poll in progress finishes first). Idempotent.
    pub fn shutdown(&self) {
        self.inner.stopping.store(true, Ordering::Relaxed);
        for thread in std::mem::take(&mut *self.threads.lock()) {
            let _ = thread.join();
        }
    }
}

impl Drop for SnmpPoller {
    fn drop(&mut self) {
        self.shutdown();
    }
}

impl Inner {
    fn elapsed_ms(&self, now: Instant) -> u64 {
        now.saturating_duration_since(self.started).as_millis() as u64
    }

    fn schedule(&self, agent: IpAddr) {
        if !self.pending.lock().insert(agent) {
            return;
        }
        if self.queue.try_send(agent).is_err() {
            self.pending.lock().remove(&agent);
            self.counters.queue_full.fetch_add(1, Ordering::Relaxed);
        }
    }

    fn poll(&self, agent: IpAddr) {
        let config = &self.config;
        let (credentials, port) = config.for_agent(agent);
        let result = poll_agent(
            agent,
            port,
            credentials,
            config.timeout,
            config.retries,
            config.max_interfaces,
        );
        self.counters.polls.fetch_add(1, Ordering::Relaxed);
        let now = Instant::now();
        let mut cache = self.cache.write();
        let Some(entry) = cache.get_mut(&agent) else {
            return;
        };
        match result {
            Ok(names) => {
                tracing::debug!(
                    "SNMP {agent}: sysName {:?}, {} interfaces",
                    names.sys_name,
                    names.interfaces.len()
                );
                entry.names = Some(Arc::new(names));
                entry.next_poll = now + config.refresh;
                entry.last_error = None;
            }
            Err(err) => {
                self.counters.poll_errors.fetch_add(1, Ordering::Relaxed);
                match err {
                    PollError::NoAnswer(_) => {
                        self.counters.no_answer.fetch_add(1, Ordering::Relaxed);
                    }
                    PollError::Auth { .. } => {
                        self.counters.auth_failures.fetch_add(1, Ordering::Relaxed);
                    }
                    PollError::Protocol { .. } | PollError::Io { .. } => {}
                }
                tracing::debug!("SNMP {agent}: {err}");
                // Names from an earlier poll stay until a poll succeeds again.
                entry.next_poll = now + config.retry_after;
                entry.last_error = Some(err.to_string());
            }
        }
    }

    /// Forgets agents nobody asked about for `config.idle`.
    fn evict_idle(&self) {
        let now = self.elapsed_ms(Instant::now());
        let idle = self.config.idle.as_millis() as u64;
        self.cache
            .write()
            .retain(|_, e| now.saturating_sub(e.last_used.load(Ordering::Relaxed)) < idle);
    }
}

fn worker(inner: &Inner, receiver: &Receiver<IpAddr>, janitor: bool) {
    let mut last_eviction = Instant::now();
    while !inner.stopping.load(Ordering::Relaxed) {
        match receiver.recv_timeout(IDLE_POLL) {
            Ok(agent) => {
                inner.poll(agent);
                inner.pending.lock().remove(&agent);
            }
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => break,
        }
        if janitor && last_eviction.elapsed() >= Duration::from_secs(60) {
            inner.evict_idle();
            last_eviction = Instant::now();
        }
    }
}
