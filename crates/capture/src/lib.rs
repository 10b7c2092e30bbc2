//! rtflow-capture
