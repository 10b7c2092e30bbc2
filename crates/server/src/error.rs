//! Start-up errors of the server.

use std::net::SocketAddr;
use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    #[error("cannot bind the sFlow UDP socket to {addr}: {source}")]
    BindUdp {
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot bind the HTTP listener to {addr}: {source}")]
    BindHttp {
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot open capture {path}: {source}")]
    Capture {
        path: PathBuf,
        #[source]
        source: rtflow_capture::CaptureError,
    },
    #[error("cannot start a thread: {0}")]
    Thread(#[source] std::io::Error),
}
