//! rtflow-packet
