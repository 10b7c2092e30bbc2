//! The server side of the scripting seam: [`rtflow_script::Host`] over the shared engine, clock and properties.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;

use rtflow_engine::Millis;
use rtflow_script::Host;

use crate::state::Shared;

/// What scripts see of the server.
pub(crate) struct ServerHost {
    pub shared: Arc<Shared>,
    pub properties: BTreeMap<String, String>,
    pub http_addr: SocketAddr,
}

impl Host for ServerHost {
    fn engine(&self) -> rtflow_script::EngineGuard<'_> {
        Box::new(self.shared.engine.write())
    }

    fn now(&self) -> Millis {
        self.shared.clock.now()
    }

    fn property(&self, name: &str) -> Option<String> {
        self.properties.get(name).cloned()
    }

    fn property_names(&self) -> Vec<String> {
        self.properties.keys().cloned().collect()
    }

    fn version(&self) -> String {
        crate::http::sflow_rt_version()
    }

    fn local_url(&self) -> Option<String> {
        let ip = self.http_addr.ip();
        let host = if ip.is_unspecified() {
            match ip {
                std::net::IpAddr::V4(_) => "127.0.0.1".to_string(),
                std::net::IpAddr::V6(_) => "[::1]".to_string(),
            }
        } else if ip.is_ipv6() {
            format!("[{ip}]")
        } else {
            ip.to_string()
        };
        Some(format!("http://{host}:{}", self.http_addr.port()))
    }
}
