//! Network calls of the script API: a small blocking HTTP/1.1 client (`http`, `http2`, `httpAsync`) with a
//! timeout on every call, UDP `syslog`, and `dnsGetAllByName`.
//!
//! The client speaks plain `http://` (one request per connection, `Content-Length` or chunked responses);
//! `https://` URLs fail with a clear error. Relative URLs (`/script/…`) go to the local REST API.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{IpAddr, SocketAddr, TcpStream, ToSocketAddrs, UdpSocket};
use std::time::{Duration, Instant};

/// Largest response body read (bigger bodies are an error rather than unbounded memory).
const MAX_RESPONSE_BYTES: usize = 16 * 1024 * 1024;

/// Why a network call failed.
#[derive(Debug, thiserror::Error)]
pub enum NetError {
    #[error("invalid URL {0:?}")]
    BadUrl(String),
    #[error("{0}: only http:// URLs are supported")]
    Unsupported(String),
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

/// One HTTP request.
#[derive(Clone, Debug, Default)]
pub struct HttpCall {
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
pub struct HttpReply {
    pub url: String,
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

struct Target {
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
    if absolute.starts_with("https://") {
        return Err(NetError::Unsupported(absolute));
    }
    let rest = absolute
        .strip_prefix("http://")
        .ok_or_else(|| NetError::BadUrl(url.to_string()))?;
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    let authority = authority.rsplit('@').next().unwrap_or(authority);
    let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
        let (host, after) = v6
            .split_once(']')
            .ok_or_else(|| NetError::BadUrl(url.to_string()))?;
        let port = after.strip_prefix(':').unwrap_or("80");
        (host.to_string(), port)
    } else {
        match authority.rsplit_once(':') {
            Some((host, port)) => (host.to_string(), port),
            None => (authority.to_string(), "80"),
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
            host,
            port,
            path: path.to_string(),
        },
    ))
}

/// Sends `call` and reads the whole response, all within `timeout`.
pub fn http(
    call: &HttpCall,
    local: Option<&str>,
    timeout: Duration,
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
    let mut stream = match stream {
        Some(s) => s,
        None => {
            return Err(io(last_err.unwrap_or_else(|| {
                std::io::Error::new(std::io::ErrorKind::NotFound, "no address")
            })));
        }
    };
    let remaining = || {
        timeout
            .saturating_sub(started.elapsed())
            .max(Duration::from_millis(1))
    };
    stream.set_write_timeout(Some(remaining())).map_err(io)?;
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
    stream.set_read_timeout(Some(remaining())).map_err(io)?;
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
pub fn dns_all_by_name(name: &str) -> Result<Vec<String>, NetError> {
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
pub fn syslog_message(
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
pub fn send_syslog(host: &str, port: u16, message: &str) -> Result<(), NetError> {
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
pub fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .ok()
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "localhost".to_string())
}

/// `2024-05-01T12:00:00.123Z` for ms since the epoch.
pub fn iso8601(ms: u64) -> String {
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
        let reply = http(&call, Some(&local), Duration::from_secs(5)).expect("reply");
        assert_eq!((reply.status, reply.body.as_str()), (200, "abcde"));
        let reply = http(
            &HttpCall {
                url: format!("http://{addr}/missing"),
                ..Default::default()
            },
            None,
            Duration::from_secs(5),
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
        let refused = http(
            &HttpCall {
                url: format!("http://{addr}/"),
                ..Default::default()
            },
            None,
            Duration::from_secs(2),
        );
        assert!(refused.is_err());
        assert!(matches!(
            http(
                &HttpCall {
                    url: "https://x/".into(),
                    ..Default::default()
                },
                None,
                Duration::from_secs(1)
            ),
            Err(NetError::Unsupported(_))
        ));
    }
}
