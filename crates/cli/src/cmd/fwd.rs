//! `rtflow fwd`: the sflow_fwd.py tunnel from the sFlow blog ("Secure forwarding of sFlow
//! using ssh"). Without `-s`, every UDP datagram received is written to stdout as one line of
//! lowercase hex; with `-s HOST`, every hex line read from stdin is sent as one UDP datagram.
//! The framing is byte-for-byte that of the Python script, so either end can be either tool:
//!
//! ```text
//! rtflow fwd | ssh analyzer 'rtflow fwd -s 127.0.0.1'
//! ```

use std::fmt;
use std::io::{self, BufRead, Write};
use std::net::{IpAddr, SocketAddr, ToSocketAddrs};
use std::process::ExitCode;

use anyhow::Context;
use rtflow_net::{ListenOptions, Listener, sender_for};

/// Largest UDP payload over IPv4 (65535 - 20 - 8); also the cap for forwarded lines.
const MAX_DATAGRAM: usize = 65_507;
/// A line longer than this (hex digits plus generous room for whitespace) cannot be valid.
const MAX_LINE: usize = 2 * MAX_DATAGRAM + 1024;

#[derive(clap::Args, Debug)]
pub(crate) struct FwdArgs {
    /// Send mode: read hex lines from stdin and send each as a UDP datagram to HOST (a name,
    /// an IPv4 or an IPv6 address). Without it, listen for UDP and write hex lines to stdout.
    #[arg(short = 's', long = "server", value_name = "HOST")]
    pub server: Option<String>,

    /// UDP port to listen on, or with -s the port to send to.
    #[arg(short = 'p', long, default_value_t = rtflow_sflow::SFLOW_PORT)]
    pub port: u16,

    /// Listen mode: address to bind (default: all IPv6 and IPv4 addresses).
    #[arg(
        short = 'c',
        long = "bind",
        visible_alias = "collector",
        value_name = "ADDR"
    )]
    pub bind: Option<String>,
}

pub(crate) fn run(args: FwdArgs) -> anyhow::Result<ExitCode> {
    match &args.server {
        Some(host) => send_lines(host, args.port),
        // sflow_fwd.py's `-c ''` (its default) means all addresses.
        None => forward_datagrams(args.bind.as_deref().filter(|b| !b.is_empty()), args.port),
    }
}

/// Writes a diagnostic on stderr; a closed stderr must not abort the tunnel.
fn report(message: fmt::Arguments<'_>) {
    let _ = writeln!(io::stderr().lock(), "rtflow fwd: {message}");
}

// ---------------------------------------------------------------------------------------------
// Listen mode: UDP -> hex lines on stdout.

fn forward_datagrams(bind: Option<&str>, port: u16) -> anyhow::Result<ExitCode> {
    let Listener {
        socket,
        local_addr: local,
        granted_recv_buffer: buffer,
        ..
    } = bind_listener(bind, port)?;
    // Tests and scripts wait for this line before sending.
    report(format_args!(
        "listening on {local} (UDP, receive buffer {buffer} bytes)"
    ));

    let mut stdout = io::stdout().lock();
    let mut datagram = vec![0u8; 65_536];
    let mut line = Vec::with_capacity(2 * datagram.len() + 1);
    loop {
        let len = match socket.recv(&mut datagram) {
            Ok(len) => len,
            Err(err) if err.kind() == io::ErrorKind::Interrupted => continue,
            Err(err) => return Err(err).context("receiving a UDP datagram"),
        };
        let Some(payload) = datagram.get(..len).filter(|p| !p.is_empty()) else {
            // An empty line would be a bad line at the other end (and ends sflow_fwd.py's
            // listener): there is nothing to forward.
            report(format_args!("ignoring an empty datagram"));
            continue;
        };
        line.clear();
        push_hex(payload, &mut line);
        line.push(b'\n');
        match stdout.write_all(&line).and_then(|()| stdout.flush()) {
            Ok(()) => {}
            // The reader went away (ssh closed, `| head`): a normal way to stop.
            Err(err) if err.kind() == io::ErrorKind::BrokenPipe => return Ok(ExitCode::SUCCESS),
            Err(err) => return Err(err).context("writing to stdout"),
        }
    }
}

/// Binds the listening socket: the given address, or dual-stack `[::]` with a fallback to
/// `0.0.0.0` on hosts without IPv6.
fn bind_listener(bind: Option<&str>, port: u16) -> anyhow::Result<Listener> {
    let address = bind.map(|host| resolve(host, port)).transpose()?;
    let listener =
        rtflow_net::bind_listener(address.map(|a| a.ip()), port, ListenOptions::default())?;
    Ok(listener)
}

/// Resolves a host name or address literal (IPv6 with or without brackets).
pub(crate) fn resolve(host: &str, port: u16) -> anyhow::Result<SocketAddr> {
    let unbracketed = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    if let Ok(ip) = unbracketed.parse::<IpAddr>() {
        return Ok(SocketAddr::new(ip, port));
    }
    (unbracketed, port)
        .to_socket_addrs()
        .with_context(|| format!("resolving {host}"))?
        .next()
        .with_context(|| format!("{host} has no address"))
}

const HEX_DIGITS: &[u8; 16] = b"0123456789abcdef";

/// Appends lowercase hex, as Python's `binascii.hexlify`.
fn push_hex(bytes: &[u8], out: &mut Vec<u8>) {
    out.reserve(2 * bytes.len());
    for &byte in bytes {
        out.push(HEX_DIGITS[usize::from(byte >> 4)]);
        out.push(HEX_DIGITS[usize::from(byte & 0x0f)]);
    }
}

// ---------------------------------------------------------------------------------------------
// Send mode: hex lines on stdin -> UDP.

/// Why an input line was not sent.
#[derive(Debug, PartialEq, Eq)]
enum BadLine {
    Empty,
    OddLength(usize),
    NotHex { column: usize, byte: u8 },
    TooLong { bytes: usize },
}

impl fmt::Display for BadLine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BadLine::Empty => f.write_str("empty line"),
            BadLine::OddLength(digits) => write!(f, "odd number of hex digits ({digits})"),
            BadLine::NotHex { column, byte } => {
                write!(
                    f,
                    "not a hex digit at column {column}: {:?}",
                    char::from(*byte)
                )
            }
            BadLine::TooLong { bytes } => {
                write!(
                    f,
                    "{bytes} bytes decoded, above the {MAX_DATAGRAM}-byte UDP maximum"
                )
            }
        }
    }
}

/// Decodes one line (surrounding whitespace and `\r` ignored) into `out`.
fn decode_hex_line(line: &[u8], out: &mut Vec<u8>) -> Result<(), BadLine> {
    out.clear();
    let leading = line.iter().take_while(|b| b.is_ascii_whitespace()).count();
    let digits = line.get(leading..).unwrap_or_default().trim_ascii_end();
    if digits.is_empty() {
        return Err(BadLine::Empty);
    }
    if digits.len() % 2 != 0 {
        return Err(BadLine::OddLength(digits.len()));
    }
    if digits.len() / 2 > MAX_DATAGRAM {
        return Err(BadLine::TooLong {
            bytes: digits.len() / 2,
        });
    }
    for (pair_index, pair) in digits.chunks_exact(2).enumerate() {
        let column = leading + 2 * pair_index + 1;
        let nibble = |at: usize, byte: u8| {
            hex_value(byte).ok_or(BadLine::NotHex {
                column: column + at,
                byte,
            })
        };
        let (high, low) = match pair {
            [high, low] => (nibble(0, *high)?, nibble(1, *low)?),
            _ => return Err(BadLine::OddLength(digits.len())),
        };
        out.push(high << 4 | low);
    }
    Ok(())
}

fn hex_value(digit: u8) -> Option<u8> {
    match digit {
        b'0'..=b'9' => Some(digit - b'0'),
        b'a'..=b'f' => Some(digit - b'a' + 10),
        b'A'..=b'F' => Some(digit - b'A' + 10),
        _ => None,
    }
}

enum LineRead {
    Line,
    /// The line exceeded `limit` bytes; its remainder has been consumed and discarded.
    Overlong(usize),
    Eof,
}

/// Reads one `\n`-terminated line into `line` without letting a newline-free stream grow
/// memory beyond `limit`.
fn read_bounded_line(
    input: &mut impl BufRead,
    line: &mut Vec<u8>,
    limit: usize,
) -> io::Result<LineRead> {
    line.clear();
    let mut total = 0usize;
    let mut saw_any = false;
    loop {
        let available = match input.fill_buf() {
            Ok(bytes) => bytes,
            Err(err) if err.kind() == io::ErrorKind::Interrupted => continue,
            Err(err) => return Err(err),
        };
        if available.is_empty() {
            return Ok(match (saw_any, total > limit) {
                (false, _) => LineRead::Eof,
                (true, true) => LineRead::Overlong(total),
                (true, false) => LineRead::Line,
            });
        }
        saw_any = true;
        let (chunk, found_newline) = match available.iter().position(|&b| b == b'\n') {
            Some(at) => (available.get(..=at).unwrap_or(available), true),
            None => (available, false),
        };
        let chunk_len = chunk.len();
        total = total.saturating_add(chunk_len);
        if total <= limit {
            line.extend_from_slice(chunk);
        } else {
            line.clear();
        }
        input.consume(chunk_len);
        if found_newline {
            return Ok(if total > limit {
                LineRead::Overlong(total)
            } else {
                LineRead::Line
            });
        }
    }
}

#[derive(Default)]
struct SendStats {
    sent: u64,
    bytes: u64,
    bad_lines: u64,
    send_errors: u64,
}

fn send_lines(host: &str, port: u16) -> anyhow::Result<ExitCode> {
    let target = resolve(host, port)?;
    let socket = sender_for(target)?;
    let mut input = io::stdin().lock();
    let mut line = Vec::new();
    let mut datagram = Vec::new();
    let mut stats = SendStats::default();
    let mut line_number = 0u64;
    loop {
        let read = read_bounded_line(&mut input, &mut line, MAX_LINE).context("reading stdin")?;
        line_number += 1;
        let decoded = match read {
            LineRead::Eof => break,
            LineRead::Overlong(len) => Err(BadLine::TooLong { bytes: len / 2 }),
            LineRead::Line => decode_hex_line(&line, &mut datagram),
        };
        if let Err(bad) = decoded {
            stats.bad_lines += 1;
            report(format_args!("line {line_number}: {bad}; skipped"));
            continue;
        }
        match socket.send_to(&datagram, target) {
            Ok(_) => {
                stats.sent += 1;
                stats.bytes += datagram.len() as u64;
            }
            Err(err) => {
                stats.send_errors += 1;
                report(format_args!(
                    "line {line_number}: sending to {target}: {err}"
                ));
            }
        }
    }
    report(format_args!(
        "sent {} datagrams ({} bytes) to {target}; {} bad lines skipped; {} send errors",
        stats.sent, stats.bytes, stats.bad_lines, stats.send_errors
    ));
    Ok(if stats.send_errors == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode(line: &str) -> Result<Vec<u8>, BadLine> {
        let mut out = Vec::new();
        decode_hex_line(line.as_bytes(), &mut out).map(|()| out)
    }

    #[test]
    fn hex_matches_binascii_hexlify() {
        // binascii.hexlify(bytes([0, 1, 0xab, 0xff, 0x10])) == b'0001abff10'
        let mut out = Vec::new();
        push_hex(&[0, 1, 0xab, 0xff, 0x10], &mut out);
        assert_eq!(out, b"0001abff10");
    }

    #[test]
    fn decodes_lines_like_bytearray_fromhex() {
        assert_eq!(decode("0001abff10\n"), Ok(vec![0, 1, 0xab, 0xff, 0x10]));
        assert_eq!(decode("  DEADbeef\r\n"), Ok(vec![0xde, 0xad, 0xbe, 0xef]));
        assert_eq!(decode("\n"), Err(BadLine::Empty));
        assert_eq!(decode(" \r\n"), Err(BadLine::Empty));
        assert_eq!(decode("abc\n"), Err(BadLine::OddLength(3)));
        assert_eq!(
            decode("zz\n"),
            Err(BadLine::NotHex {
                column: 1,
                byte: b'z'
            })
        );
        assert_eq!(
            decode(" 0g\n"),
            Err(BadLine::NotHex {
                column: 3,
                byte: b'g'
            })
        );
        assert_eq!(decode("ab cd\n"), Err(BadLine::OddLength(5)));
        let max = "00".repeat(MAX_DATAGRAM);
        assert_eq!(decode(&max).map(|d| d.len()), Ok(MAX_DATAGRAM));
        let over = "00".repeat(MAX_DATAGRAM + 1);
        assert_eq!(
            decode(&over),
            Err(BadLine::TooLong {
                bytes: MAX_DATAGRAM + 1
            })
        );
    }

    #[test]
    fn bounded_lines() {
        let mut input = io::BufReader::with_capacity(4, &b"ab\nabcdefghij\ncd"[..]);
        let mut line = Vec::new();
        assert!(matches!(
            read_bounded_line(&mut input, &mut line, 8),
            Ok(LineRead::Line)
        ));
        assert_eq!(line, b"ab\n");
        assert!(matches!(
            read_bounded_line(&mut input, &mut line, 8),
            Ok(LineRead::Overlong(11))
        ));
        assert!(matches!(
            read_bounded_line(&mut input, &mut line, 8),
            Ok(LineRead::Line)
        ));
        assert_eq!(line, b"cd");
        assert!(matches!(
            read_bounded_line(&mut input, &mut line, 8),
            Ok(LineRead::Eof)
        ));
    }

    #[test]
    fn resolves_literals_and_names() {
        assert_eq!(
            resolve("127.0.0.1", 6343).unwrap(),
            "127.0.0.1:6343".parse().unwrap()
        );
        assert_eq!(resolve("::1", 1).unwrap(), "[::1]:1".parse().unwrap());
        assert_eq!(resolve("[::1]", 1).unwrap(), "[::1]:1".parse().unwrap());
        assert!(resolve("localhost", 9).unwrap().ip().is_loopback());
        assert!(resolve("no-such-host.invalid", 9).is_err());
    }
}
