//! rtflow-engine
pub mod flowlang;
