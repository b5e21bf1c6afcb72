//! Ctrl-C and SIGTERM: a flag that every wait of the drill polls, so the
//! drill stops its processes and removes its run folder before exiting.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use crate::error::DrillError;

/// Set when the drill must stop. Cheap to clone; every clone sees the flag.
#[derive(Debug, Clone, Default)]
pub struct Cancel {
    flag: Arc<AtomicBool>,
}

impl Cancel {
    /// A flag nothing sets but [`Cancel::cancel`].
    pub fn new() -> Self {
        Self::default()
    }

    /// A flag set by SIGINT (Ctrl-C), SIGTERM and SIGHUP. The signals no
    /// longer end the process: the drill notices the flag within a fraction
    /// of a second, stops everything it started and returns
    /// [`DrillError::Interrupted`].
    pub fn on_signals() -> Result<Self, DrillError> {
        let cancel = Self::new();
        for signal in [
            signal_hook::consts::SIGINT,
            signal_hook::consts::SIGTERM,
            signal_hook::consts::SIGHUP,
        ] {
            signal_hook::flag::register(signal, Arc::clone(&cancel.flag))
                .map_err(|e| DrillError::io(format!("cannot handle signal {signal}"), &e))?;
        }
        Ok(cancel)
    }

    /// Asks every wait to stop.
    pub fn cancel(&self) {
        self.flag.store(true, Ordering::SeqCst);
    }

    /// True once the drill must stop.
    pub fn is_set(&self) -> bool {
        self.flag.load(Ordering::SeqCst)
    }

    /// `Err(Interrupted)` once the drill must stop.
    pub(crate) fn check(&self) -> Result<(), DrillError> {
        if self.is_set() {
            Err(DrillError::Interrupted)
        } else {
            Ok(())
        }
    }

    /// Sleeps `d`, waking early (with an error) when the drill must stop.
    pub(crate) fn sleep(&self, d: Duration) -> Result<(), DrillError> {
        let end = Instant::now() + d;
        loop {
            self.check()?;
            let left = end.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Ok(());
            }
            std::thread::sleep(left.min(Duration::from_millis(50)));
        }
    }
}
