//! Errors of the simulator: only scenarios can be wrong; running one cannot fail.

/// A scenario that cannot be run.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScenarioError {
    /// Not valid TOML (or YAML), or a key or value of the wrong kind.
    #[error("{origin}: {message}")]
    Parse {
        /// The file (or "the default scenario").
        origin: String,
        /// What the TOML or YAML parser said, with line and column.
        message: String,
    },
    /// A well-formed file describing something that cannot be simulated.
    #[error("{origin}: {message}")]
    Invalid {
        /// The file (or "the default scenario").
        origin: String,
        /// What is wrong and where.
        message: String,
    },
}
