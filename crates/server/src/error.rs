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
    #[error("the /inc/ asset directory {path} (--inc-dir, http.inc.dir) does not exist")]
    IncDir { path: PathBuf },
    #[error("cannot start a thread")]
    Thread(#[source] std::io::Error),
    #[error("flow history (clickhouse.url)")]
    ClickHouseUrl(#[source] rtflow_history::EndpointError),
    #[error("SNMP settings")]
    Snmp(#[source] crate::properties::PropertyError),
    #[error("cannot start the flow history exporter")]
    History(#[source] rtflow_history::ExportError),
    #[error("cannot start the scripts")]
    Scripts(#[source] rtflow_script::ScriptError),
}

/// `err` followed by its causes, `: `-separated (as anyhow's `{:#}` prints a chain), for log lines.
pub(crate) fn with_causes(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut cause = err.source();
    while let Some(next) = cause {
        text.push_str(": ");
        text.push_str(&next.to_string());
        cause = next.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn causes_follow_the_message_once() {
        let err = ServerError::OuiNames {
            path: PathBuf::from("/x"),
            source: std::io::Error::from(std::io::ErrorKind::NotFound),
        };
        assert_eq!(
            with_causes(&err),
            "cannot read the OUI names file /x (oui.names): entity not found"
        );
    }
}
