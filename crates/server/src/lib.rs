//! rtflow-server
