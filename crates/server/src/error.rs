//! Start-up errors of the server. Messages leave the cause to the `source` chain (printed by `{:#}`).

use std::net::SocketAddr;
use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    #[error("cannot bind the sFlow UDP socket to {addr}")]
    BindUdp {
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot bind the HTTP listener to {addr}")]
    BindHttp {
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot replay capture {path}")]
    Capture {
        path: PathBuf,
        #[source]
        source: rtflow_capture::CaptureError,
    },
    #[error("cannot read the OUI names file {path} (oui.names)")]
    OuiNames {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{feed}: cannot install {what}")]
    FeedSetup {
        feed: String,
        what: String,
        #[source]
        source: Box<rtflow_engine::EngineError>,
    },
    #[error("--replay and an internal feed cannot both be the sFlow input")]
    TwoInputs,
    #[error("cannot start a thread")]
    Thread(#[source] std::io::Error),
}
