//! rtflow-sflow
