//! Finding what to run: apps in the app directory (`NAME/scripts/*.js`, `NAME/html/`, `NAME/api.yml`) and
//! standalone scripts, and the header-comment metadata of a script.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// One script to start.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScriptSpec {
    /// `APP~FILE.js` for app scripts, the file name for standalone scripts.
    pub id: String,
    /// The app it belongs to.
    pub app: Option<String>,
    /// Its file (absolute when it could be resolved).
    pub path: PathBuf,
}

impl ScriptSpec {
    /// The script's file name (`top.js`).
    pub fn file_name(&self) -> String {
        self.path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default()
    }

    /// The directory `scriptdir()` returns.
    pub fn dir(&self) -> PathBuf {
        self.path
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_default()
    }
}

/// One app found in the app directory.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AppSpec {
    /// The app's name (its directory's name; its URLs are under `/app/{name}/`).
    pub name: String,
    /// The app's directory.
    pub dir: PathBuf,
    /// File names of its top-level scripts, sorted.
    pub scripts: Vec<String>,
    /// Whether it has an `html/` directory (`entry: "/html/"` in `/apps/json`).
    pub has_html: bool,
}

impl AppSpec {
    /// `api.yml` when the app ships one.
    pub fn api_docs(&self) -> Option<PathBuf> {
        let path = self.dir.join("api.yml");
        path.is_file().then_some(path)
    }
}

/// Apps under `app_dir` (sorted by name) and their scripts. A missing directory gives no apps; unreadable
/// entries are skipped with a warning.
pub(crate) fn discover_apps(app_dir: &Path) -> (Vec<AppSpec>, Vec<ScriptSpec>) {
    let mut apps = Vec::new();
    let mut scripts = Vec::new();
    let Ok(entries) = std::fs::read_dir(app_dir) else {
        return (apps, scripts);
    };
    let mut dirs: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    for dir in dirs {
        let Some(name) = dir.file_name().map(|n| n.to_string_lossy().into_owned()) else {
            continue;
        };
        if name.starts_with('.') {
            continue;
        }
        let dir = std::fs::canonicalize(&dir).unwrap_or(dir);
        let mut files: Vec<String> = std::fs::read_dir(dir.join("scripts"))
            .map(|entries| {
                entries
                    .filter_map(Result::ok)
                    .filter(|e| e.path().is_file())
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .filter(|f| f.ends_with(".js"))
                    .collect()
            })
            .unwrap_or_default();
        files.sort();
        let has_html = dir.join("html").is_dir();
        if files.is_empty() && !has_html {
            continue;
        }
        for file in &files {
            scripts.push(ScriptSpec {
                id: format!("{name}~{file}"),
                app: Some(name.clone()),
                path: dir.join("scripts").join(file),
            });
        }
        apps.push(AppSpec {
            name,
            dir,
            scripts: files,
            has_html,
        });
    }
    (apps, scripts)
}

/// A standalone script (`script.file`, `--script`).
pub(crate) fn standalone(path: &Path) -> ScriptSpec {
    let path = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
    let file = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.display().to_string());
    ScriptSpec {
        id: file,
        app: None,
        path,
    }
}

/// Header-comment metadata keys sFlow-RT reads.
const METADATA_KEYS: &[&str] = &[
    "author",
    "date",
    "version",
    "description",
    "copyright",
    "wrapglobals",
];

/// `// key: value` lines of the script's leading comment block (`author`, `version`, `description`, …).
pub(crate) fn metadata(source: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for line in source.lines() {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let Some(comment) = line.strip_prefix("//") else {
            break;
        };
        if let Some((key, value)) = comment.split_once(':') {
            let key = key.trim().to_ascii_lowercase();
            if METADATA_KEYS.contains(&key.as_str()) {
                out.insert(key, value.trim().to_string());
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metadata_comes_from_the_header_comments() {
        let src = "// author: InMon Corp.\n// version: 1.3\n//  description : Prometheus exporter\n\nvar x = 1; // date: no\n";
        let meta = metadata(src);
        assert_eq!(meta.get("author").map(String::as_str), Some("InMon Corp."));
        assert_eq!(meta.get("version").map(String::as_str), Some("1.3"));
        assert_eq!(
            meta.get("description").map(String::as_str),
            Some("Prometheus exporter")
        );
        assert!(!meta.contains_key("date"));
    }

    #[test]
    fn apps_and_their_scripts_are_discovered() {
        let dir = tempfile::tempdir().expect("tempdir");
        let make = |rel: &str| {
            let path = dir.path().join(rel);
            std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
            std::fs::write(&path, "//\n").expect("write");
        };
        make("b-app/scripts/z.js");
        make("b-app/scripts/a.js");
        make("b-app/scripts/inc/trend.js");
        make("a-app/html/index.html");
        make("empty/README.md");
        let (apps, scripts) = discover_apps(dir.path());
        let names: Vec<&str> = apps.iter().map(|a| a.name.as_str()).collect();
        assert_eq!(names, ["a-app", "b-app"]);
        assert!(apps[0].has_html && apps[0].scripts.is_empty());
        let ids: Vec<&str> = scripts.iter().map(|s| s.id.as_str()).collect();
        assert_eq!(ids, ["b-app~a.js", "b-app~z.js"]);
        assert!(scripts[0].dir().ends_with("b-app/scripts"));
    }
}
