//! sFlow-RT system properties (spec §5): the `name=value` settings that sFlow-RT takes as `-Dname=value`
//! or from `conf.d/*.conf` / `system.propertyFiles` files, so an existing deployment's configuration
//! works unchanged. [`Properties`] holds them in order of precedence (later wins); [`Properties::apply`]
//! maps the ones rtflow implements onto a [`ServerConfig`] and reports the rest.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::path::PathBuf;

use crate::server::ServerConfig;

/// A property that could not be read or used, naming the property (and the file line).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PropertyError {
    /// A line of a properties file (or a `-D` argument) is not `NAME=VALUE`.
    #[error("{origin}: expected NAME=VALUE, got {text:?}")]
    Syntax {
        /// Where it came from (`file:line`, or the argument).
        origin: String,
        /// The text as given.
        text: String,
    },
    /// A property's value is not what the property takes.
    #[error("property {name}: expected {expected}, got {value:?}")]
    Invalid {
        /// The property.
        name: String,
        /// Its value as given.
        value: String,
        /// What it takes (`"yes or no"`, `"a number of seconds"`…).
        expected: &'static str,
    },
}

/// How rtflow treats a property it does not apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unapplied {
    /// An sFlow-RT property for a capability rtflow does not have (yet): worth a warning.
    Unsupported,
    /// Not an sFlow-RT core property (an app's `<app>.<name>` setting, or a typo): kept for scripts.
    Unknown,
}

/// sFlow-RT core properties that rtflow accepts but does not act on.
const UNSUPPORTED: &[&str] = &[
    "http.rest",
    "http.json.indent",
    "http.requestheadersize",
    "http.responseheadersize",
    "http.requestbuffersize",
    "http.responsebuffersize",
    "sflow.rcvpktsbuffer",
    "geo.country",
    "geo.asn",
    "geo.country6",
    "geo.asn6",
    "workers.number",
    "workers.maxqueue",
    "github.branch",
    "github.query",
];

/// Properties in the order they were given; a later value of a name replaces an earlier one.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Properties {
    values: BTreeMap<String, String>,
}

impl Properties {
    /// Sets `name` to `value` (a later setting wins, as sFlow-RT's `-D` over its files).
    pub fn set(&mut self, name: &str, value: &str) {
        self.values
            .insert(name.trim().to_string(), value.trim().to_string());
    }

    /// The value of `name`, if set.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.values.get(name).map(String::as_str)
    }

    /// Every property as (name, value), in name order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.values.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// One `-D` argument: `NAME=VALUE`.
    pub fn set_definition(&mut self, definition: &str) -> Result<(), PropertyError> {
        match definition.split_once('=') {
            Some((name, value)) if !name.trim().is_empty() => {
                self.set(name, value);
                Ok(())
            }
            _ => Err(PropertyError::Syntax {
                origin: "-D".into(),
                text: definition.into(),
            }),
        }
    }

    /// The lines of a properties file (`origin` names it in errors): `name=value`, `name: value` or
    /// `name value`; blank lines and lines starting with `#` or `!` are skipped. (Java's `\` escapes and
    /// line continuations are not interpreted; sFlow-RT's shipped files do not use them.)
    pub fn read_file_text(&mut self, origin: &str, text: &str) -> Result<(), PropertyError> {
        for (number, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') || line.starts_with('!') {
                continue;
            }
            let syntax_error = || PropertyError::Syntax {
                origin: format!("{origin} line {}", number + 1),
                text: line.into(),
            };
            // As Java's properties: the name ends at the first `=`, `:` or space; then spaces and one
            // `=` or `:` separate it from the value.
            let at = line.find(|c: char| c == '=' || c == ':' || c.is_whitespace());
            let Some((name, rest)) = at.map(|at| line.split_at(at)) else {
                return Err(syntax_error());
            };
            let rest = rest.trim_start();
            let value = rest.strip_prefix(['=', ':']).unwrap_or(rest);
            if name.is_empty() {
                return Err(syntax_error());
            }
            self.set(name, value);
        }
        Ok(())
    }

    /// The files named by `system.propertyFiles` (comma-separated).
    pub fn property_files(&self) -> Vec<PathBuf> {
        self.get("system.propertyFiles")
            .map(|list| {
                list.split(',')
                    .map(str::trim)
                    .filter(|p| !p.is_empty())
                    .map(PathBuf::from)
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Applies the properties rtflow implements to `config`, keeps all of them in
    /// `config.properties` (for scripts' `getSystemProperty`), and returns those it did not apply.
    pub fn apply(
        &self,
        config: &mut ServerConfig,
    ) -> Result<Vec<(String, Unapplied)>, PropertyError> {
        let mut unapplied = Vec::new();
        for (name, value) in self.iter() {
            let invalid = |expected| PropertyError::Invalid {
                name: name.into(),
                value: value.into(),
                expected,
            };
            match name {
                "sflow.port" => {
                    config.sflow_port = value.parse().map_err(|_| invalid("a UDP port"))?;
                }
                "sflow.hostname" => {
                    config.sflow_bind =
                        Some(parse_ip(value).ok_or_else(|| invalid("an IP address"))?);
                }
                "sflow.file" => config.replay = Some(PathBuf::from(value)),
                "oui.names" => config.oui_names = Some(PathBuf::from(value)),
                "http.inc.dir" => config.inc_dir = Some(PathBuf::from(value)),
                "http.html" => {
                    config.html_pages = parse_flag(value).ok_or_else(|| invalid("yes or no"))?;
                }
                "http.html.redirect" => {
                    if value.is_empty() || axum::http::HeaderValue::from_str(value).is_err() {
                        return Err(invalid("a URL path such as ./app/browse-flows/html/"));
                    }
                    config.home_page = value.to_string();
                }
                // sFlow-RT runs the apps in `app/` of its installation and documents no property for it; rtflow
                // names the directory in sFlow-RT's `app.` namespace (`--app-dir` wins over it).
                "app.dir" => config.scripts.app_dir = Some(PathBuf::from(value)),
                "http.port" => {
                    config.http_port = value.parse().map_err(|_| invalid("a TCP port"))?;
                }
                "http.hostname" => {
                    config.http_bind =
                        Some(parse_ip(value).ok_or_else(|| invalid("an IP address"))?);
                }
                "http.readonly" => {
                    config.readonly = parse_flag(value).ok_or_else(|| invalid("yes or no"))?;
                }
                "http.log" => {
                    config.http_log = parse_flag(value).ok_or_else(|| invalid("yes or no"))?;
                }
                "events.max" => {
                    config.engine.events_max =
                        parse_count(value).ok_or_else(|| invalid("a positive integer"))?;
                }
                "flows.max" => {
                    config.engine.flows_max =
                        parse_count(value).ok_or_else(|| invalid("a positive integer"))?;
                }
                "prometheus.metric.prefix" => {
                    if !is_metric_name_prefix(value) {
                        return Err(invalid(
                            "a Prometheus name prefix ([a-zA-Z_:][a-zA-Z0-9_:]*)",
                        ));
                    }
                    config.prometheus_prefix = value.to_string();
                }
                // rtflow always writes `# TYPE` lines; accept the switch that turns them on in sFlow-RT.
                "prometheus.type" => {
                    parse_flag(value).ok_or_else(|| invalid("yes or no"))?;
                }
                "system.propertyFiles" => {}
                // Flow history (rtflow's own `clickhouse.*` properties).
                _ if config.clickhouse.apply_property(name, value)? => {}
                // SNMP names (sFlow-RT's `snmp.*`), checked when the server starts.
                _ if config.snmp.apply_property(name, value) => {}
                // Scripting (`script.file`, `script.file.N`, `script.store`, queue sizes, limits): below.
                _ if name.starts_with("script.") => {}
                _ if UNSUPPORTED.contains(&name) => {
                    unapplied.push((name.to_string(), Unapplied::Unsupported));
                }
                _ => unapplied.push((name.to_string(), Unapplied::Unknown)),
            }
        }
        let names: Vec<String> = self.values.keys().cloned().collect();
        config
            .scripts
            .apply_properties(&names, |n| self.get(n).map(str::to_string))
            .map_err(|e| PropertyError::Invalid {
                name: e.name,
                value: e.value,
                expected: e.reason,
            })?;
        config.properties = self.values.clone();
        Ok(unapplied)
    }
}

/// sFlow-RT's booleans: `yes`/`no` (and `true`/`false`).
fn parse_flag(value: &str) -> Option<bool> {
    match value.to_ascii_lowercase().as_str() {
        "yes" | "true" | "on" => Some(true),
        "no" | "false" | "off" => Some(false),
        _ => None,
    }
}

fn parse_count(value: &str) -> Option<usize> {
    value.parse().ok().filter(|&n: &usize| n > 0)
}

/// An address, also in brackets (`[::1]`) as hostnames are written in URLs.
fn parse_ip(value: &str) -> Option<IpAddr> {
    value
        .strip_prefix('[')
        .and_then(|v| v.strip_suffix(']'))
        .unwrap_or(value)
        .parse()
        .ok()
}

/// Empty, or a valid start of a Prometheus metric name.
fn is_metric_name_prefix(prefix: &str) -> bool {
    let mut chars = prefix.chars();
    chars
        .next()
        .is_none_or(|c| c.is_ascii_alphabetic() || c == '_' || c == ':')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn applied(lines: &str) -> (ServerConfig, Vec<(String, Unapplied)>) {
        let mut properties = Properties::default();
        properties
            .read_file_text("test.conf", lines)
            .unwrap_or_else(|e| panic!("{e}"));
        let mut config = ServerConfig::default();
        let unapplied = properties
            .apply(&mut config)
            .unwrap_or_else(|e| panic!("{e}"));
        (config, unapplied)
    }

    #[test]
    fn file_forms_comments_and_the_settings_they_make() {
        let (config, unapplied) = applied(
            "# sflow-rt.conf\n\
             ! also a comment\n\
             \n\
             sflow.port=6344\n\
             http.port: 8010\n\
             http.hostname [::1]\n\
             sflow.hostname = 127.0.0.1\n\
             http.readonly=yes\n\
             http.log=true\n\
             events.max=50\n\
             flows.max=70\n\
             prometheus.metric.prefix=rt_\n\
             sflow.file=/tmp/demo.pcap\n\
             oui.names=/opt/oui.txt\n\
             app.dir=/opt/sflow-rt/app\n\
             http.html.redirect=./app/browse-flows/html/\n\
             http.html=no\n\
             browse-flows.maxFlows=20\n\
             geo.asn=/opt/asn.mmdb\n",
        );
        assert_eq!(config.sflow_port, 6344);
        assert_eq!(config.http_port, 8010);
        assert_eq!(config.http_bind, parse_ip("::1"));
        assert_eq!(config.sflow_bind, parse_ip("127.0.0.1"));
        assert!(config.readonly && config.http_log);
        assert_eq!(
            (config.engine.events_max, config.engine.flows_max),
            (50, 70)
        );
        assert_eq!(config.prometheus_prefix, "rt_");
        assert_eq!(config.replay, Some(PathBuf::from("/tmp/demo.pcap")));
        assert_eq!(config.oui_names, Some(PathBuf::from("/opt/oui.txt")));
        assert_eq!(
            config.scripts.app_dir,
            Some(PathBuf::from("/opt/sflow-rt/app"))
        );
        assert_eq!(config.home_page, "./app/browse-flows/html/");
        assert!(!config.html_pages);
        assert_eq!(
            unapplied,
            vec![
                ("browse-flows.maxFlows".to_string(), Unapplied::Unknown),
                ("geo.asn".to_string(), Unapplied::Unsupported),
            ]
        );
        // Every property is kept for scripts, applied or not.
        assert_eq!(
            config
                .properties
                .get("browse-flows.maxFlows")
                .map(String::as_str),
            Some("20")
        );
    }

    #[test]
    fn later_definitions_win_and_defaults_stay() {
        let mut properties = Properties::default();
        properties
            .read_file_text("a.conf", "http.port=9000\nsflow.port=7000")
            .unwrap_or_else(|e| panic!("{e}"));
        properties
            .set_definition("http.port=9001")
            .unwrap_or_else(|e| panic!("{e}"));
        let mut config = ServerConfig::default();
        properties
            .apply(&mut config)
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!((config.http_port, config.sflow_port), (9001, 7000));
        assert!(!config.readonly);
        assert_eq!(config.prometheus_prefix, "sflow_");
    }

    #[test]
    fn errors_name_the_property_or_the_line() {
        let mut properties = Properties::default();
        assert_eq!(
            properties.read_file_text("x.conf", "ok=1\n=oops"),
            Err(PropertyError::Syntax {
                origin: "x.conf line 2".into(),
                text: "=oops".into()
            })
        );
        assert!(properties.set_definition("novalue").is_err());
        for (name, value) in [
            ("sflow.port", "65536"),
            ("http.hostname", "localhost:80"),
            ("http.readonly", "maybe"),
            ("events.max", "0"),
            ("prometheus.metric.prefix", "9bad"),
            ("http.html.redirect", "./bad\npath"),
        ] {
            let mut p = Properties::default();
            p.set(name, value);
            let err = p.apply(&mut ServerConfig::default());
            assert!(
                matches!(&err, Err(PropertyError::Invalid { name: n, .. }) if n == name),
                "{name}={value}: {err:?}"
            );
        }
    }

    #[test]
    fn property_files_list() {
        let mut p = Properties::default();
        p.set("system.propertyFiles", " a.conf, /etc/b.conf ,");
        assert_eq!(
            p.property_files(),
            vec![PathBuf::from("a.conf"), PathBuf::from("/etc/b.conf")]
        );
    }
}
