//! Errors of the engine's configuration API (HTTP 400/404 in the server).

use crate::query::QueryError;
use rtflow_flowlang::{DefinitionError, LookupError};

/// Kinds of named objects, for error messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ObjectKind {
    Flow,
    Threshold,
    Group,
    Map,
    Forwarding,
    Tenant,
    Agent,
}

impl std::fmt::Display for ObjectKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            ObjectKind::Flow => "flow",
            ObjectKind::Threshold => "threshold",
            ObjectKind::Group => "group",
            ObjectKind::Map => "map",
            ObjectKind::Forwarding => "forwarding",
            ObjectKind::Tenant => "tenant",
            ObjectKind::Agent => "agent",
        })
    }
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum EngineError {
    /// Unknown name (HTTP 404).
    #[error("{kind} {name:?} not found")]
    NotFound { kind: ObjectKind, name: String },
    #[error("invalid {kind} name {name:?}: {reason}")]
    InvalidName {
        kind: ObjectKind,
        name: String,
        reason: &'static str,
    },
    #[error("too many {kind} definitions (limit {limit})")]
    LimitReached { kind: ObjectKind, limit: usize },
    /// The message includes the cause (REST and script clients show `to_string()`); it is not
    /// also a `source()`, so printing the chain does not repeat it.
    #[error("flow {name:?}: {cause}")]
    Definition {
        name: String,
        cause: DefinitionError,
    },
    #[error("threshold {name:?}: {reason}")]
    InvalidThreshold { name: String, reason: String },
    /// The message includes the cause, as for [`EngineError::Definition`].
    #[error("{kind} {name:?}: {cause}")]
    Lookup {
        kind: ObjectKind,
        name: String,
        cause: LookupError,
    },
    /// A tenant definition that parsed but cannot be used; `reason` starts with the offending field.
    #[error("tenant {name:?}: {reason}")]
    InvalidTenant { name: String, reason: &'static str },
    #[error("invalid topology: {0}")]
    InvalidTopology(String),
    #[error(transparent)]
    Query(#[from] QueryError),
}

impl EngineError {
    /// Whether this is an unknown-name error (HTTP 404) rather than a bad request.
    pub fn is_not_found(&self) -> bool {
        matches!(self, EngineError::NotFound { .. })
    }
}
