//! Network calls of the script API: a small blocking HTTP/1.1 client (`http`, `http2`, `httpAsync`) with a
//! timeout on every call, UDP `syslog`, and `dnsGetAllByName`.
//!
//! The client speaks HTTP/1.1 over `http://` and `https://` (one request per connection, `Content-Length` or
//! chunked responses). TLS is rustls (on ring), trusting the system's roots (Debian's ca-certificates) plus the
//! CA files named by `script.http.cafile`. Relative URLs (`/script/…`) go to the local REST API.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{IpAddr, SocketAddr, TcpStream, ToSocketAddrs, UdpSocket};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};

/// Largest response body read (bigger bodies are an error rather than unbounded memory).
const MAX_RESPONSE_BYTES: usize = 16 * 1024 * 1024;

/// Why a network call failed.
#[derive(Debug, thiserror::Error)]
pub(crate) enum NetError {
    #[error("invalid URL {0:?} (expected http://… or https://…)")]
    BadUrl(String),
    #[error("{url}: {host:?} is not a valid TLS server name")]
    ServerName { url: String, host: String },
    #[error("cannot resolve {host}: {source}")]
    Resolve {
        host: String,
        source: std::io::Error,
    },
    #[error("{url}: {source}")]
    Io { url: String, source: std::io::Error },
    #[error("{url}: timed out after {after:?}")]
    Timeout { url: String, after: Duration },
    #[error("{url}: malformed response: {reason}")]
    BadResponse { url: String, reason: String },
}

/// Why the HTTP client could not be set up (a bad `script.http.cafile`). A start-up error: the cause is its
/// `source()`, not repeated in the message.
#[derive(Debug, thiserror::Error)]
pub enum TlsSetupError {
    #[error("CA file {path}")]
    CaFile {
        path: PathBuf,
        source: rustls::pki_types::pem::Error,
    },
    #[error("CA file {path}: no usable certificate in it ({reason})")]
    NoCertificate { path: PathBuf, reason: String },
    #[error("TLS configuration")]
    Config(#[from] rustls::Error),
}

/// The client behind `http()`, `http2()` and `httpAsync()`: a timeout for each call and the TLS trust for
/// `https://`. Cheap to clone.
#[derive(Clone)]
pub(crate) struct HttpClient {
    timeout: Duration,
    tls: Arc<rustls::ClientConfig>,
}

impl std::fmt::Debug for HttpClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpClient")
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl HttpClient {
    /// A client trusting the system's root certificates and those of `ca_files` (PEM, one or more
    /// certificates each). A CA file that cannot be read or holds no certificate is an error; system roots that
    /// cannot be read are logged.
    pub(crate) fn new(
        timeout: Duration,
        ca_files: &[PathBuf],
    ) -> Result<HttpClient, TlsSetupError> {
        let mut roots = rustls::RootCertStore::empty();
        let system = rustls_native_certs::load_native_certs();
        for error in &system.errors {
            tracing::warn!("scripts' https://: cannot read system root certificates: {error}");
        }
        let (_, unusable) = roots.add_parsable_certificates(system.certs);
        if unusable > 0 {
            tracing::debug!("scripts' https://: {unusable} system root certificates skipped");
        }
        for path in ca_files {
            add_ca_file(&mut roots, path)?;
        }
        if roots.is_empty() {
            tracing::warn!(
                "scripts' https:// calls will fail: no trusted root certificates (install ca-certificates, or \
                 name CA files in script.http.cafile)"
            );
        }
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let tls = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()?
            .with_root_certificates(roots)
            .with_no_client_auth();
        Ok(HttpClient {
            timeout,
            tls: Arc::new(tls),
        })
    }

    /// Sends `call` and reads the whole response, all within the timeout. Relative URLs go to `local`.
    pub(crate) fn send(&self, call: &HttpCall, local: Option<&str>) -> Result<HttpReply, NetError> {
        http(call, local, self.timeout, &self.tls)
    }
}

fn add_ca_file(roots: &mut rustls::RootCertStore, path: &Path) -> Result<(), TlsSetupError> {
    let certificates = CertificateDer::pem_file_iter(path)
        .and_then(std::iter::Iterator::collect::<Result<Vec<_>, _>>)
        .map_err(|source| TlsSetupError::CaFile {
            path: path.to_path_buf(),
            source,
        })?;
    let found = certificates.len();
    let (added, _) = roots.add_parsable_certificates(certificates);
    if added == 0 {
        return Err(TlsSetupError::NoCertificate {
            path: path.to_path_buf(),
            reason: format!("{found} PEM certificates, none valid"),
        });
    }
    Ok(())
}

/// A connection to the server: plain TCP, or TLS over TCP.
enum Connection {
    Plain(TcpStream),
    Tls(Box<rustls::StreamOwned<rustls::ClientConnection, TcpStream>>),
}

impl Connection {
    fn socket(&self) -> &TcpStream {
        match self {
            Connection::Plain(socket) => socket,
            Connection::Tls(stream) => &stream.sock,
        }
    }
}

impl Read for Connection {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        match self {
            Connection::Plain(socket) => socket.read(buf),
            // Servers often close without TLS close_notify; the body's end is still the connection's end
            // (a body cut short of its Content-Length or chunks still fails in `read_exact`).
            Connection::Tls(stream) => match stream.read(buf) {
                Err(err) if err.kind() == std::io::ErrorKind::UnexpectedEof => Ok(0),
                other => other,
            },
        }
    }
}

impl Write for Connection {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match self {
            Connection::Plain(socket) => socket.write(buf),
            Connection::Tls(stream) => stream.write(buf),
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        match self {
            Connection::Plain(socket) => socket.flush(),
            Connection::Tls(stream) => stream.flush(),
        }
    }
}

/// One HTTP request.
#[derive(Clone, Debug, Default)]
pub(crate) struct HttpCall {
    pub url: String,
    /// `GET` when empty.
    pub method: String,
    pub headers: Vec<(String, String)>,
    pub body: Option<String>,
    /// Basic authentication.
    pub user: Option<String>,
    pub password: Option<String>,
}

/// A response.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct HttpReply {
    pub url: String,
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

struct Target {
    tls: bool,
    host: String,
    port: u16,
    path: String,
}

fn parse_url(url: &str, local: Option<&str>) -> Result<(String, Target), NetError> {
    let absolute = if url.starts_with('/') {
        let base = local.ok_or_else(|| NetError::BadUrl(url.to_string()))?;
        format!("{}{url}", base.trim_end_matches('/'))
    } else {
        url.to_string()
    };
    let (tls, rest) = if let Some(rest) = absolute.strip_prefix("https://") {
        (true, rest)
    } else if let Some(rest) = absolute.strip_prefix("http://") {
        (false, rest)
    } else {
        return Err(NetError::BadUrl(url.to_string()));
    };
    let default_port = if tls { "443" } else { "80" };
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    let authority = authority.rsplit('@').next().unwrap_or(authority);
    let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
        let (host, after) = v6
            .split_once(']')
            .ok_or_else(|| NetError::BadUrl(url.to_string()))?;
        let port = after.strip_prefix(':').unwrap_or(default_port);
        (host.to_string(), port)
    } else {
        match authority.rsplit_once(':') {
            Some((host, port)) => (host.to_string(), port),
            None => (authority.to_string(), default_port),
        }
    };
    let port: u16 = port
        .parse()
        .map_err(|_| NetError::BadUrl(url.to_string()))?;
    if host.is_empty() {
        return Err(NetError::BadUrl(url.to_string()));
    }
    Ok((
        absolute.clone(),
        Target {
            tls,
            host,
            port,
            path: path.to_string(),
        },
    ))
}

/// Sends `call` and reads the whole response, all within `timeout`.
fn http(
    call: &HttpCall,
    local: Option<&str>,
    timeout: Duration,
    tls: &Arc<rustls::ClientConfig>,
) -> Result<HttpReply, NetError> {
    let (url, target) = parse_url(&call.url, local)?;
    let started = Instant::now();
    let io = |source: std::io::Error| {
        if matches!(
            source.kind(),
            std::io::ErrorKind::TimedOut | std::io::ErrorKind::WouldBlock
        ) {
            NetError::Timeout {
                url: url.clone(),
                after: timeout,
            }
        } else {
            NetError::Io {
                url: url.clone(),
                source,
            }
        }
    };
    let addrs: Vec<SocketAddr> = (target.host.as_str(), target.port)
        .to_socket_addrs()
        .map_err(|source| NetError::Resolve {
            host: target.host.clone(),
            source,
        })?
        .collect();
    let mut last_err = None;
    let mut stream = None;
    for addr in addrs {
        match TcpStream::connect_timeout(&addr, timeout) {
            Ok(s) => {
                stream = Some(s);
                break;
            }
            Err(err) => last_err = Some(err),
        }
    }
    let Some(socket) = stream else {
        return Err(io(last_err.unwrap_or_else(|| {
            std::io::Error::new(std::io::ErrorKind::NotFound, "no address")
        })));
    };
    let remaining = || {
        timeout
            .saturating_sub(started.elapsed())
            .max(Duration::from_millis(1))
    };
    // The TLS handshake happens with the first write and read, so both timeouts apply from here.
    socket.set_write_timeout(Some(remaining())).map_err(io)?;
    socket.set_read_timeout(Some(remaining())).map_err(io)?;
    let mut stream = if target.tls {
        let name = ServerName::try_from(target.host.clone()).map_err(|_| NetError::ServerName {
            url: url.clone(),
            host: target.host.clone(),
        })?;
        let session = rustls::ClientConnection::new(tls.clone(), name)
            .map_err(|err| io(std::io::Error::other(err)))?;
        Connection::Tls(Box::new(rustls::StreamOwned::new(session, socket)))
    } else {
        Connection::Plain(socket)
    };
    let method = if call.method.is_empty() {
        "GET".to_string()
    } else {
        call.method.to_ascii_uppercase()
    };
    let host_header = if target.host.contains(':') {
        format!("[{}]:{}", target.host, target.port)
    } else {
        format!("{}:{}", target.host, target.port)
    };
    let mut head = format!(
        "{method} {} HTTP/1.1\r\nHost: {host_header}\r\nConnection: close\r\nUser-Agent: rtflow\r\n",
        target.path
    );
    for (name, value) in &call.headers {
        if name.contains(['\r', '\n']) || value.contains(['\r', '\n']) {
            continue;
        }
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    if let Some(user) = &call.user {
        let credentials = format!("{user}:{}", call.password.as_deref().unwrap_or(""));
        head.push_str(&format!(
            "Authorization: Basic {}\r\n",
            base64(credentials.as_bytes())
        ));
    }
    let body = call.body.as_deref().unwrap_or("");
    if call.body.is_some() || !matches!(method.as_str(), "GET" | "HEAD" | "DELETE") {
        head.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes()).map_err(io)?;
    stream.write_all(body.as_bytes()).map_err(io)?;
    stream.flush().map_err(io)?;
    stream
        .socket()
        .set_read_timeout(Some(remaining()))
        .map_err(io)?;
    let mut reader = BufReader::new(stream);
    let bad = |reason: &str| NetError::BadResponse {
        url: url.clone(),
        reason: reason.to_string(),
    };
    let mut line = String::new();
    reader.read_line(&mut line).map_err(io)?;
    let status: u16 = line
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| bad("no status line"))?;
    let mut headers = Vec::new();
    loop {
        line.clear();
        if reader.read_line(&mut line).map_err(io)? == 0 {
            break;
        }
        let trimmed = line.trim_end();
        if trimmed.is_empty() {
            break;
        }
        if let Some((name, value)) = trimmed.split_once(':') {
            headers.push((name.trim().to_string(), value.trim().to_string()));
        }
        if started.elapsed() > timeout {
            return Err(NetError::Timeout {
                url,
                after: timeout,
            });
        }
    }
    let header = |name: &str| {
        headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    };
    let chunked = header("transfer-encoding").is_some_and(|v| v.eq_ignore_ascii_case("chunked"));
    let length: Option<usize> = header("content-length").and_then(|v| v.parse().ok());
    let mut raw = Vec::new();
    if chunked {
        loop {
            line.clear();
            reader.read_line(&mut line).map_err(io)?;
            let size = usize::from_str_radix(line.trim().split(';').next().unwrap_or(""), 16)
                .map_err(|_| bad("bad chunk size"))?;
            if size == 0 {
                break;
            }
            if raw.len() + size > MAX_RESPONSE_BYTES {
                return Err(bad("response too large"));
            }
            let start = raw.len();
            raw.resize(start + size, 0);
            reader.read_exact(&mut raw[start..]).map_err(io)?;
            line.clear();
            reader.read_line(&mut line).map_err(io)?;
        }
    } else if let Some(length) = length {
        if length > MAX_RESPONSE_BYTES {
            return Err(bad("response too large"));
        }
        raw.resize(length, 0);
        reader.read_exact(&mut raw).map_err(io)?;
    } else if method != "HEAD" && status != 204 && status != 304 {
        reader
            .take(MAX_RESPONSE_BYTES as u64 + 1)
            .read_to_end(&mut raw)
            .map_err(io)?;
        if raw.len() > MAX_RESPONSE_BYTES {
            return Err(bad("response too large"));
        }
    }
    Ok(HttpReply {
        url,
        status,
        headers,
        body: String::from_utf8_lossy(&raw).into_owned(),
    })
}

fn base64(bytes: &[u8]) -> String {
    const TABLE: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(TABLE[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// `dnsGetAllByName`: every address of `name`.
pub(crate) fn dns_all_by_name(name: &str) -> Result<Vec<String>, NetError> {
    let addrs = (name, 0)
        .to_socket_addrs()
        .map_err(|source| NetError::Resolve {
            host: name.to_string(),
            source,
        })?;
    let mut out: Vec<String> = Vec::new();
    for addr in addrs {
        let ip = addr.ip().to_string();
        if !out.contains(&ip) {
            out.push(ip);
        }
    }
    Ok(out)
}

/// The RFC 5424 message `syslog()` sends: `<PRI>1 TIMESTAMP HOST sFlow-RT - - - key=value …`, with values
/// that contain spaces, quotes or `=` double-quoted. *(inferred: sFlow-RT's exact layout is not documented.)*
pub(crate) fn syslog_message(
    now_ms: u64,
    hostname: &str,
    facility: u8,
    severity: u8,
    fields: &[(String, String)],
) -> String {
    let priority = u32::from(facility.min(23)) * 8 + u32::from(severity.min(7));
    let mut message = format!(
        "<{priority}>1 {} {hostname} sFlow-RT - - -",
        iso8601(now_ms)
    );
    for (key, value) in fields {
        message.push(' ');
        message.push_str(key);
        message.push('=');
        if value.is_empty() || value.contains([' ', '"', '=', '\\']) {
            message.push('"');
            message.push_str(&value.replace('\\', "\\\\").replace('"', "\\\""));
            message.push('"');
        } else {
            message.push_str(value);
        }
    }
    message
}

/// Sends one syslog datagram to `host:port`.
pub(crate) fn send_syslog(host: &str, port: u16, message: &str) -> Result<(), NetError> {
    let url = format!("syslog://{host}:{port}");
    let target = (host, port)
        .to_socket_addrs()
        .map_err(|source| NetError::Resolve {
            host: host.to_string(),
            source,
        })?
        .next()
        .ok_or_else(|| NetError::BadUrl(url.clone()))?;
    let bind: SocketAddr = match target.ip() {
        IpAddr::V4(_) => SocketAddr::from(([0, 0, 0, 0], 0)),
        IpAddr::V6(_) => SocketAddr::from(([0u16; 8], 0)),
    };
    let socket = UdpSocket::bind(bind).map_err(|source| NetError::Io {
        url: url.clone(),
        source,
    })?;
    socket
        .send_to(message.as_bytes(), target)
        .map(|_| ())
        .map_err(|source| NetError::Io { url, source })
}

/// This machine's host name (for syslog).
pub(crate) fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .ok()
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "localhost".to_string())
}

/// `2024-05-01T12:00:00.123Z` for ms since the epoch.
pub(crate) fn iso8601(ms: u64) -> String {
    let secs = ms / 1000;
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:03}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60,
        ms % 1000
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::TcpListener;

    #[test]
    fn iso_dates_and_base64() {
        assert_eq!(iso8601(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(iso8601(1_709_251_199_999), "2024-02-29T23:59:59.999Z");
        assert_eq!(base64(b"user:pass"), "dXNlcjpwYXNz");
        assert_eq!(base64(b"ab"), "YWI=");
    }

    #[test]
    fn syslog_layout() {
        let fields = vec![
            ("app".to_string(), "ddos".to_string()),
            ("target".to_string(), "a b".to_string()),
        ];
        assert_eq!(
            syslog_message(0, "h", 16, 5, &fields),
            "<133>1 1970-01-01T00:00:00.000Z h sFlow-RT - - - app=ddos target=\"a b\""
        );
    }

    #[test]
    fn posts_and_reads_chunked_and_plain_replies() {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let addr = listener.local_addr().expect("addr");
        let server = std::thread::spawn(move || {
            let mut seen = Vec::new();
            for reply in [
                "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n",
                "HTTP/1.1 404 Not Found\r\nContent-Length: 4\r\n\r\nnope",
            ] {
                let (mut conn, _) = listener.accept().expect("accept");
                let mut reader = BufReader::new(conn.try_clone().expect("clone"));
                let mut request = String::new();
                let mut length = 0;
                loop {
                    let mut line = String::new();
                    reader.read_line(&mut line).expect("read");
                    if let Some(v) = line.strip_prefix("Content-Length: ") {
                        length = v.trim().parse().expect("length");
                    }
                    request.push_str(&line);
                    if line == "\r\n" {
                        break;
                    }
                }
                let mut body = vec![0; length];
                reader.read_exact(&mut body).expect("body");
                request.push_str(&String::from_utf8_lossy(&body));
                seen.push(request);
                conn.write_all(reply.as_bytes()).expect("reply");
            }
            seen
        });
        let call = HttpCall {
            url: "/x?y=1".into(),
            method: "post".into(),
            headers: vec![("Content-Type".into(), "application/json".into())],
            body: Some("{\"a\":1}".into()),
            user: Some("u".into()),
            password: Some("p".into()),
        };
        let local = format!("http://{addr}");
        let client = HttpClient::new(Duration::from_secs(5), &[]).expect("client");
        let reply = client.send(&call, Some(&local)).expect("reply");
        assert_eq!((reply.status, reply.body.as_str()), (200, "abcde"));
        let reply = client
            .send(
                &HttpCall {
                    url: format!("http://{addr}/missing"),
                    ..Default::default()
                },
                None,
            )
            .expect("reply");
        assert_eq!((reply.status, reply.body.as_str()), (404, "nope"));
        let seen = server.join().expect("server");
        assert!(
            seen[0].starts_with("POST /x?y=1 HTTP/1.1\r\n"),
            "{}",
            seen[0]
        );
        assert!(seen[0].contains("Authorization: Basic dTpw\r\n"));
        assert!(seen[0].ends_with("\r\n\r\n{\"a\":1}"));
        let refused = client.send(
            &HttpCall {
                url: format!("http://{addr}/"),
                ..Default::default()
            },
            None,
        );
        assert!(refused.is_err());
        assert!(matches!(
            client.send(
                &HttpCall {
                    url: "ftp://x/".into(),
                    ..Default::default()
                },
                None,
            ),
            Err(NetError::BadUrl(_))
        ));
    }

    /// A private certificate authority and a server certificate it signed for `localhost` and 127.0.0.1, made by
    /// Debian's `openssl` in `dir`: (CA PEM, server certificate PEM, server key PEM). None (one skip line) without
    /// openssl.
    fn openssl_certificates(dir: &Path) -> Option<(PathBuf, PathBuf, PathBuf)> {
        let openssl = rtflow_testkit::servers::program("/usr/bin/openssl", "openssl")?;
        let run = |args: &[&str]| {
            let out = std::process::Command::new(&openssl)
                .args(args)
                .current_dir(dir)
                .output()
                .expect("run openssl");
            assert!(
                out.status.success(),
                "openssl {args:?}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        };
        let ec = [
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
        ];
        run(&[
            &["req", "-x509"][..],
            &ec,
            &[
                "-keyout",
                "ca.key",
                "-out",
                "ca.pem",
                "-days",
                "2",
                "-subj",
                "/CN=rtflow test CA",
            ],
        ]
        .concat());
        run(&[
            &["req"][..],
            &ec,
            &[
                "-keyout",
                "server.key",
                "-out",
                "server.csr",
                "-subj",
                "/CN=localhost",
            ],
        ]
        .concat());
        std::fs::write(
            dir.join("server.ext"),
            "subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n",
        )
        .expect("write server.ext");
        run(&[
            "x509",
            "-req",
            "-in",
            "server.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-out",
            "server.pem",
            "-days",
            "2",
            "-extfile",
            "server.ext",
        ]);
        Some((
            dir.join("ca.pem"),
            dir.join("server.pem"),
            dir.join("server.key"),
        ))
    }

    /// Python's `http.server` behind its `ssl` module, on `address` and a free port: answers every GET/POST with JSON naming the method, path
    /// and body. Killed when dropped.
    struct PythonHttps {
        child: std::process::Child,
        port: u16,
    }

    const PYTHON_HTTPS: &str = r#"
import http.server, json, ssl, sys
class Echo(http.server.BaseHTTPRequestHandler):
    def answer(self):
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode()
        out = json.dumps({"method": self.command, "path": self.path, "body": body}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(out)))
        self.end_headers()
        self.wfile.write(out)
    do_GET = do_POST = answer
    def log_message(self, *args):
        pass
server = http.server.ThreadingHTTPServer((sys.argv[3], 0), Echo)
context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
context.load_cert_chain(sys.argv[1], sys.argv[2])
server.socket = context.wrap_socket(server.socket, server_side=True)
print(server.server_address[1], flush=True)
server.serve_forever()
"#;

    impl PythonHttps {
        fn start(certificate: &Path, key: &Path, address: &str) -> Option<PythonHttps> {
            let python = rtflow_testkit::servers::program("/usr/bin/python3", "python3")?;
            let mut child = std::process::Command::new(python)
                .arg("-c")
                .arg(PYTHON_HTTPS)
                .arg(certificate)
                .arg(key)
                .arg(address)
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::null())
                .spawn()
                .expect("start python3");
            let mut line = String::new();
            let stdout = child.stdout.take().expect("stdout");
            BufReader::new(stdout)
                .read_line(&mut line)
                .expect("port line");
            let port = line.trim().parse().unwrap_or_else(|_| {
                let _ = child.kill();
                panic!("python3 https server printed {line:?}, not its port")
            });
            Some(PythonHttps { child, port })
        }
    }

    impl Drop for PythonHttps {
        fn drop(&mut self) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }

    #[test]
    fn https_verifies_a_real_tls_server_against_the_configured_ca() {
        let dir = tempfile::tempdir().expect("tempdir");
        let Some((ca, certificate, key)) = openssl_certificates(dir.path()) else {
            return;
        };
        let Some(server) = PythonHttps::start(&certificate, &key, "127.0.0.1") else {
            return;
        };
        let port = server.port;
        let trusting =
            HttpClient::new(Duration::from_secs(10), std::slice::from_ref(&ca)).expect("client");
        for host in ["localhost", "127.0.0.1"] {
            let reply = trusting
                .send(
                    &HttpCall {
                        url: format!("https://{host}:{port}/rule?x=1"),
                        method: "post".into(),
                        body: Some("{\"a\":1}".into()),
                        ..Default::default()
                    },
                    None,
                )
                .unwrap_or_else(|e| panic!("https to {host}: {e}"));
            assert_eq!(reply.status, 200);
            let echoed: serde_json::Value = serde_json::from_str(&reply.body).expect("json body");
            assert_eq!(
                echoed,
                serde_json::json!({"method": "POST", "path": "/rule?x=1", "body": "{\"a\":1}"})
            );
        }
        // Verification is on by default: the system's roots alone do not trust the private CA.
        let default = HttpClient::new(Duration::from_secs(10), &[]).expect("client");
        let refused = default
            .send(
                &HttpCall {
                    url: format!("https://localhost:{port}/"),
                    ..Default::default()
                },
                None,
            )
            .map(|reply| reply.status)
            .expect_err("a certificate of an unknown issuer must be refused")
            .to_string();
        assert!(refused.contains("invalid peer certificate"), "{refused}");
        // An address the certificate does not name is refused even with the CA trusted.
        let Some(elsewhere) = PythonHttps::start(&certificate, &key, "127.0.0.2") else {
            return;
        };
        let wrong_name = trusting
            .send(
                &HttpCall {
                    url: format!("https://127.0.0.2:{}/", elsewhere.port),
                    ..Default::default()
                },
                None,
            )
            .map(|reply| reply.status)
            .expect_err("a certificate not naming 127.0.0.2 must be refused")
            .to_string();
        assert!(
            wrong_name.contains("certificate not valid for name"),
            "{wrong_name}"
        );
        // Plain http:// to the TLS port fails cleanly (no hang, no panic).
        let plain = trusting.send(
            &HttpCall {
                url: format!("http://127.0.0.1:{port}/"),
                ..Default::default()
            },
            None,
        );
        assert!(plain.is_err() || plain.is_ok_and(|r| r.status >= 400));
    }

    #[test]
    fn a_bad_ca_file_is_an_error_naming_it() {
        let dir = tempfile::tempdir().expect("tempdir");
        let missing = dir.path().join("missing.pem");
        let error = HttpClient::new(Duration::from_secs(1), std::slice::from_ref(&missing))
            .expect_err("missing file");
        assert!(
            error.to_string().contains(&missing.display().to_string()),
            "{error}"
        );
        // The cause is the source, named once in a printed chain.
        let cause = std::error::Error::source(&error).map(ToString::to_string);
        assert!(
            cause.as_deref().is_some_and(|c| c.contains("No such file")),
            "{cause:?}"
        );
        assert!(!error.to_string().contains("No such file"), "{error}");
        let empty = dir.path().join("empty.pem");
        std::fs::write(&empty, "not a certificate\n").expect("write");
        let error =
            HttpClient::new(Duration::from_secs(1), &[empty]).expect_err("no certificate in it");
        assert!(
            error.to_string().contains("no usable certificate"),
            "{error}"
        );
    }
}
