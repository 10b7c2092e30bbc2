//! How `rtflow serve` answers signals, as sFlow-RT's JVM does where it matters to its users:
//!
//! * SIGTERM, SIGINT (Ctrl-C) and SIGHUP (a closed terminal, `kill -HUP`): clean shutdown — the HTTP server
//!   stops accepting, long-polls and event streams end, the receive, replay and tick threads finish — then exit
//!   status 0. There is no configuration file to reload: definitions live in the REST API.
//! * SIGQUIT (Ctrl-\) and SIGUSR1: a status report on stderr (the JVM prints a thread dump on SIGQUIT and keeps
//!   running); the server keeps running.

/// What a received signal asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Request {
    /// Stop cleanly; the signal's name.
    Stop(&'static str),
    /// Print the status report; the signal's name.
    Status(&'static str),
}

/// The signals `rtflow serve` handles, registered at once so that none of them can end the process uncleanly
/// once the server is up.
pub(super) struct Signals {
    #[cfg(unix)]
    streams: Vec<(tokio::signal::unix::Signal, Request)>,
}

impl Signals {
    /// Registers the handlers; must run inside the tokio runtime.
    pub(super) fn register() -> std::io::Result<Self> {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            let wanted = [
                (SignalKind::terminate(), Request::Stop("SIGTERM")),
                (SignalKind::interrupt(), Request::Stop("SIGINT")),
                (SignalKind::hangup(), Request::Stop("SIGHUP")),
                (SignalKind::quit(), Request::Status("SIGQUIT")),
                (SignalKind::user_defined1(), Request::Status("SIGUSR1")),
            ];
            let mut streams = Vec::with_capacity(wanted.len());
            for (kind, request) in wanted {
                streams.push((signal(kind)?, request));
            }
            Ok(Self { streams })
        }
        #[cfg(not(unix))]
        {
            Ok(Self {})
        }
    }

    /// Waits for the next handled signal.
    pub(super) async fn next(&mut self) -> Request {
        #[cfg(unix)]
        {
            let waits = self.streams.iter_mut().map(|(stream, request)| {
                let request = *request;
                Box::pin(async move {
                    stream.recv().await;
                    request
                })
            });
            futures_select_all(waits).await
        }
        #[cfg(not(unix))]
        {
            let _ = tokio::signal::ctrl_c().await;
            Request::Stop("Ctrl-C")
        }
    }
}

/// The first of several futures to finish (a small `select_all`, avoiding a dependency for one use).
#[cfg(unix)]
async fn futures_select_all<F>(futures: impl Iterator<Item = std::pin::Pin<Box<F>>>) -> Request
where
    F: std::future::Future<Output = Request>,
{
    let mut futures: Vec<_> = futures.collect();
    std::future::poll_fn(move |cx| {
        for future in &mut futures {
            if let std::task::Poll::Ready(request) = future.as_mut().poll(cx) {
                return std::task::Poll::Ready(request);
            }
        }
        std::task::Poll::Pending
    })
    .await
}
