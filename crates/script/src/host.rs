//! What the script host needs from the server it runs in: the engine (the same typed API the REST handlers
//! use), its clock, the system properties and the local REST address.

use std::ops::DerefMut;

use rtflow_engine::{Engine, Millis};

/// The engine as a [`Host`] lends it: whatever lock guard the host holds it behind.
pub type EngineGuard<'a> = Box<dyn DerefMut<Target = Engine> + 'a>;

/// The server side of the scripting seam. The server implements it; scripts reach everything through it.
pub trait Host: Send + Sync + 'static {
    /// The engine, locked (exclusively). Callers hold the lock only for one API call and never while running
    /// JavaScript.
    fn engine(&self) -> EngineGuard<'_>;

    /// Engine time in ms since the epoch (wall-clock time, or replay time when a capture is replayed faster).
    fn now(&self) -> Millis;

    /// A system property (`-Dname=value`, property files), as sFlow-RT's `getSystemProperty`.
    fn property(&self, name: &str) -> Option<String>;

    /// Every system property name.
    fn property_names(&self) -> Vec<String>;

    /// The version string of `version()` (the same as `/version`).
    fn version(&self) -> String;

    /// `http://host:port` of the local REST API, for relative URLs given to `http()`.
    fn local_url(&self) -> Option<String>;
}
