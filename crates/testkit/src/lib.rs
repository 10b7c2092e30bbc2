//! Test-only helpers for the rtflow workspace (a dev-dependency, never published).
//!
//! Some tests read third-party material from `../shared` beside the repository (real captures,
//! sFlow-RT apps, reference specifications). A plain clone has no `../shared`: those tests then
//! skip with one line on stderr, naming what is missing, and pass. CI sets
//! [`REQUIRE_SHARED_ENV`] (`.ci/run` exports `RTFLOW_REQUIRE_SHARED=1`), which turns every such
//! skip into a failure, so a CI run cannot silently skip them.
//!
//! ```no_run
//! use rtflow_testkit::{Shared, require_shared};
//!
//! #[test]
//! fn ecmp_decodes() {
//!     let captures = require_shared!(Shared::Captures); // returns from the test if missing
//!     let ecmp = captures.join("ecmp.pcap");
//!     # let _ = ecmp;
//! }
//! ```
//!
//! The project's own generated captures live in `tests/data` ([`data_dir`]) and are always there.

use std::io::Write as _;
use std::path::{Path, PathBuf};

pub mod headers;
pub mod servers;

/// Set to `1` (as `.ci/run` does), a test that would skip for lack of `../shared` fails instead.
pub const REQUIRE_SHARED_ENV: &str = "RTFLOW_REQUIRE_SHARED";

/// The parts of `../shared` that tests read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shared {
    /// `../shared/captures`: real devices' sFlow (pcap), third-party data.
    Captures,
    /// `../shared/apps`: real sFlow-RT apps (MIT, unmodified).
    Apps,
    /// `../shared/spec`: reference specifications (sFlow-RT API, sflowtool format, ...).
    Spec,
}

impl Shared {
    /// The directory name under `../shared`.
    pub fn name(self) -> &'static str {
        match self {
            Shared::Captures => "captures",
            Shared::Apps => "apps",
            Shared::Spec => "spec",
        }
    }

    /// What the directory holds, for the skip line.
    pub fn description(self) -> &'static str {
        match self {
            Shared::Captures => "third-party captures",
            Shared::Apps => "third-party sFlow-RT apps",
            Shared::Spec => "reference specifications",
        }
    }

    /// Where the directory is expected (present or not).
    pub fn path(self) -> PathBuf {
        shared_root().join(self.name())
    }

    /// The line printed when a test skips for lack of this directory.
    pub fn skip_reason(self) -> String {
        format!(
            "skipped: needs ../shared/{} ({}), not present beside this clone",
            self.name(),
            self.description()
        )
    }
}

/// The repository root (the workspace directory).
pub fn repo_root() -> PathBuf {
    // This crate is crates/testkit of the workspace.
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .nth(2)
        .map_or_else(|| PathBuf::from("."), Path::to_path_buf)
}

/// `../shared` beside the repository.
pub fn shared_root() -> PathBuf {
    repo_root().parent().map_or_else(
        || PathBuf::from("../shared"),
        |parent| parent.join("shared"),
    )
}

/// True when [`REQUIRE_SHARED_ENV`] is set to anything but empty or `0`.
pub fn shared_required() -> bool {
    std::env::var_os(REQUIRE_SHARED_ENV).is_some_and(|v| !v.is_empty() && v != "0")
}

/// The directory of `part` when present. When missing: panics if [`shared_required`], else
/// writes one skip line to stderr (past the test harness's output capture, so it shows in a
/// normal `cargo test` run) and returns `None`; the caller then returns without testing.
pub fn shared(part: Shared) -> Option<PathBuf> {
    match locate(part, part.path(), shared_required()) {
        Ok(dir) => Some(dir),
        Err(reason) => {
            report_skip(&reason);
            None
        }
    }
}

/// `dir` if it exists, else the skip reason; panics on a missing part when `required`.
fn locate(part: Shared, dir: PathBuf, required: bool) -> Result<PathBuf, String> {
    if dir.is_dir() {
        return Ok(dir);
    }
    assert!(
        !required,
        "{REQUIRE_SHARED_ENV} is set, so this test may not skip, but {} ({}) is missing",
        dir.display(),
        part.description()
    );
    Err(part.skip_reason())
}

/// A file of `../shared/captures`: `None` (after the skip line) when the directory is missing;
/// panics if the directory is there but the file is not (a real failure).
pub fn shared_capture(name: &str) -> Option<PathBuf> {
    let path = shared(Shared::Captures)?.join(name);
    assert!(path.is_file(), "capture {} is missing", path.display());
    Some(path)
}

/// Writes `test-name: reason` as one line on stderr. The test harness captures `eprintln!`
/// output of passing tests; a direct write to the stderr handle is not captured.
fn report_skip(reason: &str) {
    let thread = std::thread::current();
    let line = match thread.name() {
        Some(name) if name != "main" => format!("{name}: {reason}\n"),
        _ => format!("{reason}\n"),
    };
    // One write call per line keeps lines of parallel tests from interleaving.
    let _ = std::io::stderr().lock().write_all(line.as_bytes());
}

/// `tests/data`: the captures the project generates itself, kept in the repository.
pub fn data_dir() -> PathBuf {
    repo_root().join("tests").join("data")
}

/// A file of `tests/data`; panics when it is missing (it is part of the repository).
pub fn data_file(name: &str) -> PathBuf {
    let path = data_dir().join(name);
    assert!(
        path.is_file(),
        "{} is missing (tests/data is part of the repository)",
        path.display()
    );
    path
}

/// Every `.pcap` and `.pcapng` file under `dir` (recursively), sorted; panics if `dir` cannot be read.
pub fn capture_files(dir: &Path) -> Vec<PathBuf> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        let entries =
            std::fs::read_dir(dir).unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()));
        for entry in entries {
            let path = entry
                .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
                .path();
            if path.is_dir() {
                walk(&path, out);
            } else if path
                .extension()
                .is_some_and(|ext| ext == "pcap" || ext == "pcapng")
            {
                out.push(path);
            }
        }
    }
    let mut files = Vec::new();
    walk(dir, &mut files);
    files.sort();
    files
}

/// One line of `tests/data/MANIFEST`: a generated file and what its generator put into it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManifestEntry {
    /// File name inside `tests/data`.
    pub name: String,
    fields: Vec<(String, String)>,
}

impl ManifestEntry {
    /// The path of the file.
    pub fn path(&self) -> PathBuf {
        data_file(&self.name)
    }

    /// A count (`datagrams`, `sflow_v5`, `not_sflow_v5`, `malformed`, `flow_samples`,
    /// `counter_samples`, `discard_samples`, `other_samples`, `sampled_headers`); panics when the
    /// manifest lacks it.
    pub fn count(&self, key: &str) -> u64 {
        self.fields
            .iter()
            .find(|(k, _)| k == key)
            .and_then(|(_, v)| v.parse().ok())
            .unwrap_or_else(|| panic!("tests/data/MANIFEST: {} has no count {key:?}", self.name))
    }

    /// The agents of the file, in order of first appearance.
    pub fn agents(&self) -> Vec<String> {
        self.fields
            .iter()
            .find(|(k, _)| k == "agents")
            .map(|(_, v)| {
                v.split(',')
                    .filter(|a| !a.is_empty())
                    .map(String::from)
                    .collect()
            })
            .unwrap_or_default()
    }
}

/// The entries of `tests/data/MANIFEST` (written by `cargo run -p rtflow-corpus --example
/// regenerate`): every generated capture with its counts.
pub fn manifest() -> Vec<ManifestEntry> {
    let path = data_file("MANIFEST");
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    parse_manifest(&text)
}

/// The entry of `tests/data/MANIFEST` for `name`; panics when there is none.
pub fn manifest_entry(name: &str) -> ManifestEntry {
    manifest()
        .into_iter()
        .find(|e| e.name == name)
        .unwrap_or_else(|| panic!("tests/data/MANIFEST has no entry for {name}"))
}

fn parse_manifest(text: &str) -> Vec<ManifestEntry> {
    text.lines()
        .filter(|line| !line.starts_with('#') && !line.trim().is_empty())
        .filter_map(|line| {
            let mut words = line.split_whitespace();
            let name = words.next()?.to_string();
            let fields = words
                .filter_map(|w| w.split_once('='))
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect();
            Some(ManifestEntry { name, fields })
        })
        .collect()
}

/// The directory of a [`Shared`] part, or `return` from the calling function (after one skip
/// line) when it is missing beside this clone. Fails instead when `RTFLOW_REQUIRE_SHARED=1`.
#[macro_export]
macro_rules! require_shared {
    ($part:expr) => {
        match $crate::shared($part) {
            ::core::option::Option::Some(dir) => dir,
            ::core::option::Option::None => return,
        }
    };
}

/// The path of a file of `../shared/captures`, or `return` from the calling function (after one
/// skip line) when the directory is missing. Fails instead when `RTFLOW_REQUIRE_SHARED=1`.
#[macro_export]
macro_rules! shared_capture {
    ($name:expr) => {
        match $crate::shared_capture($name) {
            ::core::option::Option::Some(path) => path,
            ::core::option::Option::None => return,
        }
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_sit_beside_and_inside_the_repository() {
        let root = repo_root();
        assert!(root.join("Cargo.toml").is_file(), "{}", root.display());
        assert!(root.join("crates").join("testkit").is_dir());
        assert_eq!(
            Shared::Captures.path(),
            root.parent().unwrap().join("shared").join("captures")
        );
        assert_eq!(data_dir(), root.join("tests").join("data"));
    }

    #[test]
    fn skip_reason_names_the_directory_and_what_it_holds() {
        assert_eq!(
            Shared::Captures.skip_reason(),
            "skipped: needs ../shared/captures (third-party captures), not present beside this clone"
        );
        assert!(Shared::Apps.skip_reason().contains("../shared/apps"));
        assert!(Shared::Spec.skip_reason().contains("../shared/spec"));
    }

    #[test]
    fn capture_files_finds_the_generated_captures() {
        let files = capture_files(&data_dir());
        for name in ["fabric.pcap", "records.pcap", "records.pcapng"] {
            assert!(files.contains(&data_dir().join(name)), "{name}: {files:?}");
        }
        assert!(files.iter().all(|f| !f.ends_with("MANIFEST")));
    }

    #[test]
    fn manifest_lines_give_counts_and_agents() {
        let entries = parse_manifest(
            "# comment\nx.pcap datagrams=3 flow_samples=7 agents=10.0.0.1,::1\n\ny.pcap agents=\n",
        );
        assert_eq!(entries.len(), 2);
        assert_eq!(entries[0].count("datagrams"), 3);
        assert_eq!(entries[0].count("flow_samples"), 7);
        assert_eq!(entries[0].agents(), ["10.0.0.1", "::1"]);
        assert!(entries[1].agents().is_empty());
    }

    #[test]
    fn a_missing_part_skips_unless_required() {
        let missing = PathBuf::from("/nonexistent/rtflow-testkit/shared/captures");
        assert_eq!(
            locate(Shared::Captures, missing, false),
            Err(Shared::Captures.skip_reason())
        );
        let present = data_dir().parent().unwrap().to_path_buf();
        assert_eq!(locate(Shared::Captures, present.clone(), true), Ok(present));
    }

    #[test]
    #[should_panic(expected = "RTFLOW_REQUIRE_SHARED is set, so this test may not skip")]
    fn a_missing_part_fails_when_required() {
        let missing = PathBuf::from("/nonexistent/rtflow-testkit/shared/apps");
        let _ = locate(Shared::Apps, missing, true);
    }

    /// The macro yields the directory when present and returns early when it is missing.
    #[test]
    fn require_shared_returns_early_only_when_missing() {
        let mut reached = None;
        let mut run = || {
            let dir = require_shared!(Shared::Captures);
            reached = Some(dir);
        };
        run();
        let expected = Shared::Captures.path();
        if expected.is_dir() {
            assert_eq!(reached, Some(expected));
        } else {
            assert_eq!(reached, None);
        }
    }
}
