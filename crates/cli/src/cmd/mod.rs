pub mod decode;
pub mod demo;
pub mod fwd;
pub mod replay;
pub mod serve;
pub mod simulate;
