//! `storeGet`/`storeSet`: JSON values persisted per script as sFlow-RT lays them out, one file per key at
//! `STORE/APP~SCRIPT.js/KEY`. Writes go to a temporary file that is renamed over the old one, so a crash
//! leaves either the old or the new value, never a torn file.

use std::io::Write;
use std::path::{Path, PathBuf};

use serde_json::Value;

/// Why a store operation failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The key cannot name a file (empty, a path separator, `..`…).
    #[error("store key {0:?} is not usable as a file name")]
    BadKey(String),
    /// The value's file could not be written.
    #[error("cannot write {path}: {source}")]
    Write {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The value's file could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The value's file is not JSON.
    #[error("{path} does not hold JSON: {source}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// The JSON parser's message.
        source: serde_json::Error,
    },
}

/// The store of one script.
#[derive(Clone, Debug)]
pub struct Store {
    dir: PathBuf,
}

impl Store {
    /// The store of script `id` under `root`.
    pub fn new(root: &Path, id: &str) -> Self {
        Self {
            dir: root.join(escape(id)),
        }
    }

    fn path(&self, key: &str) -> Result<PathBuf, StoreError> {
        if key.is_empty() || key.len() > 200 {
            return Err(StoreError::BadKey(key.to_string()));
        }
        Ok(self.dir.join(escape(key)))
    }

    /// The value stored under `key` (`None` when never set or deleted).
    pub fn get(&self, key: &str) -> Result<Option<Value>, StoreError> {
        let path = self.path(key)?;
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(source) => return Err(StoreError::Read { path, source }),
        };
        serde_json::from_str(&text)
            .map(Some)
            .map_err(|source| StoreError::Parse { path, source })
    }

    /// Stores `value` under `key` atomically; `None` deletes the key.
    pub fn set(&self, key: &str, value: Option<&Value>) -> Result<(), StoreError> {
        let path = self.path(key)?;
        let write_err = |source| StoreError::Write {
            path: path.clone(),
            source,
        };
        let Some(value) = value else {
            return match std::fs::remove_file(&path) {
                Err(err) if err.kind() != std::io::ErrorKind::NotFound => Err(write_err(err)),
                _ => Ok(()),
            };
        };
        std::fs::create_dir_all(&self.dir).map_err(write_err)?;
        let temporary = self.dir.join(format!(".{}.tmp", escape(key)));
        let text = serde_json::to_string(value).unwrap_or_else(|_| "null".into());
        let mut file = std::fs::File::create(&temporary).map_err(write_err)?;
        file.write_all(text.as_bytes()).map_err(write_err)?;
        file.sync_all().map_err(write_err)?;
        drop(file);
        std::fs::rename(&temporary, &path).map_err(write_err)
    }

    /// Every stored key.
    pub fn keys(&self) -> Vec<String> {
        let Ok(entries) = std::fs::read_dir(&self.dir) else {
            return Vec::new();
        };
        let mut keys: Vec<String> = entries
            .filter_map(Result::ok)
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|name| !name.starts_with('.'))
            .map(|name| unescape(&name))
            .collect();
        keys.sort();
        keys
    }
}

/// Makes a key safe as one file name: `%`, `/`, `\`, NUL and a leading `.` are percent-escaped.
fn escape(key: &str) -> String {
    let mut out = String::with_capacity(key.len());
    for (i, c) in key.chars().enumerate() {
        match c {
            '%' | '/' | '\\' | '\0' => out.push_str(&format!("%{:02X}", c as u32)),
            '.' if i == 0 => out.push_str("%2E"),
            c => out.push(c),
        }
    }
    out
}

fn unescape(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut chars = name.chars();
    while let Some(c) = chars.next() {
        if c == '%' {
            let hex: String = chars.by_ref().take(2).collect();
            if let Ok(code) = u8::from_str_radix(&hex, 16) {
                out.push(code as char);
                continue;
            }
            out.push('%');
            out.push_str(&hex);
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_persist_atomically_and_keys_are_escaped() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::new(dir.path(), "flow-trend~top.js");
        assert_eq!(store.get("shortcuts").expect("get"), None);
        let value = serde_json::json!([{"keys": "ipsource"}]);
        store.set("shortcuts", Some(&value)).expect("set");
        store
            .set("../evil/.x", Some(&Value::Bool(true)))
            .expect("set odd key");
        let again = Store::new(dir.path(), "flow-trend~top.js");
        assert_eq!(again.get("shortcuts").expect("get"), Some(value));
        assert_eq!(again.keys(), ["../evil/.x", "shortcuts"]);
        assert!(
            dir.path()
                .join("flow-trend~top.js")
                .join("shortcuts")
                .is_file()
        );
        again.set("shortcuts", None).expect("delete");
        assert_eq!(again.get("shortcuts").expect("get"), None);
        assert!(store.get("").is_err());
    }
}
