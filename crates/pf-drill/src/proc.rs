//! Processes the drill starts. Each runs in its own process group (so a
//! crash can be simulated by killing the whole group, and Ctrl-C on the
//! terminal reaches only the drill), writes stdout and stderr to its log
//! file, and is stopped when its handle is dropped, even on a panic.

use std::fs::OpenOptions;
use std::io::{Read as _, Seek as _, SeekFrom};
use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use rustix::process::{Pid, Signal};

use crate::cancel::Cancel;
use crate::error::DrillError;

/// How long a process may take to stop after its stop signal before the
/// whole group is killed.
pub(crate) const STOP_GRACE: Duration = Duration::from_secs(10);

/// A started process and its group.
#[derive(Debug)]
pub(crate) struct Proc {
    child: Option<Child>,
    pid: Pid,
    log: PathBuf,
    /// Sent to the leader for an orderly stop (PostgreSQL: SIGINT, fast
    /// shutdown; everything else: SIGTERM).
    stop_signal: Signal,
}

impl Proc {
    /// Starts `cmd` in a new process group, appending its output to `log`.
    pub(crate) fn spawn(
        name: &str,
        mut cmd: Command,
        log: &Path,
        stop_signal: Signal,
    ) -> Result<Self, DrillError> {
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(log)
            .map_err(|e| DrillError::io(format!("cannot open {}", log.display()), &e))?;
        let err = file
            .try_clone()
            .map_err(|e| DrillError::io(format!("cannot open {}", log.display()), &e))?;
        cmd.stdin(Stdio::null())
            .stdout(file)
            .stderr(err)
            .process_group(0);
        let child = cmd
            .spawn()
            .map_err(|e| DrillError::io(format!("cannot start {name} ({cmd:?})"), &e))?;
        let pid = Pid::from_raw(i32::try_from(child.id()).unwrap_or(i32::MAX))
            .ok_or_else(|| DrillError::env(format!("{name}: the system gave pid 0")))?;
        Ok(Self {
            child: Some(child),
            pid,
            log: log.to_path_buf(),
            stop_signal,
        })
    }

    /// The leader's process id (also the group id).
    pub(crate) fn pid(&self) -> i32 {
        self.pid.as_raw_nonzero().get()
    }

    /// The exit status, once the leader has exited.
    pub(crate) fn exited(&mut self) -> Option<ExitStatus> {
        match self.child.as_mut()?.try_wait() {
            Ok(Some(status)) => Some(status),
            Ok(None) => None,
            // Cannot wait: treat as gone rather than loop forever.
            Err(_) => Some(ExitStatus::default()),
        }
    }

    /// SIGKILL to the whole group, as a crashed host would see it.
    pub(crate) fn kill(&mut self) {
        let _ = rustix::process::kill_process_group(self.pid, Signal::KILL);
        if let Some(mut child) = self.child.take() {
            let _ = child.wait();
        }
    }

    /// The stop signal to the leader, then SIGKILL to the group if the
    /// leader has not exited within `grace` (or `cancel` is set), and to
    /// whatever of the group outlived the leader.
    pub(crate) fn stop(&mut self, grace: Duration, cancel: Option<&Cancel>) {
        let Some(child) = self.child.as_mut() else {
            return;
        };
        if matches!(child.try_wait(), Ok(None)) {
            let _ = rustix::process::kill_process(self.pid, self.stop_signal);
            let end = Instant::now() + grace;
            while Instant::now() < end && !cancel.is_some_and(Cancel::is_set) {
                if !matches!(child.try_wait(), Ok(None)) {
                    break;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        }
        self.kill();
    }

    /// The last `lines` lines of the log.
    pub(crate) fn log_tail(&self, lines: usize) -> String {
        log_tail(&self.log, lines)
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        self.stop(Duration::from_secs(5), None);
    }
}

/// The last `lines` lines of a file (at most its last 64 KiB).
pub(crate) fn log_tail(path: &Path, lines: usize) -> String {
    let Ok(mut f) = std::fs::File::open(path) else {
        return String::new();
    };
    let len = f.metadata().map(|m| m.len()).unwrap_or(0);
    let _ = f.seek(SeekFrom::Start(len.saturating_sub(64 * 1024)));
    let mut buf = Vec::new();
    let _ = f.read_to_end(&mut buf);
    let text = String::from_utf8_lossy(&buf);
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

/// Runs a short command to completion within `limit`: (success, stdout,
/// stderr). Killed when the limit passes or the drill is interrupted.
pub(crate) fn run(
    cmd: &mut Command,
    limit: Duration,
    cancel: &Cancel,
) -> Result<(bool, String, String), DrillError> {
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .spawn()
        .map_err(|e| DrillError::io(format!("cannot run {cmd:?}"), &e))?;
    let group = Pid::from_raw(i32::try_from(child.id()).unwrap_or(i32::MAX));
    // Readers on their own threads, so a full pipe never blocks the child.
    let mut out = child.stdout.take();
    let mut err = child.stderr.take();
    let out_reader = std::thread::spawn(move || {
        let mut s = String::new();
        if let Some(o) = out.as_mut() {
            let _ = o.read_to_string(&mut s);
        }
        s
    });
    let err_reader = std::thread::spawn(move || {
        let mut s = String::new();
        if let Some(e) = err.as_mut() {
            let _ = e.read_to_string(&mut s);
        }
        s
    });
    let end = Instant::now() + limit;
    let status = loop {
        if let Ok(Some(status)) = child.try_wait() {
            break Some(status);
        }
        if Instant::now() >= end || cancel.is_set() {
            // The group: helpers it started would keep the pipes open.
            if let Some(g) = group {
                let _ = rustix::process::kill_process_group(g, Signal::KILL);
            }
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    let stdout = out_reader.join().unwrap_or_default();
    let stderr = err_reader.join().unwrap_or_default();
    cancel.check()?;
    match status {
        Some(s) => Ok((s.success(), stdout, stderr)),
        None => Ok((
            false,
            stdout,
            format!("{stderr}\n(killed: no answer within {limit:?})"),
        )),
    }
}

/// A process as /proc shows it.
#[derive(Debug, Clone)]
pub(crate) struct Seen {
    pub(crate) pid: i32,
    pub(crate) ppid: i32,
    pub(crate) pgid: i32,
    pub(crate) zombie: bool,
    pub(crate) cmdline: String,
    pub(crate) cwd: PathBuf,
}

/// Every process of the machine (those that can be read).
pub(crate) fn processes() -> Vec<Seen> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|e| {
            let pid: i32 = e.file_name().to_str()?.parse().ok()?;
            let stat = std::fs::read_to_string(e.path().join("stat")).ok()?;
            // `pid (comm) state ppid pgrp ...`; comm may hold spaces and parentheses.
            let rest = &stat[stat.rfind(')')? + 1..];
            let f: Vec<&str> = rest.split_whitespace().collect();
            Some(Seen {
                pid,
                zombie: f.first()? == &"Z",
                ppid: f.get(1)?.parse().ok()?,
                pgid: f.get(2)?.parse().ok()?,
                cmdline: std::fs::read(e.path().join("cmdline"))
                    .map(|b| {
                        String::from_utf8_lossy(&b)
                            .replace('\0', " ")
                            .trim()
                            .to_owned()
                    })
                    .unwrap_or_default(),
                cwd: std::fs::read_link(e.path().join("cwd")).unwrap_or_default(),
            })
        })
        .collect()
}

/// This process and its ancestors (never strays, whatever their command line says).
pub(crate) fn ancestry(all: &[Seen]) -> std::collections::BTreeSet<i32> {
    let mut set = std::collections::BTreeSet::new();
    let mut pid = i32::try_from(std::process::id()).unwrap_or(0);
    while pid > 1 && set.insert(pid) {
        pid = all.iter().find(|p| p.pid == pid).map_or(0, |p| p.ppid);
    }
    set
}
