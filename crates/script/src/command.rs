//! `runCmd(cmd[], envp[], dir)`: runs a program (no shell) and answers `{status, stdout: [lines], stderr:
//! [lines]}`, as sFlow-RT does. The environment is the server's unless `envp` (`NAME=value` strings) is given, which
//! then replaces it, as Java's `Runtime.exec` does. The call blocks the script's thread, so it has a time limit
//! (`script.cmd.timeout`): past it the program is killed and the call throws. Output beyond
//! [`MAX_OUTPUT_BYTES`] per stream is read and dropped.

use std::io::Read;
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// Output kept per stream (stdout, stderr); the rest is read and dropped so the program never blocks on a pipe.
pub(crate) const MAX_OUTPUT_BYTES: usize = 16 * 1024 * 1024;

/// How often a running program is checked for its exit.
const POLL: Duration = Duration::from_millis(5);

/// One `runCmd` call.
#[derive(Debug, Clone, Default)]
pub(crate) struct CommandCall {
    /// The program and its arguments.
    pub argv: Vec<String>,
    /// `NAME=value` entries replacing the environment, or `None` to inherit the server's.
    pub env: Option<Vec<String>>,
    /// Working directory, or `None` for the server's.
    pub dir: Option<PathBuf>,
}

/// What the program did: exit status (the signal number plus 128 when it was killed by one, as shells report it)
/// and its output as lines.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub(crate) struct CommandOutput {
    pub status: i32,
    pub stdout: Vec<String>,
    pub stderr: Vec<String>,
}

/// Why `runCmd` failed.
#[derive(Debug, thiserror::Error)]
pub(crate) enum CommandError {
    #[error("expected a command: an array of the program and its arguments")]
    Empty,
    #[error("environment entry {0:?} is not NAME=value")]
    BadEnvironment(String),
    #[error("cannot run {program}: {source}")]
    Spawn {
        program: String,
        source: std::io::Error,
    },
    #[error("{program}: {source}")]
    Wait {
        program: String,
        source: std::io::Error,
    },
    #[error("{program}: still running after {after:?}, killed")]
    Timeout { program: String, after: Duration },
}

/// Runs `call` to completion within `timeout`.
pub(crate) fn run(call: &CommandCall, timeout: Duration) -> Result<CommandOutput, CommandError> {
    let (program, args) = call.argv.split_first().ok_or(CommandError::Empty)?;
    let mut command = Command::new(program);
    command
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if let Some(entries) = &call.env {
        command.env_clear();
        for entry in entries {
            let (name, value) = entry
                .split_once('=')
                .filter(|(name, _)| !name.is_empty())
                .ok_or_else(|| CommandError::BadEnvironment(entry.clone()))?;
            command.env(name, value);
        }
    }
    if let Some(dir) = &call.dir {
        command.current_dir(dir);
    }
    let mut child = command.spawn().map_err(|source| CommandError::Spawn {
        program: program.clone(),
        source,
    })?;
    let stdout = child.stdout.take().map(drain);
    let stderr = child.stderr.take().map(drain);
    let status = wait(&mut child, timeout).map_err(|error| match error {
        Waited::Io(source) => CommandError::Wait {
            program: program.clone(),
            source,
        },
        Waited::TimedOut => CommandError::Timeout {
            program: program.clone(),
            after: timeout,
        },
    })?;
    Ok(CommandOutput {
        status: exit_code(status),
        stdout: lines(stdout),
        stderr: lines(stderr),
    })
}

enum Waited {
    Io(std::io::Error),
    TimedOut,
}

/// Waits for the program's exit; past `timeout` kills it (and reaps it, so no zombie is left).
fn wait(child: &mut Child, timeout: Duration) -> Result<ExitStatus, Waited> {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(status) = child.try_wait().map_err(Waited::Io)? {
            return Ok(status);
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            return Err(Waited::TimedOut);
        }
        std::thread::sleep(POLL);
    }
}

fn exit_code(status: ExitStatus) -> i32 {
    if let Some(code) = status.code() {
        return code;
    }
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt;
        if let Some(signal) = status.signal() {
            return 128 + signal;
        }
    }
    -1
}

/// Reads a pipe to its end on a thread of its own, keeping the first [`MAX_OUTPUT_BYTES`].
fn drain(mut pipe: impl Read + Send + 'static) -> JoinHandle<Vec<u8>> {
    std::thread::spawn(move || {
        let mut kept = Vec::new();
        let mut buffer = [0u8; 8192];
        loop {
            match pipe.read(&mut buffer) {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    let room = MAX_OUTPUT_BYTES.saturating_sub(kept.len());
                    kept.extend_from_slice(&buffer[..n.min(room)]);
                }
            }
        }
        kept
    })
}

/// The output's lines, without their line ends. A killed program's children may hold the pipe open: the reader
/// is not waited for then (its output so far is lost), so that `runCmd` keeps its time limit.
fn lines(reader: Option<JoinHandle<Vec<u8>>>) -> Vec<String> {
    let Some(reader) = reader else {
        return Vec::new();
    };
    let deadline = Instant::now() + Duration::from_secs(1);
    while !reader.is_finished() && Instant::now() < deadline {
        std::thread::sleep(POLL);
    }
    if !reader.is_finished() {
        return Vec::new();
    }
    let bytes = reader.join().unwrap_or_default();
    String::from_utf8_lossy(&bytes)
        .lines()
        .map(str::to_string)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sh(script: &str) -> CommandCall {
        CommandCall {
            argv: vec!["/bin/sh".into(), "-c".into(), script.into()],
            ..CommandCall::default()
        }
    }

    #[test]
    fn status_and_output_lines() {
        let output = run(
            &sh("echo one; echo two; echo bad >&2; exit 3"),
            Duration::from_secs(10),
        )
        .expect("run");
        assert_eq!(
            output,
            CommandOutput {
                status: 3,
                stdout: vec!["one".into(), "two".into()],
                stderr: vec!["bad".into()],
            }
        );
    }

    #[test]
    fn environment_replaced_and_directory_set() {
        let dir = tempfile::tempdir().expect("tempdir");
        let call = CommandCall {
            env: Some(vec!["GREETING=hello there".into()]),
            dir: Some(dir.path().to_path_buf()),
            ..sh("echo \"$GREETING\"; echo \"${HOME:-no home}\"; pwd")
        };
        let output = run(&call, Duration::from_secs(10)).expect("run");
        let expected_dir = dir.path().canonicalize().expect("canonical");
        assert_eq!(
            output.stdout,
            [
                "hello there".to_string(),
                "no home".to_string(),
                expected_dir.display().to_string()
            ]
        );
        let bad = CommandCall {
            env: Some(vec!["novalue".into()]),
            ..sh("true")
        };
        assert!(matches!(
            run(&bad, Duration::from_secs(1)),
            Err(CommandError::BadEnvironment(_))
        ));
    }

    #[test]
    fn a_missing_program_or_empty_command_is_an_error() {
        let missing = CommandCall {
            argv: vec!["/nonexistent/rtflow-test-program".into()],
            ..CommandCall::default()
        };
        let error = run(&missing, Duration::from_secs(1)).expect_err("missing program");
        assert!(
            error
                .to_string()
                .contains("cannot run /nonexistent/rtflow-test-program"),
            "{error}"
        );
        assert!(matches!(
            run(&CommandCall::default(), Duration::from_secs(1)),
            Err(CommandError::Empty)
        ));
    }

    #[test]
    fn a_program_past_the_time_limit_is_killed() {
        let started = Instant::now();
        let error = run(&sh("exec sleep 30"), Duration::from_millis(200)).expect_err("timeout");
        assert!(matches!(error, CommandError::Timeout { .. }), "{error}");
        assert!(started.elapsed() < Duration::from_secs(10));
    }
}
