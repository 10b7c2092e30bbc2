//! Errors of the engine's configuration API (HTTP 400/404 in the server).

use crate::query::QueryError;
use rtflow_flowlang::{DefinitionError, LookupError};

/// Kinds of named objects, for error messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ObjectKind {
    /// A flow definition (`/flow/{name}/json`).
    Flow,
    /// A threshold (`/threshold/{name}/json`).
    Threshold,
    /// An address group (`/group/{name}/json`).
    Group,
    /// A map (`/map/{name}/json`).
    Map,
    /// An sFlow forwarding session (`/forwarding/{name}/json`).
    Forwarding,
    /// A tenant (`/tenant/{name}/json`).
    Tenant,
    /// An sFlow agent.
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

/// Why the engine refused a configuration change or a query.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum EngineError {
    /// Unknown name (HTTP 404).
    #[error("{kind} {name:?} not found")]
    NotFound {
        /// What kind of object was looked for.
        kind: ObjectKind,
        /// The name asked for.
        name: String,
    },
    /// The name cannot name an object (empty, too long, characters URLs cannot carry).
    #[error("invalid {kind} name {name:?}: {reason}")]
    InvalidName {
        /// The kind of object being set.
        kind: ObjectKind,
        /// The name as given.
        name: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A new object would exceed the kind's limit (`EngineConfig`); replacing an existing one is allowed.
    #[error("too many {kind} definitions (limit {limit})")]
    LimitReached {
        /// The kind of object.
        kind: ObjectKind,
        /// How many the engine keeps at most.
        limit: usize,
    },
    /// The message includes the cause (REST and script clients show `to_string()`); it is not
    /// also a `source()`, so printing the chain does not repeat it.
    #[error("flow {name:?}: {cause}")]
    Definition {
        /// The flow's name.
        name: String,
        /// What is wrong with the definition.
        cause: DefinitionError,
    },
    /// A threshold that parsed but cannot be used (empty metric, a value that is not finite…).
    #[error("threshold {name:?}: {reason}")]
    InvalidThreshold {
        /// The threshold's name.
        name: String,
        /// What is wrong, starting with the field.
        reason: String,
    },
    /// The message includes the cause, as for [`EngineError::Definition`].
    #[error("{kind} {name:?}: {cause}")]
    Lookup {
        /// Group or map.
        kind: ObjectKind,
        /// Its name.
        name: String,
        /// What is wrong with the document.
        cause: LookupError,
    },
    /// A tenant definition that parsed but cannot be used; `reason` starts with the offending field.
    #[error("tenant {name:?}: {reason}")]
    InvalidTenant {
        /// The tenant's name.
        name: String,
        /// What is wrong, starting with the field.
        reason: &'static str,
    },
    /// A topology with an incomplete link or a node agent that is not an IP address.
    #[error("invalid topology: {0}")]
    InvalidTopology(String),
    /// A query's parameters do not parse.
    #[error(transparent)]
    Query(#[from] QueryError),
}

impl EngineError {
    /// Whether this is an unknown-name error (HTTP 404) rather than a bad request.
    pub fn is_not_found(&self) -> bool {
        matches!(self, EngineError::NotFound { .. })
    }
}
