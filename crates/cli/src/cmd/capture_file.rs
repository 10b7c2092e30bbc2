//! Opening a capture file for `decode -r` and `replay`.

use std::io::Read;
use std::path::Path;

use anyhow::Context as _;
use rtflow_capture::{CaptureError, PcapReader};

/// Opens `path` (`-` = stdin). The file is named once in any error: the reader's own "cannot open
/// PATH" already names it; other errors (a bad header) get "opening PATH" as context.
pub(crate) fn open(path: &Path) -> anyhow::Result<PcapReader<Box<dyn Read + Send>>> {
    match rtflow_capture::open(path) {
        Ok(reader) => Ok(reader),
        Err(err @ CaptureError::Open { .. }) => Err(err.into()),
        Err(err) => Err(err).with_context(|| format!("opening {}", path.display())),
    }
}
