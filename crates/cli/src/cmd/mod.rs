mod capture_file;
pub(crate) mod decode;
pub(crate) mod demo;
pub(crate) mod fwd;
pub(crate) mod replay;
pub(crate) mod serve;
mod serve_signals;
pub(crate) mod simulate;
