//! Start-up errors of the server. Messages leave the cause to the `source` chain (printed by `{:#}`).

use std::net::SocketAddr;
use std::path::PathBuf;

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    /// The sFlow UDP socket could not be bound (port in use, no permission, no such address).
    #[error("cannot bind the sFlow UDP socket to {addr}")]
    BindUdp {
        /// The address asked for.
        addr: SocketAddr,
        /// The operating system's refusal.
        #[source]
        source: std::io::Error,
    },
    /// The REST API's TCP listener could not be bound.
    #[error("cannot bind the HTTP listener to {addr}")]
    BindHttp {
        /// The address asked for.
        addr: SocketAddr,
        /// The operating system's refusal.
        #[source]
        source: std::io::Error,
    },
    /// The capture to replay could not be opened or is not pcap/pcapng.
    #[error("cannot replay capture {path}")]
    Capture {
        /// The capture file.
        path: PathBuf,
        /// Why.
        #[source]
        source: rtflow_capture::CaptureError,
    },
    /// The OUI names file could not be read.
    #[error("cannot read the OUI names file {path} (oui.names)")]
    OuiNames {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// An internal feed's flows, thresholds or topology were refused by the engine.
    #[error("{feed}: cannot install {what}")]
    FeedSetup {
        /// The feed (`demo`).
        feed: String,
        /// What was refused (`flow pairs`, `the topology`).
        what: String,
        /// The engine's reason.
        #[source]
        source: Box<rtflow_engine::EngineError>,
    },
    /// Both a capture to replay and an internal feed were given.
    #[error("--replay and an internal feed cannot both be the sFlow input")]
    TwoInputs,
    /// The `/inc/` web library directory given does not exist.
    #[error("the /inc/ asset directory {path} (--inc-dir, http.inc.dir) does not exist")]
    IncDir {
        /// The directory.
        path: PathBuf,
    },
    /// A server thread could not be started.
    #[error("cannot start a thread")]
    Thread(#[source] std::io::Error),
    /// `clickhouse.url` is not a usable URL.
    #[error("flow history (clickhouse.url)")]
    ClickHouseUrl(#[source] rtflow_history::EndpointError),
    /// An `snmp.*` property is invalid.
    #[error("SNMP settings")]
    Snmp(#[source] crate::properties::PropertyError),
    /// The ClickHouse exporter could not start (its spool directory, its schema).
    #[error("cannot start the flow history exporter")]
    History(#[source] rtflow_history::ExportError),
    /// Scripts or apps could not start.
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
