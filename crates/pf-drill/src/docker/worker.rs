//! A measuring process inside one of the stack's containers, driven line
//! by line: `docker exec -i CONTAINER sh -c SCRIPT`, where SCRIPT reads one
//! request per line on its standard input and prints one answer line.
//!
//! The stack's own images bring the programs (curl in nginx, redis-cli in
//! Redis, psql in PostgreSQL): nothing is installed on the user's cluster.
//! Killing `docker exec` does not stop a process inside the container, so
//! every script ends at the end of its input: dropping the worker closes
//! it, and the container is left as it was.

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::process::{Child, ChildStdin, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError, channel};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::cli::Docker;
use crate::error::Failure;

/// One `docker exec -i` with a line protocol.
pub(crate) struct Worker {
    child: Child,
    stdin: Option<ChildStdin>,
    lines: Receiver<String>,
    stderr: Arc<Mutex<String>>,
    /// What runs where, for messages.
    what: String,
}

impl Worker {
    /// Starts SCRIPT (POSIX sh) in `container`, as `user` when given, with
    /// `args` as `$1`...
    pub(crate) fn start(
        docker: &Docker,
        container: &str,
        user: Option<&str>,
        script: &str,
        args: &[&str],
    ) -> Result<Self, Failure> {
        let mut argv: Vec<&str> = vec!["exec", "-i"];
        if let Some(u) = user {
            argv.extend(["-u", u]);
        }
        argv.extend([container, "sh", "-c", script, "sh"]);
        argv.extend(args);
        let mut child = docker
            .command(&argv)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| Failure::Finding(format!("cannot run docker exec: {e}")))?;
        let (tx, lines) = channel();
        if let Some(out) = child.stdout.take() {
            std::thread::spawn(move || {
                for line in BufReader::new(out).lines() {
                    let Ok(line) = line else { break };
                    if tx.send(line).is_err() {
                        break;
                    }
                }
            });
        }
        let stderr = Arc::new(Mutex::new(String::new()));
        if let Some(mut err) = child.stderr.take() {
            let keep = Arc::clone(&stderr);
            std::thread::spawn(move || {
                let mut s = String::new();
                let _ = err.read_to_string(&mut s);
                if let Ok(mut k) = keep.lock() {
                    k.push_str(&s);
                }
            });
        }
        Ok(Self {
            stdin: child.stdin.take(),
            child,
            lines,
            stderr,
            what: format!("a measuring shell in {container}"),
        })
    }

    /// Sends one request line.
    pub(crate) fn send(&mut self, line: &str) -> Result<(), Failure> {
        let what = &self.what;
        let stdin = self
            .stdin
            .as_mut()
            .ok_or_else(|| Failure::Finding(format!("{what} was closed")))?;
        stdin
            .write_all(format!("{line}\n").as_bytes())
            .and_then(|()| stdin.flush())
            .map_err(|e| Failure::Finding(format!("{what} ended: {e}; {}", self.stderr_text())))
    }

    /// The next answer line within `limit`: `None` when none came in time;
    /// a finding when the shell ended.
    pub(crate) fn recv(&mut self, limit: Duration) -> Result<Option<String>, Failure> {
        match self.lines.recv_timeout(limit) {
            Ok(l) => Ok(Some(l)),
            Err(RecvTimeoutError::Timeout) => Ok(None),
            Err(RecvTimeoutError::Disconnected) => Err(Failure::Finding(format!(
                "{} ended: {}",
                self.what,
                self.stderr_text()
            ))),
        }
    }

    /// Sends a request and waits for its answer.
    pub(crate) fn ask(&mut self, line: &str, limit: Duration) -> Result<Option<String>, Failure> {
        self.send(line)?;
        self.recv(limit)
    }

    /// Closes the input (the script ends) and waits briefly for the exec to end.
    pub(crate) fn close(&mut self) {
        self.stdin = None;
        let end = Instant::now() + Duration::from_secs(5);
        while Instant::now() < end {
            if matches!(self.child.try_wait(), Ok(Some(_))) {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    fn stderr_text(&self) -> String {
        let text = self.stderr.lock().map(|s| s.clone()).unwrap_or_default();
        let line = super::cli::first_line(&text);
        if text.trim().is_empty() {
            "no message".to_owned()
        } else {
            line
        }
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        self.close();
    }
}
