mod capture_file;
pub mod decode;
pub mod demo;
pub mod fwd;
pub mod replay;
pub mod serve;
mod serve_signals;
pub mod simulate;
