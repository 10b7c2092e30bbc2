//! The URI splitting behind the `uri:<key>:<part>` key function.

use crate::expr::UriPart;

/// Byte range of `part` within `uri`; `None` when absent or empty.
/// Accepts absolute URIs (`http://u@h:80/p?q#f`), `//authority/path` and bare paths.
pub(crate) fn uri_part(uri: &str, part: UriPart) -> Option<(usize, usize)> {
    let end_of_fragmentless = uri.find('#').unwrap_or(uri.len());
    let end_of_pathpart = uri
        .get(..end_of_fragmentless)?
        .find('?')
        .unwrap_or(end_of_fragmentless);
    let head = uri.get(..end_of_pathpart)?;

    let (scheme, authority_start) = match head.find("://") {
        Some(i) if i > 0 && head.get(..i).is_some_and(is_scheme) => (Some((0, i)), Some(i + 3)),
        _ if head.starts_with("//") => (None, Some(2)),
        _ => (None, None),
    };
    let (authority, path) = match authority_start {
        Some(from) => {
            let to = head.get(from..)?.find('/').map_or(head.len(), |i| from + i);
            (Some((from, to)), (to, head.len()))
        }
        None => (None, (0, head.len())),
    };
    let non_empty = |(from, to): (usize, usize)| (from < to).then_some((from, to));

    match part {
        UriPart::Scheme => scheme,
        UriPart::Path => non_empty(path),
        UriPart::Query => non_empty((
            (end_of_pathpart + 1).min(end_of_fragmentless),
            end_of_fragmentless,
        )),
        UriPart::Fragment => non_empty(((end_of_fragmentless + 1).min(uri.len()), uri.len())),
        UriPart::File | UriPart::Extension => {
            let path_text = uri.get(path.0..path.1)?;
            let file_from = path.0 + path_text.rfind('/').map_or(0, |i| i + 1);
            let file = non_empty((file_from, path.1))?;
            if part == UriPart::File {
                return Some(file);
            }
            let dot = uri.get(file.0..file.1)?.rfind('.')?;
            non_empty((file.0 + dot + 1, file.1))
        }
        UriPart::User | UriPart::Host | UriPart::Port => {
            let (from, to) = authority?;
            let text = uri.get(from..to)?;
            let host_from = text.rfind('@').map_or(from, |i| from + i + 1);
            if part == UriPart::User {
                return non_empty((from, host_from.saturating_sub(1).max(from)));
            }
            let host_text = uri.get(host_from..to)?;
            // `[v6addr]:port`: the host is returned without brackets.
            let (host, port_from) = if let Some(rest) = host_text.strip_prefix('[') {
                let close = rest.find(']')?;
                (
                    (host_from + 1, host_from + 1 + close),
                    host_from + close + 2,
                )
            } else {
                let colon = host_text.rfind(':').map_or(to, |i| host_from + i);
                ((host_from, colon), colon)
            };
            if part == UriPart::Host {
                return non_empty(host);
            }
            let port_text = uri.get(port_from..to)?;
            port_text
                .strip_prefix(':')
                .and_then(|_| non_empty((port_from + 1, to)))
        }
    }
}

fn is_scheme(text: &str) -> bool {
    text.bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.'))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn uri_edge_cases() {
        fn part(uri: &str, part: UriPart) -> Option<&str> {
            uri_part(uri, part).and_then(|(a, b)| uri.get(a..b))
        }
        assert_eq!(
            part("http://[2001:db8::1]:8080/x", UriPart::Host),
            Some("2001:db8::1")
        );
        assert_eq!(
            part("http://[2001:db8::1]:8080/x", UriPart::Port),
            Some("8080")
        );
        assert_eq!(part("http://[2001:db8::1]/x", UriPart::Port), None);
        assert_eq!(part("http://h", UriPart::Path), None);
        assert_eq!(part("http://h", UriPart::Host), Some("h"));
        assert_eq!(part("http://h/", UriPart::File), None);
        assert_eq!(part("//h:1/p", UriPart::Port), Some("1"));
        assert_eq!(part("/p?", UriPart::Query), None);
        assert_eq!(part("/p#", UriPart::Fragment), None);
        assert_eq!(part("/p/file", UriPart::Extension), None);
        assert_eq!(part("a:b/c", UriPart::Scheme), None, "only scheme://");
        assert_eq!(part("", UriPart::Path), None);
    }

    proptest! {
        #[test]
        fn uri_parts_never_panic(uri in "\\PC{0,40}") {
            for part in [UriPart::Scheme, UriPart::User, UriPart::Host, UriPart::Port, UriPart::Path,
                         UriPart::Query, UriPart::Fragment, UriPart::File, UriPart::Extension] {
                if let Some((from, to)) = uri_part(&uri, part) {
                    prop_assert!(from < to && uri.get(from..to).is_some());
                }
            }
        }
    }
}
