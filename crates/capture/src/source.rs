//! Byte source that tracks its offset, so every error can say where in the file it happened.

use std::io::{self, Read};

use crate::error::CaptureError;

pub(crate) struct Source<R> {
    inner: R,
    offset: u64,
}

/// Outcome of trying to fill a fixed-size header.
pub(crate) enum Fill {
    Full,
    /// Clean end of input: not a single byte was available.
    Eof,
}

impl<R: Read> Source<R> {
    pub(crate) fn new(inner: R) -> Self {
        Source { inner, offset: 0 }
    }

    pub(crate) fn offset(&self) -> u64 {
        self.offset
    }

    /// Fills `buf` completely; `Eof` if the input ended before its first byte, `Truncated` if
    /// it ended part-way.
    pub(crate) fn fill(
        &mut self,
        buf: &mut [u8],
        what: &'static str,
    ) -> Result<Fill, CaptureError> {
        let start = self.offset;
        let mut filled = 0;
        while filled < buf.len() {
            let Some(rest) = buf.get_mut(filled..) else {
                break;
            };
            match self.inner.read(rest) {
                Ok(0) => break,
                Ok(n) => {
                    filled += n;
                    self.offset += n as u64;
                }
                Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
                Err(source) => {
                    return Err(CaptureError::Io {
                        offset: self.offset,
                        source,
                    });
                }
            }
        }
        match filled {
            0 if !buf.is_empty() => Ok(Fill::Eof),
            n if n == buf.len() => Ok(Fill::Full),
            n => Err(CaptureError::Truncated {
                what,
                offset: start,
                expected: buf.len() as u64,
                found: n as u64,
            }),
        }
    }

    /// Fills `buf` completely; a missing byte, even at the very start, is `Truncated`.
    pub(crate) fn fill_exact(
        &mut self,
        buf: &mut [u8],
        what: &'static str,
    ) -> Result<(), CaptureError> {
        let start = self.offset;
        match self.fill(buf, what)? {
            Fill::Full => Ok(()),
            Fill::Eof => Err(CaptureError::Truncated {
                what,
                offset: start,
                expected: buf.len() as u64,
                found: 0,
            }),
        }
    }

    /// Replaces the contents of `buf` with exactly `len` bytes. Memory grows only as data
    /// actually arrives, so a corrupt length cannot trigger a huge allocation.
    pub(crate) fn read_vec(
        &mut self,
        buf: &mut Vec<u8>,
        len: usize,
        what: &'static str,
    ) -> Result<(), CaptureError> {
        let start = self.offset;
        buf.clear();
        let read = (&mut self.inner)
            .take(len as u64)
            .read_to_end(buf)
            .map_err(|source| CaptureError::Io {
                offset: start,
                source,
            })?;
        self.offset += read as u64;
        if read < len {
            return Err(CaptureError::Truncated {
                what,
                offset: start,
                expected: len as u64,
                found: read as u64,
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distinguishes_eof_from_truncation() {
        let mut source = Source::new(&[1u8, 2, 3][..]);
        let mut two = [0u8; 2];
        assert!(matches!(source.fill(&mut two, "x"), Ok(Fill::Full)));
        assert_eq!(source.offset(), 2);
        let err = source.fill(&mut two, "record header");
        assert!(matches!(
            err,
            Err(CaptureError::Truncated {
                offset: 2,
                expected: 2,
                found: 1,
                ..
            })
        ));
        assert!(matches!(source.fill(&mut two, "x"), Ok(Fill::Eof)));
        assert!(source.fill_exact(&mut two, "x").is_err());
    }

    #[test]
    fn read_vec_reports_short_input() {
        let mut source = Source::new(&[9u8; 10][..]);
        let mut buf = Vec::new();
        assert!(source.read_vec(&mut buf, 4, "data").is_ok());
        assert_eq!(buf, [9; 4]);
        let err = source.read_vec(&mut buf, 1 << 30, "data");
        assert!(matches!(
            err,
            Err(CaptureError::Truncated {
                offset: 4,
                found: 6,
                ..
            })
        ));
    }
}
