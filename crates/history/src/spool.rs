//! The on-disk spool between the batcher and ClickHouse: every sealed batch is written to its own file (synced,
//! then renamed into place) before anything is sent, and deleted once ClickHouse has acknowledged it. So a
//! ClickHouse outage fills the spool instead of losing rows, and a restart of rtflow sends what an earlier run
//! left there. The spool is bounded: when a new batch would exceed the budget, the oldest batches are deleted
//! and counted as dropped (the batch being sent is never deleted under the sender).
//!
//! A segment file is `<sequence>.rows`: an 8-byte magic, the format version (u32 LE), the row count (u32 LE),
//! the length (u32 LE) and text of the INSERT column list, then the RowBinary rows.

use std::collections::VecDeque;
use std::fs::{self, File};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use parking_lot::{Condvar, Mutex};

const MAGIC: &[u8; 8] = b"RTFLOWSP";
const FORMAT_VERSION: u32 = 1;
const EXTENSION: &str = "rows";
/// Longest column list a segment header may carry (a sanity bound for corrupt files).
const MAX_COLUMNS_LEN: usize = 64 * 1024;

/// A spool directory that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum SpoolError {
    /// The spool directory or one of its files could not be read or written.
    #[error("spool {path}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: io::Error,
    },
    /// A file in the spool is not a segment rtflow wrote.
    #[error("spool {path}: not a spool segment ({reason})")]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        reason: &'static str,
    },
    #[error(
        "spool {path} is in use by another rtflow process (each instance needs its own spool directory)"
    )]
    /// Another process holds the spool's lock.
    Locked {
        /// The spool directory.
        path: PathBuf,
    },
}

fn io_error(path: &Path) -> impl FnOnce(io::Error) -> SpoolError + '_ {
    move |source| SpoolError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// One or more spooled batches (consecutive, same columns), read back for sending as one insert.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Segment {
    /// Spool sequence numbers of the batches, oldest first.
    pub sequences: Vec<u64>,
    /// Rows in all of them.
    pub rows: u32,
    /// The INSERT column list the rows were encoded for.
    pub columns: String,
    /// RowBinary rows, ready to send as the INSERT body.
    pub body: Vec<u8>,
}

/// What [`Spool::push`] had to drop to stay within its budget.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Dropped {
    /// Segments removed (oldest first).
    pub segments: u64,
    /// Rows they held.
    pub rows: u64,
}

#[derive(Debug, Clone, Copy)]
struct Entry {
    sequence: u64,
    rows: u32,
    bytes: u64,
}

#[derive(Debug, Default)]
struct State {
    entries: VecDeque<Entry>,
    bytes: u64,
    next_sequence: u64,
    /// The segments the sender holds (never dropped under it).
    in_flight: Vec<u64>,
    closed: bool,
}

/// A bounded FIFO of batches on disk.
#[derive(Debug)]
pub struct Spool {
    dir: PathBuf,
    /// Holds an exclusive lock on `<dir>/spool.lock` while the spool is open.
    _lock: File,
    max_bytes: u64,
    state: Mutex<State>,
    ready: Condvar,
}

impl Spool {
    /// Opens (creating it when missing) the spool in `dir`, keeping the segments an earlier run left. Leftover
    /// partial writes are removed; unreadable segments are removed and reported in the returned count.
    pub fn open(dir: &Path, max_bytes: u64) -> Result<(Spool, Dropped), SpoolError> {
        fs::create_dir_all(dir).map_err(io_error(dir))?;
        let lock = lock_dir(dir)?;
        let mut entries = Vec::new();
        let mut dropped = Dropped::default();
        for item in fs::read_dir(dir).map_err(io_error(dir))? {
            let item = item.map_err(io_error(dir))?;
            let path = item.path();
            let extension = path.extension().and_then(|e| e.to_str());
            let sequence = path
                .file_stem()
                .and_then(|s| s.to_str())
                .and_then(|s| s.parse::<u64>().ok());
            match (extension, sequence) {
                (Some("tmp"), _) => {
                    // A batch whose write did not finish: it was never acknowledged to the batcher.
                    let _ = fs::remove_file(&path);
                }
                (Some(EXTENSION), Some(sequence)) => match read_header(&path) {
                    Ok((rows, _)) => {
                        let bytes = item.metadata().map_err(io_error(&path))?.len();
                        entries.push(Entry {
                            sequence,
                            rows,
                            bytes,
                        });
                    }
                    Err(err) => {
                        tracing::warn!("dropping unreadable spool segment: {err}");
                        let _ = fs::remove_file(&path);
                        dropped.segments += 1;
                    }
                },
                _ => {}
            }
        }
        entries.sort_by_key(|e| e.sequence);
        let state = State {
            bytes: entries.iter().map(|e| e.bytes).sum(),
            next_sequence: entries.last().map_or(0, |e| e.sequence + 1),
            entries: entries.into(),
            in_flight: Vec::new(),
            closed: false,
        };
        let spool = Spool {
            dir: dir.to_path_buf(),
            _lock: lock,
            max_bytes,
            state: Mutex::new(state),
            ready: Condvar::new(),
        };
        Ok((spool, dropped))
    }

    /// The spool's directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Bytes on disk.
    pub fn bytes(&self) -> u64 {
        self.state.lock().bytes
    }

    /// Segments on disk.
    pub fn segments(&self) -> usize {
        self.state.lock().entries.len()
    }

    /// Rows on disk.
    pub fn rows(&self) -> u64 {
        self.state
            .lock()
            .entries
            .iter()
            .map(|e| u64::from(e.rows))
            .sum()
    }

    fn path(&self, sequence: u64) -> PathBuf {
        self.dir.join(format!("{sequence:020}.{EXTENSION}"))
    }

    /// Writes a batch durably (file synced before it is renamed into place), then drops the oldest batches
    /// beyond the budget. Once this returns `Ok`, the batch survives a restart.
    pub fn push(&self, columns: &str, rows: u32, body: &[u8]) -> Result<Dropped, SpoolError> {
        let sequence = {
            let mut state = self.state.lock();
            let sequence = state.next_sequence;
            state.next_sequence += 1;
            sequence
        };
        let path = self.path(sequence);
        let temporary = path.with_extension("tmp");
        let bytes = write_segment(&temporary, columns, rows, body)?;
        fs::rename(&temporary, &path).map_err(io_error(&path))?;
        let mut state = self.state.lock();
        let mut dropped = Dropped::default();
        while state.bytes + bytes > self.max_bytes {
            let Some(position) = state
                .entries
                .iter()
                .position(|e| !state.in_flight.contains(&e.sequence))
            else {
                break;
            };
            let Some(victim) = state.entries.remove(position) else {
                break;
            };
            state.bytes -= victim.bytes;
            let _ = fs::remove_file(self.path(victim.sequence));
            dropped.segments += 1;
            dropped.rows += u64::from(victim.rows);
        }
        // Keep the order of sequence numbers (pushes may finish out of order when several threads push).
        let position = state
            .entries
            .iter()
            .position(|e| e.sequence > sequence)
            .unwrap_or(state.entries.len());
        state.entries.insert(
            position,
            Entry {
                sequence,
                rows,
                bytes,
            },
        );
        state.bytes += bytes;
        drop(state);
        self.ready.notify_all();
        Ok(dropped)
    }

    /// The oldest segment, waiting up to `wait` for one, merged with the segments after it (same column list)
    /// while the rows stay within `max_rows` — so a backlog after an outage drains in full-size inserts. The
    /// segments are in flight until [`Spool::acknowledge`] or [`Spool::release`]. A segment that can no longer
    /// be read is deleted and reported as `Err` with its row count, so the caller counts it as dropped.
    pub fn oldest(
        &self,
        wait: std::time::Duration,
        max_rows: u64,
    ) -> Option<Result<Segment, (SpoolError, u32)>> {
        let entries: Vec<Entry> = {
            let deadline = std::time::Instant::now() + wait;
            let mut state = self.state.lock();
            while state.entries.is_empty() && !state.closed {
                if self.ready.wait_until(&mut state, deadline).timed_out() {
                    break;
                }
            }
            let mut rows = 0u64;
            let mut taken = Vec::new();
            for entry in &state.entries {
                if !taken.is_empty() && rows + u64::from(entry.rows) > max_rows {
                    break;
                }
                rows += u64::from(entry.rows);
                taken.push(*entry);
            }
            if taken.is_empty() {
                return None;
            }
            state.in_flight = taken.iter().map(|e| e.sequence).collect();
            taken
        };
        let mut merged: Option<Segment> = None;
        for entry in entries {
            let (rows, columns, body) = match read_segment(&self.path(entry.sequence)) {
                Ok(read) => read,
                // Send what was read; the unreadable one comes first on the next call and is reported then.
                Err(_) if merged.is_some() => break,
                Err(err) => {
                    self.remove(entry.sequence);
                    self.release_all();
                    return Some(Err((err, entry.rows)));
                }
            };
            match &mut merged {
                None => {
                    merged = Some(Segment {
                        sequences: vec![entry.sequence],
                        rows,
                        columns,
                        body,
                    });
                }
                Some(merged) if merged.columns == columns => {
                    merged.sequences.push(entry.sequence);
                    merged.rows += rows;
                    merged.body.extend_from_slice(&body);
                }
                Some(_) => break,
            }
        }
        let merged = merged?;
        self.keep_in_flight(&merged.sequences);
        Some(Ok(merged))
    }

    fn keep_in_flight(&self, sequences: &[u64]) {
        self.state.lock().in_flight = sequences.to_vec();
    }

    fn release_all(&self) {
        self.state.lock().in_flight.clear();
    }

    /// ClickHouse has the segment(s): delete them.
    pub fn acknowledge(&self, segment: &Segment) {
        for sequence in &segment.sequences {
            self.remove(*sequence);
        }
    }

    /// The send failed: the segments stay first in line.
    pub fn release(&self, _segment: &Segment) {
        self.release_all();
    }

    fn remove(&self, sequence: u64) {
        let mut state = self.state.lock();
        if let Some(position) = state.entries.iter().position(|e| e.sequence == sequence) {
            if let Some(entry) = state.entries.remove(position) {
                state.bytes -= entry.bytes;
            }
            let _ = fs::remove_file(self.path(sequence));
        }
        state.in_flight.retain(|s| *s != sequence);
    }

    /// Wakes a sender waiting in [`Spool::oldest`] (at shutdown).
    pub fn close(&self) {
        self.state.lock().closed = true;
        self.ready.notify_all();
    }
}

/// Takes the spool's lock file (`flock`, released by the kernel when the process ends, however it ends).
fn lock_dir(dir: &Path) -> Result<File, SpoolError> {
    let path = dir.join("spool.lock");
    let file = fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(io_error(&path))?;
    #[cfg(unix)]
    {
        use std::os::fd::AsRawFd;
        // SAFETY: flock on a descriptor this function owns; no memory is passed.
        let rc = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
        if rc != 0 {
            let err = io::Error::last_os_error();
            return Err(if err.kind() == io::ErrorKind::WouldBlock {
                SpoolError::Locked {
                    path: dir.to_path_buf(),
                }
            } else {
                SpoolError::Io { path, source: err }
            });
        }
    }
    Ok(file)
}

fn write_segment(path: &Path, columns: &str, rows: u32, body: &[u8]) -> Result<u64, SpoolError> {
    let columns_len = u32::try_from(columns.len()).unwrap_or(u32::MAX);
    let mut header = Vec::with_capacity(20 + columns.len());
    header.extend_from_slice(MAGIC);
    header.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
    header.extend_from_slice(&rows.to_le_bytes());
    header.extend_from_slice(&columns_len.to_le_bytes());
    header.extend_from_slice(columns.as_bytes());
    let write = || -> io::Result<()> {
        let mut file = File::create(path)?;
        file.write_all(&header)?;
        file.write_all(body)?;
        file.sync_all()
    };
    write().map_err(io_error(path))?;
    Ok((header.len() + body.len()) as u64)
}

/// Row count and column list of a segment.
fn read_header(path: &Path) -> Result<(u32, String), SpoolError> {
    let mut file = File::open(path).map_err(io_error(path))?;
    header_from(&mut file, path)
}

fn header_from(file: &mut File, path: &Path) -> Result<(u32, String), SpoolError> {
    let corrupt = |reason| SpoolError::Corrupt {
        path: path.to_path_buf(),
        reason,
    };
    let mut fixed = [0u8; 20];
    file.read_exact(&mut fixed)
        .map_err(|_| corrupt("shorter than its header"))?;
    let (magic, rest) = fixed.split_at(8);
    if magic != MAGIC {
        return Err(corrupt("bad magic"));
    }
    let word = |at: usize| {
        rest.get(at..at + 4)
            .and_then(|b| <[u8; 4]>::try_from(b).ok())
            .map_or(0, u32::from_le_bytes)
    };
    if word(0) != FORMAT_VERSION {
        return Err(corrupt("unknown format version"));
    }
    let rows = word(4);
    let columns_len = word(8) as usize;
    if columns_len > MAX_COLUMNS_LEN {
        return Err(corrupt("column list too long"));
    }
    let mut columns = vec![0u8; columns_len];
    file.read_exact(&mut columns)
        .map_err(|_| corrupt("column list cut short"))?;
    let columns = String::from_utf8(columns).map_err(|_| corrupt("column list is not UTF-8"))?;
    Ok((rows, columns))
}

fn read_segment(path: &Path) -> Result<(u32, String, Vec<u8>), SpoolError> {
    let mut file = File::open(path).map_err(io_error(path))?;
    let (rows, columns) = header_from(&mut file, path)?;
    let mut body = Vec::new();
    file.read_to_end(&mut body).map_err(io_error(path))?;
    Ok((rows, columns, body))
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    const NO_WAIT: Duration = Duration::ZERO;

    fn take(spool: &Spool) -> Segment {
        spool
            .oldest(NO_WAIT, 1)
            .expect("a segment")
            .expect("readable")
    }

    #[test]
    fn batches_come_out_in_order_and_survive_reopening() {
        let dir = tempfile::tempdir().unwrap();
        {
            let (spool, _) = Spool::open(dir.path(), 1 << 20).unwrap();
            spool.push("a, b", 2, b"first").unwrap();
            spool.push("a, b", 3, b"second").unwrap();
            let first = take(&spool);
            assert_eq!((first.rows, first.body.as_slice()), (2, &b"first"[..]));
            spool.release(&first);
            assert_eq!(spool.segments(), 2);
        }
        let (spool, dropped) = Spool::open(dir.path(), 1 << 20).unwrap();
        assert_eq!(dropped, Dropped::default());
        assert_eq!(spool.rows(), 5);
        let first = take(&spool);
        assert_eq!(first.columns, "a, b");
        assert_eq!(first.body, b"first");
        spool.acknowledge(&first);
        let second = take(&spool);
        assert_eq!(second.body, b"second");
        spool.acknowledge(&second);
        assert!(spool.oldest(NO_WAIT, 1).is_none());
        assert_eq!((spool.bytes(), spool.segments()), (0, 0));
        // A new batch after reopening does not reuse a sequence number.
        spool.push("a", 1, b"third").unwrap();
        assert!(take(&spool).sequences[0] > second.sequences[0]);
    }

    #[test]
    fn a_full_spool_drops_the_oldest_and_counts_them() {
        let dir = tempfile::tempdir().unwrap();
        let body = vec![7u8; 1000];
        // Room for about three segments of ~1 kB.
        let (spool, _) = Spool::open(dir.path(), 3_200).unwrap();
        let mut dropped = Dropped::default();
        for rows in 1..=5 {
            let d = spool.push("c", rows, &body).unwrap();
            dropped.rows += d.rows;
            dropped.segments += d.segments;
        }
        assert_eq!(
            dropped,
            Dropped {
                segments: 2,
                rows: 1 + 2
            }
        );
        assert!(spool.bytes() <= 3_200);
        assert_eq!(take(&spool).rows, 3);
    }

    #[test]
    fn the_segment_being_sent_is_not_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let body = vec![1u8; 1000];
        let (spool, _) = Spool::open(dir.path(), 2_100).unwrap();
        spool.push("c", 1, &body).unwrap();
        let sending = take(&spool);
        spool.push("c", 2, &body).unwrap();
        let dropped = spool.push("c", 3, &body).unwrap();
        assert_eq!(dropped.rows, 2, "the second, not the one in flight");
        spool.acknowledge(&sending);
        assert_eq!(take(&spool).rows, 3);
    }

    #[test]
    fn partial_and_corrupt_files_are_cleaned_up_at_open() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("00000000000000000004.tmp"), b"half").unwrap();
        fs::write(dir.path().join("00000000000000000005.rows"), b"garbage").unwrap();
        fs::write(dir.path().join("notes.txt"), b"left alone").unwrap();
        let (spool, dropped) = Spool::open(dir.path(), 1 << 20).unwrap();
        assert_eq!(dropped.segments, 1);
        assert_eq!(spool.segments(), 0);
        assert!(dir.path().join("notes.txt").exists());
        assert!(!dir.path().join("00000000000000000004.tmp").exists());
    }

    #[test]
    fn a_backlog_is_merged_into_inserts_of_at_most_max_rows() {
        let dir = tempfile::tempdir().unwrap();
        let (spool, _) = Spool::open(dir.path(), 1 << 20).unwrap();
        for (rows, body) in [(2, &b"ab"[..]), (3, b"cde"), (4, b"fghi")] {
            spool.push("c", rows, body).unwrap();
        }
        spool.push("other", 1, b"z").unwrap();
        let merged = spool.oldest(NO_WAIT, 5).unwrap().unwrap();
        assert_eq!((merged.rows, merged.body.as_slice()), (5, &b"abcde"[..]));
        assert_eq!(merged.sequences.len(), 2);
        // In flight: a full spool does not drop them.
        spool.release(&merged);
        let merged = spool.oldest(NO_WAIT, 100).unwrap().unwrap();
        assert_eq!(
            merged.body, b"abcdefghi",
            "stops before a different column list"
        );
        spool.acknowledge(&merged);
        assert_eq!(spool.rows(), 1);
        let last = spool.oldest(NO_WAIT, 100).unwrap().unwrap();
        assert_eq!(last.columns, "other");
    }

    #[test]
    fn a_spool_directory_serves_one_process_at_a_time() {
        let dir = tempfile::tempdir().unwrap();
        let (first, _) = Spool::open(dir.path(), 1 << 20).unwrap();
        let err = Spool::open(dir.path(), 1 << 20).unwrap_err();
        assert!(matches!(err, SpoolError::Locked { .. }), "{err}");
        drop(first);
        assert!(Spool::open(dir.path(), 1 << 20).is_ok());
    }

    #[test]
    fn a_waiting_reader_wakes_on_push() {
        let dir = tempfile::tempdir().unwrap();
        let (spool, _) = Spool::open(dir.path(), 1 << 20).unwrap();
        let spool = std::sync::Arc::new(spool);
        let reader = {
            let spool = spool.clone();
            std::thread::spawn(move || spool.oldest(Duration::from_secs(30), 1))
        };
        spool.push("c", 9, b"x").unwrap();
        let got = reader.join().unwrap().expect("woken").expect("readable");
        assert_eq!(got.rows, 9);
    }
}
