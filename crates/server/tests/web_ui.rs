//! The web front-end over real HTTP: `/` leads to the status page, embedded pages and scripts with their
//! types and validators, `/api/`, and `/inc/` with and without the third-party library directory.

mod common;

use std::path::Path;

use common::{loopback_config, start};
use reqwest::StatusCode;
use reqwest::header::{CONTENT_TYPE, ETAG, IF_NONE_MATCH, LOCATION};
use rtflow_server::ServerConfig;

struct Web {
    base: String,
    client: reqwest::Client,
}

impl Web {
    fn new(server: &rtflow_server::Server) -> Self {
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(std::time::Duration::from_secs(30))
            .build()
            .unwrap_or_else(|e| panic!("client: {e}"));
        Self {
            base: format!("http://{}", server.http_addr()),
            client,
        }
    }

    async fn get(&self, path: &str) -> reqwest::Response {
        self.client
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .unwrap_or_else(|e| panic!("GET {path}: {e}"))
    }

    /// Status, Content-Type and body.
    async fn fetch(&self, path: &str) -> (StatusCode, String, String) {
        let response = self.get(path).await;
        let status = response.status();
        let kind = header(&response, CONTENT_TYPE);
        let body = response.text().await.unwrap_or_default();
        (status, kind, body)
    }
}

fn header(response: &reqwest::Response, name: reqwest::header::HeaderName) -> String {
    response
        .headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string()
}

fn with_inc_dir(dir: &Path) -> ServerConfig {
    ServerConfig {
        inc_dir: Some(dir.to_path_buf()),
        ..loopback_config()
    }
}

/// A server with an empty library directory and one sFlow-RT property set.
async fn start_with_property(dir: &Path, name: &str, value: &str) -> rtflow_server::Server {
    let mut properties = rtflow_server::Properties::default();
    properties.set(name, value);
    let mut config = with_inc_dir(dir);
    properties
        .apply(&mut config)
        .unwrap_or_else(|e| panic!("{name}={value}: {e}"));
    start(config).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_html_redirect_makes_an_app_the_home_page() {
    let empty = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
    let server = start_with_property(
        empty.path(),
        "http.html.redirect",
        "./app/browse-flows/html/",
    )
    .await;
    let root = Web::new(&server).get("/").await;
    assert_eq!(root.status(), StatusCode::FOUND);
    assert_eq!(header(&root, LOCATION), "./app/browse-flows/html/");
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_html_no_leaves_only_the_rest_api() {
    let empty = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
    let server = start_with_property(empty.path(), "http.html", "no").await;
    let web = Web::new(&server);
    for path in [
        "/",
        "/html/index.html",
        "/api/",
        "/inc/stripchart.js",
        "/app/any/html/index.html",
    ] {
        let (status, _, _) = web.fetch(path).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}");
    }
    for path in ["/version", "/api-docs", "/apps/json"] {
        let (status, _, _) = web.fetch(path).await;
        assert_eq!(status, StatusCode::OK, "{path}");
    }
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn root_leads_to_the_status_page_and_pages_are_served_with_their_types() {
    let empty = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
    let server = start(with_inc_dir(empty.path())).await;
    let web = Web::new(&server);

    let root = web.get("/").await;
    assert_eq!(root.status(), StatusCode::FOUND);
    assert_eq!(header(&root, LOCATION), "./html/index.html");

    let (status, kind, body) = web.fetch("/html/index.html").await;
    assert_eq!(status, StatusCode::OK);
    assert!(kind.starts_with("text/html"), "{kind}");
    assert!(body.contains("<h1>Status</h1>"), "{body}");
    for (path, expected) in [
        ("/html/", "text/html"),
        ("/html/js/chart.js", "text/javascript"),
        ("/html/css/ui.css", "text/css"),
        ("/api/", "text/html"),
        ("/inc/stripchart.js", "text/javascript"),
        ("/inc/stripchart.css", "text/css"),
        ("/inc/img/favicon.png", "image/png"),
        ("/inc/img/inmon.svg", "image/svg+xml"),
        ("/inc/inmsf/main.css", "text/css"),
    ] {
        let (status, kind, _) = web.fetch(path).await;
        assert_eq!(status, StatusCode::OK, "{path}");
        assert!(kind.starts_with(expected), "{path}: {kind}");
    }

    // A browser that has the page already gets 304.
    let first = web.get("/html/js/ui.js").await;
    let etag = header(&first, ETAG);
    assert!(etag.starts_with('"'), "no ETag: {etag:?}");
    let again = web
        .client
        .get(format!("{}/html/js/ui.js", web.base))
        .header(IF_NONE_MATCH, &etag)
        .send()
        .await
        .unwrap_or_else(|e| panic!("conditional GET: {e}"));
    assert_eq!(again.status(), StatusCode::NOT_MODIFIED);

    // Unknown pages are plain 404s; unknown REST paths keep their JSON errors.
    let (status, kind, body) = web.fetch("/html/nothing.html").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(kind.starts_with("text/plain"), "{kind}");
    assert!(body.contains("/html/nothing.html"), "{body}");
    let (status, kind, _) = web.fetch("/nothing/json").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(kind.starts_with("application/json"), "{kind}");
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn inc_serves_own_widgets_and_says_which_libraries_are_missing() {
    let empty = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
    let server = start(with_inc_dir(empty.path())).await;
    let web = Web::new(&server);

    // The widget is the chart core and the widget in one function scope.
    let (status, _, script) = web.fetch("/inc/jquery.stripchart.js").await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        script.contains("var RtChart = (function ()"),
        "no chart core"
    );
    assert!(script.contains("$.widget('inmon.stripchart'"), "no widget");

    let (status, kind, body) = web.fetch("/inc/jquery.min.js").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(kind.starts_with("text/plain"), "{kind}");
    assert!(body.contains("jQuery 3.4.1"), "{body}");
    assert!(body.contains("scripts/fetch-inc"), "{body}");

    let (status, _, page) = web.fetch("/inc/").await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("some are missing"), "{page}");
    assert!(page.contains("<code>bootstrap.min.css</code>"), "{page}");
    assert!(page.contains(">missing<"), "{page}");

    // Nothing outside the directory is reachable.
    for path in [
        "/inc/..%2F..%2Fetc%2Fpasswd",
        "/inc/../Cargo.toml",
        "/inc/%2e%2e/x",
    ] {
        let (status, _, _) = web.fetch(path).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}");
    }
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn inc_serves_third_party_files_from_the_configured_directory() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
    let write = |name: &str, text: &str| {
        let path = dir.path().join(name);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).unwrap_or_else(|e| panic!("mkdir: {e}"));
        }
        std::fs::write(path, text).unwrap_or_else(|e| panic!("write {name}: {e}"));
    };
    write("jquery.min.js", "/*! jQuery test stand-in */");
    write("jquery-ui/jquery-ui.theme.css", ".ui-widget{}");
    let server = start(with_inc_dir(dir.path())).await;
    let web = Web::new(&server);

    let (status, kind, body) = web.fetch("/inc/jquery.min.js").await;
    assert_eq!(status, StatusCode::OK);
    assert!(kind.starts_with("text/javascript"), "{kind}");
    assert_eq!(body, "/*! jQuery test stand-in */");
    let (status, kind, _) = web.fetch("/inc/jquery-ui/jquery-ui.theme.css").await;
    assert_eq!(status, StatusCode::OK);
    assert!(kind.starts_with("text/css"), "{kind}");
    // Own widgets win over files of the same name in the directory.
    write("stripchart.js", "not ours");
    let (_, _, own) = web.fetch("/inc/stripchart.js").await;
    assert!(own.contains("$.fn.chart"), "{own}");

    let (_, _, page) = web.fetch("/inc/").await;
    assert!(
        page.contains(&dir.path().display().to_string()),
        "the page names the directory: {page}"
    );
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_configured_inc_directory_that_does_not_exist_stops_the_start() {
    let config = with_inc_dir(Path::new("/nonexistent/rtflow/inc"));
    match rtflow_server::Server::start(config).await {
        Ok(_) => panic!("started without the configured /inc/ directory"),
        Err(err) => assert!(err.to_string().contains("/nonexistent/rtflow/inc"), "{err}"),
    }
}
