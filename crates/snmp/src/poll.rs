//! One poll of one agent: `sysName.0`, then GETBULK walks of ifName, ifDescr, ifAlias, ifHighSpeed and ifSpeed,
//! turned into names with Akvorado's rules (name = ifName, else ifDescr; description = ifAlias, else ifDescr,
//! unless equal to the name; speed = ifHighSpeed, else ifSpeed).

use std::collections::{BTreeMap, HashMap};
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use snmp2::{Oid, SyncSession, Value};

use crate::config::{AuthProtocol, Credentials, PrivProtocol};

/// What SNMP says about an agent.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AgentNames {
    /// sysName.0 (`None` when empty).
    pub sys_name: Option<Arc<str>>,
    /// ifIndex → names and speed.
    pub interfaces: HashMap<u32, Interface>,
}

/// One interface's names and speed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Interface {
    /// ifName, else ifDescr.
    pub name: Arc<str>,
    /// ifAlias, else ifDescr, when different from the name; else empty.
    pub description: Arc<str>,
    /// ifHighSpeed, else ifSpeed / 10^6 (Mbit/s).
    pub speed_mbps: u32,
}

/// A poll that did not give names.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PollError {
    /// No answer: unreachable, or a v2c community the agent does not know (it stays silent).
    #[error("no answer from {0} (unreachable, or wrong community)")]
    NoAnswer(SocketAddr),
    /// A v3 report: unknown user, wrong password or unsupported security level.
    #[error("{addr}: SNMPv3 authentication failed ({reason})")]
    Auth {
        /// The agent polled.
        addr: SocketAddr,
        /// What the agent's report or the USM layer said.
        reason: String,
    },
    /// The answer was not a valid SNMP response (bad encoding, wrong request id, error status).
    #[error("{addr}: {reason}")]
    Protocol {
        /// The agent polled.
        addr: SocketAddr,
        /// What was wrong with the answer.
        reason: String,
    },
    /// The socket failed (bind, send or receive).
    #[error("{addr}: {source_text}")]
    Io {
        /// The agent polled.
        addr: SocketAddr,
        /// The I/O error's text.
        source_text: String,
    },
}

const SYS_NAME: &[u64] = &[1, 3, 6, 1, 2, 1, 1, 5, 0];
const IF_DESCR: &[u64] = &[1, 3, 6, 1, 2, 1, 2, 2, 1, 2];
const IF_SPEED: &[u64] = &[1, 3, 6, 1, 2, 1, 2, 2, 1, 5];
const IF_NAME: &[u64] = &[1, 3, 6, 1, 2, 1, 31, 1, 1, 1, 1];
const IF_HIGH_SPEED: &[u64] = &[1, 3, 6, 1, 2, 1, 31, 1, 1, 1, 15];
const IF_ALIAS: &[u64] = &[1, 3, 6, 1, 2, 1, 31, 1, 1, 1, 18];
/// Rows asked for per GETBULK.
const MAX_REPETITIONS: u32 = 25;

/// A value taken out of the response buffer.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Owned {
    Text(String),
    Number(u64),
    Missing,
}

fn own(value: &Value<'_>) -> Owned {
    match value {
        Value::OctetString(bytes) => Owned::Text(
            String::from_utf8_lossy(bytes)
                .trim_end_matches('\0')
                .to_string(),
        ),
        Value::Integer(n) => Owned::Number(u64::try_from(*n).unwrap_or(0)),
        Value::Counter32(n) | Value::Unsigned32(n) | Value::Timeticks(n) => {
            Owned::Number(u64::from(*n))
        }
        Value::Counter64(n) => Owned::Number(*n),
        _ => Owned::Missing,
    }
}

struct Session {
    inner: Box<SyncSession>,
    addr: SocketAddr,
    retries: u32,
}

impl Session {
    fn open(
        agent: IpAddr,
        port: u16,
        credentials: &Credentials,
        timeout: Duration,
        retries: u32,
    ) -> Result<Session, PollError> {
        // IPv4-mapped agents are polled over IPv4 (net-snmp matches them against IPv4 communities).
        let addr = SocketAddr::new(agent.to_canonical(), port);
        let io = |e: std::io::Error| PollError::Io {
            addr,
            source_text: e.to_string(),
        };
        let request_id = i32::try_from(std::process::id() & 0x7fff).unwrap_or(1) << 16;
        let inner = match credentials {
            Credentials::V2c { community } => {
                SyncSession::new_v2c(addr, community.as_bytes(), Some(timeout), request_id)
                    .map_err(io)?
            }
            Credentials::V3 {
                user,
                auth,
                privacy,
                context,
            } => {
                let mut security = match auth {
                    Some((protocol, password)) => {
                        snmp2::v3::Security::new(user.as_bytes(), password.as_bytes())
                            .with_auth_protocol(auth_protocol(*protocol))
                    }
                    None => snmp2::v3::Security::new(user.as_bytes(), b"")
                        .with_auth(snmp2::v3::Auth::NoAuthNoPriv),
                };
                if let (Some(_), Some((cipher, password))) = (auth, privacy) {
                    security = security.with_auth(snmp2::v3::Auth::AuthPriv {
                        cipher: cipher_of(*cipher),
                        privacy_password: password.as_bytes().to_vec(),
                    });
                }
                if !context.is_empty() {
                    security = security.with_context_name(context);
                }
                let mut session =
                    SyncSession::new_v3(addr, Some(timeout), request_id, security).map_err(io)?;
                let mut attempts = 0;
                loop {
                    match session.init() {
                        Ok(()) => break,
                        Err(err) if attempts < retries && retryable(&err) => attempts += 1,
                        Err(err) => return Err(classify(addr, &err)),
                    }
                }
                session
            }
        };
        Ok(Session {
            inner: Box::new(inner),
            addr,
            retries,
        })
    }

    fn oid(&self, components: &[u64]) -> Result<Oid<'static>, PollError> {
        Oid::from(components).map_err(|e| self.protocol(format!("OID {components:?}: {e:?}")))
    }

    /// GET of scalars; `Missing` for what the agent does not have.
    fn get(&mut self, oids: &[&[u64]]) -> Result<Vec<Owned>, PollError> {
        let oids = oids
            .iter()
            .map(|o| self.oid(o))
            .collect::<Result<Vec<_>, _>>()?;
        let refs: Vec<&Oid<'_>> = oids.iter().collect();
        let mut attempts = 0;
        loop {
            match self.inner.get_many(&refs) {
                Ok(pdu) => {
                    if pdu.error_status != 0 {
                        return Err(PollError::Protocol {
                            addr: self.addr,
                            reason: format!("error status {}", pdu.error_status),
                        });
                    }
                    return Ok(pdu.varbinds.map(|(_, value)| own(&value)).collect());
                }
                Err(err) if attempts < self.retries && retryable(&err) => attempts += 1,
                Err(err) => return Err(classify(self.addr, &err)),
            }
        }
    }

    /// Walks one table column with GETBULK: ifIndex → value, at most `max` rows.
    fn walk(&mut self, column: &[u64], max: usize) -> Result<BTreeMap<u32, Owned>, PollError> {
        let base = self.oid(column)?;
        let mut next = base.clone();
        let mut next_parts: Vec<u64> = column.to_vec();
        let mut rows = BTreeMap::new();
        while rows.len() < max {
            let mut attempts = 0;
            // (inside the column, OID components, value), up to the first row outside the column.
            let batch = loop {
                match self.inner.getbulk(&[&next], 0, MAX_REPETITIONS) {
                    Ok(pdu) => {
                        if pdu.error_status != 0 {
                            return Err(PollError::Protocol {
                                addr: self.addr,
                                reason: format!("error status {}", pdu.error_status),
                            });
                        }
                        let mut batch = Vec::new();
                        for (name, value) in pdu.varbinds {
                            let within = name.starts_with(&base)
                                && !matches!(
                                    value,
                                    Value::EndOfMibView
                                        | Value::NoSuchObject
                                        | Value::NoSuchInstance
                                );
                            let parts: Vec<u64> =
                                name.iter().map(Iterator::collect).unwrap_or_default();
                            batch.push((within, parts, own(&value)));
                            if !within {
                                break;
                            }
                        }
                        break batch;
                    }
                    Err(err) if attempts < self.retries && retryable(&err) => attempts += 1,
                    Err(err) => return Err(classify(self.addr, &err)),
                }
            };
            let mut advanced = false;
            for (within, parts, value) in batch {
                // Outside the column, or an agent that does not advance (it would loop forever).
                if !within || parts <= next_parts {
                    return Ok(rows);
                }
                if let Some(index) = parts.last().and_then(|i| u32::try_from(*i).ok()) {
                    rows.insert(index, value);
                }
                next_parts = parts;
                advanced = true;
            }
            if !advanced {
                break;
            }
            next = self.oid(&next_parts)?;
        }
        Ok(rows)
    }

    fn protocol(&self, reason: String) -> PollError {
        PollError::Protocol {
            addr: self.addr,
            reason,
        }
    }
}

fn auth_protocol(protocol: AuthProtocol) -> snmp2::v3::AuthProtocol {
    match protocol {
        AuthProtocol::Md5 => snmp2::v3::AuthProtocol::Md5,
        AuthProtocol::Sha1 => snmp2::v3::AuthProtocol::Sha1,
        AuthProtocol::Sha224 => snmp2::v3::AuthProtocol::Sha224,
        AuthProtocol::Sha256 => snmp2::v3::AuthProtocol::Sha256,
        AuthProtocol::Sha384 => snmp2::v3::AuthProtocol::Sha384,
        AuthProtocol::Sha512 => snmp2::v3::AuthProtocol::Sha512,
    }
}

fn cipher_of(protocol: PrivProtocol) -> snmp2::v3::Cipher {
    match protocol {
        PrivProtocol::Des => snmp2::v3::Cipher::Des,
        PrivProtocol::Aes128 => snmp2::v3::Cipher::Aes128,
        PrivProtocol::Aes192 => snmp2::v3::Cipher::Aes192,
        PrivProtocol::Aes256 => snmp2::v3::Cipher::Aes256,
    }
}

/// Worth asking again: a timeout, a stale reply to an earlier request, or v3 engine state to update.
fn retryable(err: &snmp2::Error) -> bool {
    matches!(
        err,
        snmp2::Error::Receive | snmp2::Error::RequestIdMismatch | snmp2::Error::AuthUpdated
    )
}

fn classify(addr: SocketAddr, err: &snmp2::Error) -> PollError {
    match err {
        snmp2::Error::Receive | snmp2::Error::Send => PollError::NoAnswer(addr),
        snmp2::Error::AuthFailure(kind) => PollError::Auth {
            addr,
            reason: format!("{kind:?}"),
        },
        other => PollError::Protocol {
            addr,
            reason: format!("{other:?}"),
        },
    }
}

/// Polls one agent (blocking for at most about (1 + retries) × timeout per request).
pub fn poll_agent(
    agent: IpAddr,
    port: u16,
    credentials: &Credentials,
    timeout: Duration,
    retries: u32,
    max_interfaces: usize,
) -> Result<AgentNames, PollError> {
    let mut session = Session::open(agent, port, credentials, timeout, retries)?;
    let sys_name = match session.get(&[SYS_NAME])?.first() {
        Some(Owned::Text(name)) if !name.is_empty() => Some(Arc::from(name.as_str())),
        _ => None,
    };
    let names = session.walk(IF_NAME, max_interfaces)?;
    let descriptions = session.walk(IF_DESCR, max_interfaces)?;
    let aliases = session.walk(IF_ALIAS, max_interfaces)?;
    let high_speeds = session.walk(IF_HIGH_SPEED, max_interfaces)?;
    let speeds = session.walk(IF_SPEED, max_interfaces)?;
    let text = |table: &BTreeMap<u32, Owned>, index: u32| match table.get(&index) {
        Some(Owned::Text(text)) if !text.is_empty() => Some(text.clone()),
        _ => None,
    };
    let number = |table: &BTreeMap<u32, Owned>, index: u32| match table.get(&index) {
        Some(Owned::Number(n)) => Some(*n),
        _ => None,
    };
    let mut interfaces = HashMap::new();
    for &index in names.keys().chain(descriptions.keys()) {
        if interfaces.contains_key(&index) || interfaces.len() >= max_interfaces {
            continue;
        }
        let descr = text(&descriptions, index);
        let Some(name) = text(&names, index).or_else(|| descr.clone()) else {
            continue;
        };
        let description = text(&aliases, index)
            .filter(|alias| *alias != name)
            .or(descr.filter(|d| *d != name))
            .unwrap_or_default();
        let speed_mbps = number(&high_speeds, index)
            .filter(|s| *s > 0)
            .or_else(|| number(&speeds, index).map(|bps| bps / 1_000_000))
            .map_or(0, |mbps| u32::try_from(mbps).unwrap_or(u32::MAX));
        interfaces.insert(
            index,
            Interface {
                name: Arc::from(name),
                description: Arc::from(description),
                speed_mbps,
            },
        );
    }
    Ok(AgentNames {
        sys_name,
        interfaces,
    })
}
