//! The web front-end, beside the REST API: rtflow's own pages at `/html/` (`GET /` redirects there, as
//! sFlow-RT's does), the API explorer at `/api/` over `/api-docs`, and `/inc/`, the shared assets that
//! sFlow-RT app pages load ([`inc`]).
//!
//! rtflow's pages and its `/inc/` chart widgets are written in this repository and embedded in the binary
//! (`crates/server/web/`), so they need no internet and no files at run time. They use no third-party code.

mod inc;

use std::borrow::Cow;

use axum::Router;
use axum::extract::Path;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

pub(crate) use inc::IncAssets;

use crate::state::AppState;

/// Every file under `crates/server/web/`: `html/` (rtflow's pages), `api/` (the explorer), `inc/` (own
/// widgets for sFlow-RT apps).
#[derive(rust_embed::RustEmbed)]
#[folder = "web/"]
struct WebFiles;

/// The routes of the web front-end, merged beside the REST API by [`crate::http::app`].
pub(crate) fn router(inc: std::sync::Arc<IncAssets>, home: &str) -> Router<AppState> {
    // A home page that is not a valid header value was refused with the properties; fall back all the same.
    let home = HeaderValue::from_str(home)
        .unwrap_or_else(|_| HeaderValue::from_static(crate::server::DEFAULT_HOME_PAGE));
    Router::new()
        .route(
            "/",
            get(move || {
                let home = home.clone();
                async move { found_at(home) }
            }),
        )
        .route("/html", get(|| async { found("./html/") }))
        .route(
            "/html/",
            get(|headers: HeaderMap| async move { page("html/index.html", &headers) }),
        )
        .route(
            "/html/{*path}",
            get(|Path(path): Path<String>, headers: HeaderMap| async move {
                page(&format!("html/{path}"), &headers)
            }),
        )
        .route(
            "/favicon.ico",
            get(|headers: HeaderMap| async move { page("inc/img/favicon.png", &headers) }),
        )
        .route("/api", get(|| async { found("./api/") }))
        .route(
            "/api/",
            get(|headers: HeaderMap| async move { page("api/index.html", &headers) }),
        )
        .route(
            "/api/{*path}",
            get(|Path(path): Path<String>, headers: HeaderMap| async move {
                page(&format!("api/{path}"), &headers)
            }),
        )
        .merge(inc::router(inc))
}

/// 302 Found, as sFlow-RT answers `GET /` (relative, so the UI also works below a proxy's path prefix).
fn found(location: &'static str) -> Response {
    found_at(HeaderValue::from_static(location))
}

fn found_at(location: HeaderValue) -> Response {
    (StatusCode::FOUND, [(header::LOCATION, location)]).into_response()
}

/// An embedded file, or a plain 404 page naming what was asked for.
pub(crate) fn page(path: &str, headers: &HeaderMap) -> Response {
    match embedded(path) {
        Some(file) => file.respond(headers),
        None => not_found(&format!("no such page: /{path}")),
    }
}

/// An embedded file's body, type and validator.
struct Asset {
    body: Cow<'static, [u8]>,
    content_type: &'static str,
    etag: String,
}

impl Asset {
    /// 200 with the body, or 304 when the browser already has this version (`If-None-Match`). Pages are
    /// revalidated on every load (`no-cache`), so a new binary is picked up at once.
    fn respond(self, headers: &HeaderMap) -> Response {
        let cached = headers
            .get(header::IF_NONE_MATCH)
            .and_then(|value| value.to_str().ok())
            .is_some_and(|tags| tags.split(',').any(|tag| tag.trim() == self.etag));
        let etag = HeaderValue::from_str(&self.etag).unwrap_or(HeaderValue::from_static("\"\""));
        let common = [
            (header::CACHE_CONTROL, HeaderValue::from_static("no-cache")),
            (header::ETAG, etag),
        ];
        if cached {
            return (StatusCode::NOT_MODIFIED, common).into_response();
        }
        let content_type = (
            header::CONTENT_TYPE,
            HeaderValue::from_static(self.content_type),
        );
        (common, [content_type], self.body).into_response()
    }
}

fn embedded(path: &str) -> Option<Asset> {
    let file = WebFiles::get(path)?;
    let hash = file.metadata.sha256_hash();
    Some(Asset {
        etag: etag_of(&hash[..8]),
        content_type: content_type(path),
        body: file.data,
    })
}

/// A strong validator from the first bytes of a content hash.
fn etag_of(hash: &[u8]) -> String {
    let hex: String = hash.iter().map(|byte| format!("{byte:02x}")).collect();
    format!("\"{hex}\"")
}

/// The MIME type of a web asset or app file, from its extension.
pub(crate) fn content_type(path: &str) -> &'static str {
    let extension = path.rsplit_once('.').map_or("", |(_, ext)| ext);
    match extension.to_ascii_lowercase().as_str() {
        "html" | "htm" => "text/html; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "json" | "map" => "application/json",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "gif" => "image/gif",
        "jpg" | "jpeg" => "image/jpeg",
        "ico" => "image/x-icon",
        "woff" => "font/woff",
        "woff2" => "font/woff2",
        "ttf" => "font/ttf",
        "txt" | "md" => "text/plain; charset=utf-8",
        "yml" | "yaml" => "application/yaml",
        "wav" => "audio/wav",
        "mp3" => "audio/mpeg",
        _ => "application/octet-stream",
    }
}

fn not_found(message: &str) -> Response {
    (
        StatusCode::NOT_FOUND,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        format!("{message}\n"),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_page_and_script_is_embedded_with_a_known_type() {
        let mut count = 0;
        for path in WebFiles::iter() {
            count += 1;
            assert_ne!(
                content_type(&path),
                "application/octet-stream",
                "{path} has no MIME type"
            );
        }
        assert!(count > 10, "only {count} embedded files");
        for page in ["html/index.html", "api/index.html", "inc/stripchart.js"] {
            assert!(embedded(page).is_some(), "{page} is not embedded");
        }
    }

    /// Relative links between the embedded pages resolve to embedded files (or to the REST API).
    #[test]
    fn pages_link_only_to_files_that_exist() {
        for path in WebFiles::iter() {
            if !path.ends_with(".html") {
                continue;
            }
            let Some(file) = WebFiles::get(&path) else {
                continue;
            };
            let text = String::from_utf8_lossy(&file.data).into_owned();
            let dir = path.rsplit_once('/').map_or("", |(dir, _)| dir);
            for attribute in ["src=\"", "href=\""] {
                for target in text.split(attribute).skip(1) {
                    let target = target.split('"').next().unwrap_or_default();
                    let target = target.split(['?', '#']).next().unwrap_or_default();
                    let file = target.rsplit('/').next().unwrap_or_default();
                    if target.contains(':') || !file.contains('.') {
                        continue;
                    }
                    let resolved = resolve(dir, target);
                    assert!(
                        WebFiles::get(&resolved).is_some(),
                        "{path} links to {target} ({resolved}), which is not embedded"
                    );
                }
            }
        }
    }

    fn resolve(dir: &str, target: &str) -> String {
        let mut parts: Vec<&str> = if target.starts_with('/') {
            Vec::new()
        } else {
            dir.split('/').filter(|p| !p.is_empty()).collect()
        };
        for part in target.split('/') {
            match part {
                "" | "." => {}
                ".." => {
                    parts.pop();
                }
                part => parts.push(part),
            }
        }
        parts.join("/")
    }
}
