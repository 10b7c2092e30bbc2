//! `/inc/`: the shared assets that sFlow-RT app pages load as `../../../inc/…`.
//!
//! Two kinds of files live there:
//! * rtflow's own clean-room chart widgets (`stripchart.js`, `jquery.stripchart.js`, `stripchart.css`,
//!   `jquery.gauge.js`, `gauge.css`), images and `inmsf/main.css`, embedded from `web/inc/`;
//! * the third-party MIT libraries the apps expect (jQuery, Bootstrap, Popper, jQuery UI, DataTables). They
//!   are not in the repository: `scripts/fetch-inc` installs the pinned npm packages and lays them out as
//!   sFlow-RT does in `target/inc/`. The server serves them from a directory found at start ([`IncAssets::locate`]):
//!   `--inc-dir DIR` (property `http.inc.dir`), else the first of [`default_locations`] that holds
//!   `jquery.min.js`. Without one, `/inc/` says what is missing (page, 404 text and log) and rtflow's own
//!   pages, which use none of these libraries, keep working.

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use axum::Router;
use axum::extract::{Path as UrlPath, State};
use axum::http::HeaderMap;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use parking_lot::Mutex;

use super::{Asset, WebFiles, content_type, embedded, etag_of, found, not_found};
use crate::error::ServerError;
use crate::state::AppState;

/// The third-party files sFlow-RT app pages load (spec inc-widgets §1), with the package each comes from.
const LIBRARIES: &[(&str, &str)] = &[
    ("jquery.min.js", JQUERY),
    ("jquery.widget.js", "jQuery UI 1.12.1 widget factory"),
    ("popper.min.js", "Popper 1.16.1"),
    ("bootstrap.min.js", BOOTSTRAP),
    ("bootstrap.min.css", BOOTSTRAP),
    ("jquery-ui/jquery-ui.min.js", JQUERY_UI),
    ("jquery-ui/jquery-ui.structure.min.css", JQUERY_UI),
    ("jquery-ui/jquery-ui.theme.css", JQUERY_UI),
    ("DataTables/js/jquery.dataTables.min.js", DATATABLES),
    ("DataTables/js/dataTables.jqueryui.min.js", DATATABLES),
    ("DataTables/css/dataTables.jqueryui.css", DATATABLES),
];
const JQUERY: &str = "jQuery 3.4.1";
const BOOTSTRAP: &str = "Bootstrap 4.4.1";
const JQUERY_UI: &str = "jQuery UI 1.12.1";
const DATATABLES: &str = "DataTables 1.10.20";

/// The file whose presence marks a directory of third-party `/inc/` assets.
const MARKER: &str = "jquery.min.js";

/// At most this many distinct missing paths are logged (each once).
const MAX_REPORTED: usize = 64;

/// Where the third-party `/inc/` libraries are served from, if anywhere.
#[derive(Debug, Default)]
pub(crate) struct IncAssets {
    dir: Option<PathBuf>,
    /// The directories looked at (the configured one, or the default locations).
    searched: Vec<PathBuf>,
    /// Missing paths already logged.
    reported: Mutex<BTreeSet<String>>,
}

/// The default directories, in order: next to an installed binary (`<prefix>/bin/rtflow` →
/// `<prefix>/share/rtflow/inc`), next to a cargo-built one (`target/release/rtflow` → `target/inc`, where
/// `scripts/fetch-inc` puts them), then the system-wide locations.
pub(crate) fn default_locations() -> Vec<PathBuf> {
    let mut dirs = Vec::new();
    if let Some(prefix) = std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent()?.parent().map(Path::to_path_buf))
    {
        dirs.push(prefix.join("share/rtflow/inc"));
        dirs.push(prefix.join("inc"));
    }
    dirs.push(PathBuf::from("/usr/local/share/rtflow/inc"));
    dirs.push(PathBuf::from("/usr/share/rtflow/inc"));
    dirs
}

impl IncAssets {
    /// The configured directory (which must exist), else the first default location holding the libraries.
    pub(crate) fn locate(configured: Option<&Path>) -> Result<IncAssets, ServerError> {
        if let Some(dir) = configured {
            if !dir.is_dir() {
                return Err(ServerError::IncDir {
                    path: dir.to_path_buf(),
                });
            }
            return Ok(IncAssets::serving(
                Some(dir.to_path_buf()),
                vec![dir.to_path_buf()],
            ));
        }
        let searched = default_locations();
        let dir = searched
            .iter()
            .find(|dir| dir.join(MARKER).is_file())
            .cloned();
        Ok(IncAssets::serving(dir, searched))
    }

    fn serving(dir: Option<PathBuf>, searched: Vec<PathBuf>) -> IncAssets {
        IncAssets {
            dir,
            searched,
            reported: Mutex::new(BTreeSet::new()),
        }
    }

    /// Third-party files that apps load but the directory lacks (all of them without a directory).
    fn missing(&self) -> Vec<&'static str> {
        LIBRARIES
            .iter()
            .map(|(path, _)| *path)
            .filter(|path| {
                self.dir
                    .as_ref()
                    .is_none_or(|dir| !dir.join(path).is_file())
            })
            .collect()
    }

    /// One start-up line saying where the libraries come from, or a warning saying what will not work.
    pub(crate) fn log_status(&self) {
        let missing = self.missing();
        match &self.dir {
            Some(dir) if missing.is_empty() => {
                tracing::info!("/inc/: third-party web libraries from {}", dir.display());
            }
            Some(dir) => tracing::warn!(
                "/inc/: third-party web libraries from {}, which lacks {}: sFlow-RT app pages that load them will fail",
                dir.display(),
                missing.join(", ")
            ),
            None => tracing::warn!("/inc/: {}", self.absence()),
        }
    }

    /// Why no third-party file can be served, and how to fix it.
    fn absence(&self) -> String {
        let searched: Vec<String> = self
            .searched
            .iter()
            .map(|dir| dir.display().to_string())
            .collect();
        format!(
            "the third-party web libraries (jQuery, Bootstrap, Popper, jQuery UI, DataTables) are not installed: \
             no directory holding {MARKER} was found (looked in {}). sFlow-RT app pages that load them will not work; \
             rtflow's own UI does not need them. Install them with scripts/fetch-inc (npm) and restart, or pass \
             --inc-dir DIR (property http.inc.dir)",
            searched.join(", ")
        )
    }

    /// A third-party file from the directory, if present.
    async fn read(&self, path: &str) -> Option<Asset> {
        let file = self.dir.as_ref()?.join(path);
        let meta = tokio::fs::metadata(&file).await.ok()?;
        if !meta.is_file() {
            return None;
        }
        let body = tokio::fs::read(&file).await.ok()?;
        let modified = meta
            .modified()
            .ok()
            .and_then(|time| time.duration_since(std::time::UNIX_EPOCH).ok())
            .map_or(0, |age| age.as_nanos());
        let mut stamp = modified.to_be_bytes().to_vec();
        stamp.extend_from_slice(&(body.len() as u64).to_be_bytes());
        Some(Asset {
            etag: etag_of(&stamp),
            content_type: content_type(path),
            body: body.into(),
        })
    }

    /// The 404 text for a file that is neither embedded nor in the directory; logged once per path.
    fn missing_response(&self, path: &str) -> Response {
        let library = library_of(path);
        let message = match (&self.dir, library) {
            (None, Some(library)) => format!("/inc/{path} ({library}, MIT): {}", self.absence()),
            (Some(dir), Some(library)) => format!(
                "/inc/{path} ({library}, MIT) is not in the third-party web library directory {}; re-run scripts/fetch-inc",
                dir.display()
            ),
            (_, None) => format!("no such file: /inc/{path}"),
        };
        if library.is_some() {
            let mut reported = self.reported.lock();
            if reported.len() < MAX_REPORTED && reported.insert(path.to_string()) {
                tracing::warn!("{message}");
            }
        }
        not_found(&message)
    }

    /// The `/inc/` page: what is served from where, and what is missing.
    fn index_page(&self) -> String {
        let mut html = String::from(
            "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">\
             <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
             <title>rtflow /inc/ assets</title><link rel=\"icon\" type=\"image/png\" href=\"img/favicon.png\">\
             <link rel=\"stylesheet\" href=\"../html/css/ui.css\"></head>\
             <body><main class=\"page\"><h1>/inc/: assets for sFlow-RT app pages</h1>",
        );
        let missing = self.missing();
        match &self.dir {
            None => {
                let _ = write!(
                    html,
                    "<p class=\"alert\" id=\"inc-status\">Not installed: {}.</p>",
                    escape(&self.absence())
                );
            }
            Some(dir) => {
                let _ = write!(
                    html,
                    "<p id=\"inc-status\">Third-party libraries are served from <code>{}</code>{}.</p>",
                    escape(&dir.display().to_string()),
                    if missing.is_empty() {
                        ""
                    } else {
                        " (some are missing, see below)"
                    }
                );
            }
        }
        html.push_str("<h2>Third-party libraries (MIT)</h2><div class=\"scroll\"><table class=\"data\"><thead><tr><th>file</th><th>package</th><th>state</th></tr></thead><tbody>");
        for (path, library) in LIBRARIES {
            let present = !missing.contains(path);
            let _ = write!(
                html,
                "<tr><td>{}</td><td>{library}</td><td class=\"{}\">{}</td></tr>",
                link(path, present),
                if present { "ok" } else { "bad" },
                if present { "present" } else { "missing" }
            );
        }
        html.push_str(
            "</tbody></table></div><h2>rtflow's own widgets and assets (built in)</h2><ul>",
        );
        for path in
            WebFiles::iter().filter_map(|path| path.strip_prefix("inc/").map(str::to_string))
        {
            let _ = write!(html, "<li>{}</li>", link(&path, true));
        }
        html.push_str(
            "</ul><p>The chart widgets are clean-room implementations of the interface sFlow-RT's apps use; \
             see the README.</p><p><a href=\"../html/index.html\">rtflow status</a></p></main></body></html>",
        );
        html
    }
}

fn link(path: &str, present: bool) -> String {
    let path = escape(path);
    if present {
        format!("<a href=\"{path}\"><code>{path}</code></a>")
    } else {
        format!("<code>{path}</code>")
    }
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The third-party package a path belongs to, if it is one the apps load.
fn library_of(path: &str) -> Option<&'static str> {
    if let Some((_, library)) = LIBRARIES.iter().find(|(known, _)| *known == path) {
        return Some(library);
    }
    if path.starts_with("jquery-ui/") {
        Some(JQUERY_UI)
    } else if path.starts_with("DataTables/js/") || path.starts_with("DataTables/css/") {
        Some(DATATABLES)
    } else {
        None
    }
}

/// A relative path that stays inside `/inc/` (no `..`, no absolute or empty components).
fn is_safe(path: &str) -> bool {
    !path.is_empty()
        && !path.contains(['\\', '\0'])
        && path
            .split('/')
            .all(|part| !part.is_empty() && part != "." && part != "..")
}

/// `jquery.stripchart.js`: the chart core rtflow's own pages use (`html/js/chart.js`) and the widget
/// (`inc/jquery.stripchart.js`), in one function scope so that they add no global but the jQuery plugins.
fn stripchart_script() -> Option<Asset> {
    static SCRIPT: OnceLock<Option<(Vec<u8>, String)>> = OnceLock::new();
    let (body, etag) = SCRIPT.get_or_init(|| {
        let core = WebFiles::get("html/js/chart.js")?;
        let widget = WebFiles::get("inc/jquery.stripchart.js")?;
        let mut body = b"/* rtflow: jquery.stripchart.js = chart core + stripchart widget */\n(function () {\n".to_vec();
        body.extend_from_slice(&core.data);
        body.extend_from_slice(b"\n");
        body.extend_from_slice(&widget.data);
        body.extend_from_slice(b"\n})();\n");
        let mut stamp = core.metadata.sha256_hash()[..8].to_vec();
        stamp.extend_from_slice(&widget.metadata.sha256_hash()[..8]);
        Some((body, etag_of(&stamp)))
    })
    .as_ref()?;
    Some(Asset {
        body: body.as_slice().into(),
        content_type: content_type("x.js"),
        etag: etag.clone(),
    })
}

pub(super) fn router(inc: Arc<IncAssets>) -> Router<AppState> {
    Router::new()
        .route("/inc", get(|| async { found("./inc/") }))
        .route("/inc/", get(index))
        .route("/inc/{*path}", get(file))
        .with_state(inc)
}

async fn index(State(inc): State<Arc<IncAssets>>) -> Html<String> {
    Html(inc.index_page())
}

async fn file(
    State(inc): State<Arc<IncAssets>>,
    UrlPath(path): UrlPath<String>,
    headers: HeaderMap,
) -> Response {
    if !is_safe(&path) {
        return not_found(&format!("no such file: /inc/{path}"));
    }
    let own = if path == "jquery.stripchart.js" {
        stripchart_script()
    } else {
        embedded(&format!("inc/{path}"))
    };
    if let Some(asset) = own {
        return asset.respond(&headers);
    }
    match inc.read(&path).await {
        Some(asset) => asset.respond(&headers),
        None => inc.missing_response(&path),
    }
    .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_that_leave_inc_are_refused() {
        for bad in [
            "",
            "../x",
            "a/../../x",
            "/etc/passwd",
            "a//b",
            "./a",
            "a\\b",
            "a/.",
        ] {
            assert!(!is_safe(bad), "{bad:?} accepted");
        }
        for good in ["jquery.min.js", "jquery-ui/images/x.png", "a..b.js"] {
            assert!(is_safe(good), "{good:?} refused");
        }
    }

    #[test]
    fn library_paths_name_their_package() {
        assert_eq!(library_of("jquery.min.js"), Some(JQUERY));
        assert_eq!(
            library_of("jquery-ui/images/ui-icons_444444_256x240.png"),
            Some(JQUERY_UI)
        );
        assert_eq!(library_of("DataTables/js/x.js"), Some(DATATABLES));
        assert_eq!(library_of("nothing.js"), None);
    }

    #[test]
    fn the_composed_widget_holds_core_and_widget_in_one_scope() {
        let Some(asset) = stripchart_script() else {
            panic!("jquery.stripchart.js not composed");
        };
        let text = String::from_utf8_lossy(&asset.body).into_owned();
        assert!(text.contains("(function () {"));
        assert!(text.trim_end().ends_with("})();"));
        assert!(text.contains("inmon.stripchart"));
    }

    #[test]
    fn a_configured_directory_must_exist() {
        let missing = Path::new("/nonexistent/rtflow-inc");
        assert!(matches!(
            IncAssets::locate(Some(missing)),
            Err(ServerError::IncDir { .. })
        ));
    }
}
