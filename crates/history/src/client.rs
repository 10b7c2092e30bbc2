//! ClickHouse over its HTTP interface: statements as the POST body, inserts as
//! `?query=INSERT INTO … FORMAT RowBinary` with the rows as the body, query results as `JSONCompact`.
//! A blocking client serves the exporter's sender thread; an async one serves the REST history queries.

use std::time::Duration;

use reqwest::Url;
use serde::Deserialize;

/// Where ClickHouse is and who rtflow is there.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Endpoint {
    /// Base URL (scheme, host, port, path), without query.
    pub url: Url,
    /// Database the tables live in.
    pub database: String,
    /// User name, when ClickHouse needs one (else its `default` user).
    pub user: Option<String>,
    /// That user's password.
    pub password: Option<String>,
}

/// The default database when neither the URL nor `clickhouse.database` names one.
pub(crate) const DEFAULT_DATABASE: &str = "rtflow";

impl Endpoint {
    /// `http://[user[:password]@]host:port/[?database=name]`. `database`, `user` and `password`, when given,
    /// win over what the URL says.
    pub fn parse(
        url: &str,
        database: Option<&str>,
        user: Option<&str>,
        password: Option<&str>,
    ) -> Result<Endpoint, EndpointError> {
        let mut parsed = Url::parse(url).map_err(|err| EndpointError::Url {
            url: url.to_string(),
            reason: err.to_string(),
        })?;
        if parsed.scheme() != "http" {
            return Err(EndpointError::Url {
                url: url.to_string(),
                reason: format!(
                    "scheme {:?} is not supported (plain http only; put a TLS proxy in front for https)",
                    parsed.scheme()
                ),
            });
        }
        let url_database = parsed
            .query_pairs()
            .find(|(k, _)| k == "database")
            .map(|(_, v)| v.into_owned());
        let url_user = (!parsed.username().is_empty()).then(|| decode(parsed.username()));
        let url_password = parsed.password().map(decode);
        parsed.set_query(None);
        let _ = parsed.set_username("");
        let _ = parsed.set_password(None);
        let database = database
            .map(str::to_string)
            .or(url_database)
            .filter(|d| !d.is_empty())
            .unwrap_or_else(|| DEFAULT_DATABASE.to_string());
        Ok(Endpoint {
            url: parsed,
            database,
            user: user.map(str::to_string).or(url_user),
            password: password.map(str::to_string).or(url_password),
        })
    }

    /// The URL without credentials, for logs.
    pub fn display(&self) -> String {
        format!("{} (database {})", self.url, self.database)
    }
}

fn decode(text: &str) -> String {
    // Percent-decoding of the user-info part; invalid sequences are kept as they are.
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        match (bytes.get(i), bytes.get(i + 1), bytes.get(i + 2)) {
            (Some(b'%'), Some(&h), Some(&l)) if hex(h).is_some() && hex(l).is_some() => {
                out.push((hex(h).unwrap_or(0) * 16 + hex(l).unwrap_or(0)) as u8);
                i += 3;
            }
            (Some(&b), _, _) => {
                out.push(b);
                i += 1;
            }
            _ => break,
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A bad `clickhouse.url`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EndpointError {
    /// The URL does not parse, or its scheme is not `http`.
    #[error("clickhouse url {url:?}: {reason}")]
    Url {
        /// The URL given.
        url: String,
        /// What is wrong with it.
        reason: String,
    },
}

/// A request ClickHouse did not carry out.
#[derive(Debug, thiserror::Error)]
pub enum ClickHouseError {
    /// Connection refused, timeout, reset: worth retrying. The message names the cause down to its root
    /// (`error sending request: … Connection refused`), without reqwest's copy of the request URL, which holds
    /// the whole INSERT statement.
    #[error("ClickHouse at {url}: {}", transport_cause(cause))]
    Transport {
        /// The server's URL (without the query).
        url: String,
        /// The transport error, stripped of its URL.
        cause: reqwest::Error,
    },
    /// ClickHouse answered with an error (`Code: N, e.displayText() = …`).
    #[error("ClickHouse answered {status}: {message}")]
    Server {
        /// The HTTP status code.
        status: u16,
        /// ClickHouse's error text.
        message: String,
    },
    /// A query answer that is not the JSON expected.
    #[error("unexpected ClickHouse answer: {0}")]
    Answer(String),
}

/// A transport error (stored `without_url`) and its causes, joined by `: `.
fn transport_cause(error: &reqwest::Error) -> String {
    let mut text = error.to_string();
    let mut cause = std::error::Error::source(error);
    while let Some(inner) = cause {
        text.push_str(": ");
        text.push_str(&inner.to_string());
        cause = inner.source();
    }
    text
}

impl ClickHouseError {
    /// Whether the same request may succeed later: transport errors and server-side 5xx (overload, too
    /// many parts, shutting down). A 4xx means the statement itself is wrong.
    pub fn is_transient(&self) -> bool {
        match self {
            ClickHouseError::Transport { .. } => true,
            ClickHouseError::Server { status, .. } => *status >= 500,
            ClickHouseError::Answer(_) => false,
        }
    }
}

/// The rows of a `FORMAT JSONCompact` answer.
#[derive(Debug, Deserialize)]
pub(crate) struct JsonCompact {
    /// One array of column values per row.
    pub data: Vec<Vec<serde_json::Value>>,
}

/// Settings added to every query: 64-bit integers as JSON numbers.
const QUERY_SETTINGS: &[(&str, &str)] = &[("output_format_json_quote_64bit_integers", "0")];

/// Blocking client (the exporter's sender thread and schema setup).
#[derive(Clone, Debug)]
pub struct Client {
    http: reqwest::blocking::Client,
    endpoint: Endpoint,
}

impl Client {
    /// A client whose requests time out after `timeout`.
    pub fn new(endpoint: Endpoint, timeout: Duration) -> Result<Client, ClickHouseError> {
        // No idle connections kept: a ClickHouse being stopped waits for its open keep-alive connections, and
        // an exporter sending every few hundred milliseconds would keep one busy for as long as it lets it
        // (16 s measured on 18.16). One TCP handshake per batch costs nothing at ~1 insert/s.
        let http = reqwest::blocking::Client::builder()
            .pool_max_idle_per_host(0)
            .timeout(timeout)
            .connect_timeout(timeout.min(Duration::from_secs(5)))
            .build()
            .map_err(|cause| ClickHouseError::Transport {
                url: endpoint.url.to_string(),
                cause: cause.without_url(),
            })?;
        Ok(Client { http, endpoint })
    }

    /// Where this client sends its requests.
    pub fn endpoint(&self) -> &Endpoint {
        &self.endpoint
    }

    /// Runs one statement; returns the answer's text.
    pub fn execute(&self, sql: &str) -> Result<String, ClickHouseError> {
        let request = self
            .http
            .post(self.endpoint.url.clone())
            .query(QUERY_SETTINGS)
            .body(sql.to_string());
        self.send(request)
    }

    /// Runs a query (without a FORMAT clause) and returns its rows.
    pub fn query_rows(&self, sql: &str) -> Result<Vec<Vec<serde_json::Value>>, ClickHouseError> {
        let text = self.execute(&format!("{sql} FORMAT JSONCompact"))?;
        parse_rows(&text)
    }

    /// `INSERT INTO {target} FORMAT RowBinary` with `rows` as the body. `target` is `db.table (columns)`.
    pub fn insert_row_binary(&self, target: &str, rows: Vec<u8>) -> Result<(), ClickHouseError> {
        let query = format!("INSERT INTO {target} FORMAT RowBinary");
        let request = self
            .http
            .post(self.endpoint.url.clone())
            .query(&[("query", query.as_str())])
            .body(rows);
        self.send(request).map(drop)
    }

    fn send(&self, request: reqwest::blocking::RequestBuilder) -> Result<String, ClickHouseError> {
        let request = with_credentials(request, &self.endpoint, |r, u, p| r.basic_auth(u, p));
        let transport = |cause: reqwest::Error| ClickHouseError::Transport {
            url: self.endpoint.url.to_string(),
            cause: cause.without_url(),
        };
        let response = request.send().map_err(transport)?;
        let status = response.status();
        let text = response.text().map_err(transport)?;
        answer(status.as_u16(), text)
    }
}

/// Async client (REST history queries).
#[derive(Clone, Debug)]
pub struct AsyncClient {
    http: reqwest::Client,
    endpoint: Endpoint,
}

impl AsyncClient {
    /// A client for `endpoint` whose requests give up after `timeout`.
    pub fn new(endpoint: Endpoint, timeout: Duration) -> Result<AsyncClient, ClickHouseError> {
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .build()
            .map_err(|cause| ClickHouseError::Transport {
                url: endpoint.url.to_string(),
                cause: cause.without_url(),
            })?;
        Ok(AsyncClient { http, endpoint })
    }

    /// Where this client sends its requests.
    pub fn endpoint(&self) -> &Endpoint {
        &self.endpoint
    }

    /// Runs a query (without a FORMAT clause) and returns its rows.
    pub async fn query_rows(
        &self,
        sql: &str,
    ) -> Result<Vec<Vec<serde_json::Value>>, ClickHouseError> {
        let request = self
            .http
            .post(self.endpoint.url.clone())
            .query(QUERY_SETTINGS)
            .body(format!("{sql} FORMAT JSONCompact"));
        let request = with_credentials(request, &self.endpoint, |r, u, p| r.basic_auth(u, p));
        let transport = |cause: reqwest::Error| ClickHouseError::Transport {
            url: self.endpoint.url.to_string(),
            cause: cause.without_url(),
        };
        let response = request.send().await.map_err(transport)?;
        let status = response.status();
        let text = response.text().await.map_err(transport)?;
        parse_rows(&answer(status.as_u16(), text)?)
    }
}

fn with_credentials<R>(
    request: R,
    endpoint: &Endpoint,
    basic_auth: impl FnOnce(R, &str, Option<&str>) -> R,
) -> R {
    match &endpoint.user {
        Some(user) => basic_auth(request, user, endpoint.password.as_deref()),
        None if endpoint.password.is_some() => {
            basic_auth(request, "default", endpoint.password.as_deref())
        }
        None => request,
    }
}

fn answer(status: u16, text: String) -> Result<String, ClickHouseError> {
    if (200..300).contains(&status) {
        Ok(text)
    } else {
        Err(ClickHouseError::Server {
            status,
            message: text.trim().to_string(),
        })
    }
}

fn parse_rows(text: &str) -> Result<Vec<Vec<serde_json::Value>>, ClickHouseError> {
    serde_json::from_str::<JsonCompact>(text)
        .map(|answer| answer.data)
        .map_err(|err| ClickHouseError::Answer(format!("{err}: {}", truncate(text, 200))))
}

fn truncate(text: &str, max: usize) -> &str {
    match text.char_indices().nth(max) {
        Some((at, _)) => text.get(..at).unwrap_or(text),
        None => text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_transport_error_names_its_root_cause_and_not_the_statement() {
        // A port nothing listens on: bound, then released.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|listener| listener.local_addr())
            .map(|address| address.port())
            .unwrap_or_else(|e| panic!("{e}"));
        let endpoint = Endpoint::parse(&format!("http://127.0.0.1:{port}/"), None, None, None)
            .unwrap_or_else(|e| panic!("{e}"));
        let client =
            Client::new(endpoint, Duration::from_secs(2)).unwrap_or_else(|e| panic!("{e}"));
        let error = client
            .insert_row_binary("flows", vec![1, 2, 3])
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(
            error.starts_with(&format!("ClickHouse at http://127.0.0.1:{port}/: ")),
            "{error}"
        );
        assert!(error.contains("Connection refused"), "{error}");
        assert!(
            !error.contains("INSERT") && !error.contains("query="),
            "{error}"
        );
    }

    #[test]
    fn database_comes_from_the_option_then_the_url_then_the_default() {
        let e = Endpoint::parse("http://ch:8123/?database=flowsdb", None, None, None).unwrap();
        assert_eq!(e.database, "flowsdb");
        assert_eq!(e.url.as_str(), "http://ch:8123/");
        let e = Endpoint::parse("http://ch:8123/?database=flowsdb", Some("x"), None, None).unwrap();
        assert_eq!(e.database, "x");
        let e = Endpoint::parse("http://ch:8123", None, None, None).unwrap();
        assert_eq!(e.database, DEFAULT_DATABASE);
    }

    #[test]
    fn credentials_come_from_the_url_unless_given() {
        let e = Endpoint::parse("http://bob:p%40ss@ch:8123/", None, None, None).unwrap();
        assert_eq!(e.user.as_deref(), Some("bob"));
        assert_eq!(e.password.as_deref(), Some("p@ss"));
        assert_eq!(e.url.as_str(), "http://ch:8123/");
        let e = Endpoint::parse("http://bob:x@ch/", None, Some("alice"), Some("y")).unwrap();
        assert_eq!(
            (e.user.as_deref(), e.password.as_deref()),
            (Some("alice"), Some("y"))
        );
    }

    #[test]
    fn bad_urls_are_refused_with_the_reason() {
        let err = Endpoint::parse("ch:8123", None, None, None).unwrap_err();
        assert!(err.to_string().contains("ch:8123"), "{err}");
        let err = Endpoint::parse("https://ch:8443/", None, None, None).unwrap_err();
        assert!(err.to_string().contains("plain http"), "{err}");
    }

    #[test]
    fn server_errors_are_transient_only_when_5xx() {
        let e = ClickHouseError::Server {
            status: 500,
            message: String::new(),
        };
        assert!(e.is_transient());
        let e = ClickHouseError::Server {
            status: 400,
            message: String::new(),
        };
        assert!(!e.is_transient());
    }
}
