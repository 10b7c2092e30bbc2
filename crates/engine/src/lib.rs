//! rtflow-engine
