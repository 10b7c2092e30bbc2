//! `-H`: sflowtool's HTTP common log format. Each flow sample that holds an HTTP request record
//! (0:2206, or the older 0:2201) gives one line:
//!
//! `client - authuser [time] "METHOD uri HTTP/major.minor" status bytes "referrer" "useragent"`
//!
//! The client is the remote address of the sample's extended socket record (0:2100 / 0:2101;
//! empty without one, as in sflowtool); absent strings print `-`. Like sflowtool, the last HTTP
//! record of a sample wins and strings are cut to sflowtool's buffer sizes. Unlike sflowtool,
//! which stamps each line with the wall clock in local time, the time is the datagram's (capture
//! time for file input, receive time for live input) in UTC, so that output is reproducible.

use rtflow_sflow::{Address, DecodeError, FlowRecord, FlowSample, HttpRequest};

use crate::samples::SampleSink;
use crate::time::write_clf_time;
use crate::values::{c_string, push_address, push_u32, push_u64};
use crate::vlan::VlanFilter;

/// sflowtool's `SFHTTP_method_names`, indexed by the record's method code.
const METHODS: [&str; 9] = [
    "-", "OPTIONS", "GET", "HEAD", "POST", "PUT", "DELETE", "TRACE", "CONNECT",
];

/// sflowtool's string buffer sizes (`SFL_MAX_HTTP_*` in `sflow.h`).
const MAX_URI: usize = 255;
const MAX_REFERRER: usize = 255;
const MAX_USERAGENT: usize = 128;
const MAX_AUTHUSER: usize = 32;

/// What a flow sample contributes to its log line.
#[derive(Default)]
struct Request<'a> {
    client: Option<Address>,
    http: Option<HttpRequest<'a>>,
}

impl<'a> Request<'a> {
    fn record(&mut self, record: FlowRecord<'a>) {
        match record {
            FlowRecord::ExtendedSocketIpv4(s) => self.client = Some(Address::V4(s.remote_ip)),
            FlowRecord::ExtendedSocketIpv6(s) => self.client = Some(Address::V6(s.remote_ip)),
            FlowRecord::Http(h) => self.http = Some(HttpRequest::from(h)),
            FlowRecord::Http2(h) => self.http = Some(h),
            _ => {}
        }
    }
}

/// The log lines of a datagram's flow samples; `vlans` drops the samples it rejects (as
/// sflowtool's `sampleFilterOK` does for `-H`).
pub(crate) struct LogLines<'b, 'f> {
    pub(crate) b: &'b mut Vec<u8>,
    /// The datagram's time (capture time for file input, receive time for live input).
    pub(crate) secs: u64,
    pub(crate) vlans: Option<&'f VlanFilter>,
}

impl SampleSink for LogLines<'_, '_> {
    /// Writes the sample's line, if it has an HTTP record.
    fn flow_sample(&mut self, s: &FlowSample<'_>) -> Result<u64, DecodeError> {
        let mut request = Request::default();
        let mut headers = 0;
        for record in s.records() {
            let record = record?;
            if matches!(record, FlowRecord::SampledHeader(_)) {
                headers += 1;
            }
            request.record(record);
        }
        if let Some(http) = &request.http {
            let accepted = match self.vlans {
                Some(filter) => filter.accepts(s.records())?,
                None => true,
            };
            if accepted {
                write_line(self.b, request.client.as_ref(), http, self.secs);
            }
        }
        Ok(headers)
    }
}

fn write_line(b: &mut Vec<u8>, client: Option<&Address>, h: &HttpRequest<'_>, secs: u64) {
    if let Some(client) = client {
        push_address(b, client);
    }
    b.extend_from_slice(b" - ");
    push_string(b, h.auth_user, MAX_AUTHUSER);
    b.extend_from_slice(b" [");
    write_clf_time(b, secs);
    b.extend_from_slice(b"] \"");
    let method = usize::try_from(h.method)
        .ok()
        .and_then(|index| METHODS.get(index))
        .unwrap_or(&"-");
    b.extend_from_slice(method.as_bytes());
    b.push(b' ');
    push_string(b, h.uri, MAX_URI);
    b.extend_from_slice(b" HTTP/");
    push_u32(b, h.protocol / 1000);
    b.push(b'.');
    push_u32(b, h.protocol % 1000);
    b.extend_from_slice(b"\" ");
    push_u32(b, h.status);
    b.push(b' ');
    push_u64(b, h.resp_bytes);
    b.extend_from_slice(b" \"");
    push_string(b, h.referrer, MAX_REFERRER);
    b.extend_from_slice(b"\" \"");
    push_string(b, h.user_agent, MAX_USERAGENT);
    b.extend_from_slice(b"\"\n");
}

/// A string of the record as sflowtool prints it: cut to its buffer size and at the first NUL,
/// `-` when that leaves nothing.
fn push_string(b: &mut Vec<u8>, value: &[u8], max: usize) {
    let value = c_string(value.get(..max).unwrap_or(value));
    if value.is_empty() {
        b.push(b'-');
    } else {
        b.extend_from_slice(value);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(client: Option<Address>, h: &HttpRequest<'_>) -> String {
        let mut b = Vec::new();
        write_line(&mut b, client.as_ref(), h, 971_186_136);
        String::from_utf8(b).unwrap()
    }

    #[test]
    fn absent_strings_and_unknown_methods_print_a_dash() {
        let h = HttpRequest {
            method: 9,
            protocol: 2000,
            status: 404,
            ..HttpRequest::default()
        };
        assert_eq!(
            line(None, &h),
            " - - [10/Oct/2000:13:55:36 +0000] \"- - HTTP/2.0\" 404 0 \"-\" \"-\"\n"
        );
    }

    #[test]
    fn strings_are_cut_at_nul_and_at_sflowtools_buffer_sizes() {
        let agent = [b'a'; 200];
        let h = HttpRequest {
            method: 2,
            protocol: 1001,
            uri: b"/x\0hidden",
            auth_user: b"\0",
            user_agent: &agent,
            status: 200,
            resp_bytes: 1,
            ..HttpRequest::default()
        };
        let expected = format!(
            "10.1.2.3 - - [10/Oct/2000:13:55:36 +0000] \"GET /x HTTP/1.1\" 200 1 \"-\" \"{}\"\n",
            "a".repeat(MAX_USERAGENT)
        );
        let client = Address::V4(std::net::Ipv4Addr::new(10, 1, 2, 3));
        assert_eq!(line(Some(client), &h), expected);
    }
}
